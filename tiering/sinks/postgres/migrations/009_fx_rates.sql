-- Dated exchange rates (tiering import-rates), for audit: what each foreign account was valued
-- at from which bank day (POLICY §3 tiers by the deposit balance in CNY). The worker does not
-- read them: it takes the rates from its rates topic. A rate once recorded for a currency and
-- day is never changed; importing it again changes nothing.
CREATE TABLE fx_rates (
    currency       text NOT NULL CHECK (currency ~ '^[A-Z]{3}$' AND currency <> 'CNY'),
    effective_date date NOT NULL,
    rate           numeric(20, 10) NOT NULL CHECK (rate > 0),
    rate_id        text NOT NULL UNIQUE,
    imported_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (currency, effective_date)
);
