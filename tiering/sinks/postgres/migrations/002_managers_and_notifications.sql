-- The manager directory, every notification once with its acknowledgement (the inbox and the
-- audit trail, §9), and the delivery of each notification on each channel.

CREATE TABLE managers (
    manager_id text PRIMARY KEY,
    name       text NOT NULL,
    team       text NOT NULL CHECK (team IN ('BRANCH_SERVICE', 'CUSTOMER_MANAGER', 'WEALTH_TEAM', 'PRIVATE_BANKING')),
    branch_id  text NOT NULL,
    email      text,
    token_hash text,                  -- SHA-256 of the inbox sign-in token; NULL: cannot sign in
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Which manager looks after which customer (tiering import-managers).
CREATE TABLE customer_managers (
    customer_id text PRIMARY KEY,
    manager_id  text NOT NULL REFERENCES managers ON DELETE CASCADE,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customer_managers_manager ON customer_managers (manager_id);

CREATE TABLE notifications (
    notification_id text PRIMARY KEY,   -- deterministic from its cause: a redelivery writes nothing
    customer_id     text NOT NULL,
    tier            text NOT NULL,
    team            text NOT NULL,
    manager_id      text,               -- NULL: the team's queue for the branch
    branch_id       text,
    kind            text NOT NULL,
    priority        text NOT NULL CHECK (priority IN ('LOW', 'NORMAL', 'HIGH', 'URGENT')),
    title           text NOT NULL,
    body            text NOT NULL,      -- customer data masked
    actions         text[] NOT NULL,
    source_event_id text NOT NULL,
    created_at      timestamptz NOT NULL,           -- the record's created_at
    received_at     timestamptz NOT NULL DEFAULT now(),
    acknowledged_at timestamptz,
    acknowledged_by text
);
CREATE INDEX notifications_team_branch ON notifications (team, branch_id, created_at DESC);
CREATE INDEX notifications_manager ON notifications (manager_id, created_at DESC);

-- One row per notification and channel: claimed before the first attempt, so a notification
-- redelivered from Kafka is sent at most once per channel.
CREATE TABLE notification_channels (
    notification_id text NOT NULL REFERENCES notifications ON DELETE CASCADE,
    channel         text NOT NULL,      -- e.g. webhook:wecom:WEALTH_TEAM, email
    status          text NOT NULL CHECK (status IN ('sending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (notification_id, channel)
);

-- A record per delivery attempt.
CREATE TABLE notification_deliveries (
    notification_id text NOT NULL,
    channel         text NOT NULL,
    attempt         integer NOT NULL,
    outcome         text NOT NULL CHECK (outcome IN ('delivered', 'retried', 'failed')),
    error           text,
    attempted_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (notification_id, channel, attempt)
);

-- The inbox hears of new notifications at once (LISTEN tiering_notifications_<schema>).
CREATE FUNCTION notify_new_notification() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('tiering_notifications_' || TG_TABLE_SCHEMA, NEW.notification_id);
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER notifications_notify AFTER INSERT ON notifications
    FOR EACH ROW EXECUTE FUNCTION notify_new_notification();
