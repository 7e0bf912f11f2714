-- Auditable suitability (POLICY §9): when a notification's risk tolerance was unknown because
-- the customer's newest assessment had expired (older than [suitability]
-- assessment_valid_months at the event time), the day that assessment was made. NULL when the
-- customer had no assessment at all, when the tolerance was known (risk_level), and in
-- notifications written before this migration: an auditor tells "expired" from "never
-- assessed" by it.
ALTER TABLE notifications
    ADD COLUMN risk_expired_on date,
    ADD CONSTRAINT notifications_expired_means_unknown
        CHECK (risk_expired_on IS NULL OR risk_level IS NULL);
