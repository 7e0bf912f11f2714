-- What people read, in their language (tiering/i18n): a manager's preferred language from the
-- directory (NULL: their browser's, else the deployment's), and each notification's title,
-- body and actions in every language the service speaks, as the worker wrote them.
ALTER TABLE managers
    ADD COLUMN language text CHECK (language IN ('zh_Hans_CN', 'zh_Hant', 'en'));
ALTER TABLE notifications
    ADD COLUMN texts jsonb NOT NULL DEFAULT '{}';  -- {"zh_Hans_CN": {"title", "body", "actions"}, ...}
