-- Customer profiles from online banking (§6) and the customers' risk tolerance (§9).

CREATE TABLE customer_profiles (
    customer_id      text PRIMARY KEY,
    logins_7d        integer NOT NULL,      -- logins in the last 7 bank days (up to last_seen)
    logins_30d       integer NOT NULL,
    channels         jsonb NOT NULL,        -- channel → events
    business_types   jsonb NOT NULL,        -- business type → uses
    views_7d         jsonb NOT NULL,        -- product category → views in the last 7 days
    interest         jsonb NOT NULL,        -- product category → decayed interest score
    last_ratings     smallint[] NOT NULL,   -- the last FEEDBACK ratings, newest last
    last_seen        timestamptz NOT NULL,
    version          bigint NOT NULL,       -- events applied; a row never moves back
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- tiering import-risk-profiles: 1 (lowest) to 5. Recommendations stay within it; without
-- one only the lowest-risk products are named.
CREATE TABLE customer_risk_profiles (
    customer_id text PRIMARY KEY,
    risk_level  smallint NOT NULL CHECK (risk_level BETWEEN 1 AND 5),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
