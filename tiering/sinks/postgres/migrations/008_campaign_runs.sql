-- §6 campaigns and the §9 audit trail of marketing conduct: every `tiering campaign` run, dry
-- or real, with the cohort it chose and who it left out and why. No customer is named here:
-- the notifications it caused carry the customers (kind CAMPAIGN, source_event_id the signal).

CREATE TABLE campaign_runs (
    campaign        text NOT NULL,          -- its name in the policy's [campaigns]
    run_id          text NOT NULL,          -- the bank day it ran for: the signals' ids follow it
    started_at      timestamptz NOT NULL,   -- the campaign's event time
    finished_at     timestamptz NOT NULL,
    dry_run         boolean NOT NULL,
    policy_version  text NOT NULL,
    tiers           text[] NOT NULL,
    interest        text NOT NULL,          -- the product category whose score chose the cohort
    min_interest    numeric NOT NULL,
    products        text[] NOT NULL,        -- the combination
    cohort          integer NOT NULL,       -- customers told (a real run) or who would be
    excluded        jsonb NOT NULL,         -- reason → customers left out (§9 tolerance)
    PRIMARY KEY (campaign, started_at)
);
