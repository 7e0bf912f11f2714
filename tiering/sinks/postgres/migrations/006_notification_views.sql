-- Who looked (issue 17, §9: supervise the use of customer information). The inbox's detail page
-- shows the full customer id to the team responsible; every view of it is recorded here, and a
-- manager whose directory role is 'supervisor' reads the record (tiering/inbox, /views).

-- tiering import-managers, optional column "role"; a supervisor reads their branch's views (all
-- of them at head office), and their own notifications as any manager does.
ALTER TABLE managers
    ADD COLUMN role text NOT NULL DEFAULT 'manager' CHECK (role IN ('manager', 'supervisor'));

-- One row per detail page shown. No foreign key to managers: the record outlives a manager's
-- removal from the directory (it names them by id).
CREATE TABLE notification_views (
    view_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notification_id text NOT NULL,
    manager_id      text NOT NULL,
    viewed_at       timestamptz NOT NULL DEFAULT now(),
    language        text NOT NULL        -- the page's language: zh_Hans_CN, zh_Hant, en
);
-- the supervisor page: newest first (by view_id), by manager, by day
CREATE INDEX notification_views_manager ON notification_views (manager_id, view_id DESC);
CREATE INDEX notification_views_viewed_at ON notification_views (viewed_at);
CREATE INDEX notification_views_notification ON notification_views (notification_id);
