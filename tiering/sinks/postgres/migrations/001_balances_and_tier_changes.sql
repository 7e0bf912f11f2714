-- Latest balance and tier of every customer, and every tier change once (contract "PostgreSQL").

CREATE TABLE customer_balances (
    customer_id text PRIMARY KEY,
    balance     numeric(18,2) NOT NULL,          -- total CNY over all the customer's accounts
    tier        text NOT NULL CHECK (tier IN ('ORDINARY', 'POTENTIAL', 'PREMIUM', 'HIGH_END')),
    version     bigint NOT NULL,                 -- postings applied; a row never moves back
    as_of       timestamptz NOT NULL,            -- event time of the newest posting applied
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customer_balances_tier ON customer_balances (tier);

CREATE TABLE tier_changes (
    change_id        text PRIMARY KEY,           -- deterministic: a replay writes nothing new
    customer_id      text NOT NULL,
    previous_tier    text,                       -- NULL for the initial placement
    new_tier         text NOT NULL,
    direction        text NOT NULL CHECK (direction IN ('INITIAL', 'UPGRADE', 'DOWNGRADE')),
    balance          numeric(18,2) NOT NULL,
    trigger_event_id text NOT NULL,
    event_time       timestamptz NOT NULL,
    decided_at       timestamptz NOT NULL,
    policy_version   text NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tier_changes_customer ON tier_changes (customer_id, event_time);
CREATE INDEX tier_changes_event_time ON tier_changes (event_time);
