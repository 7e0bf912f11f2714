-- Auditable suitability (POLICY §9: recommend products only within the customer's known risk
-- tolerance; keep an audit trail of what was decided and told whom).

-- Every risk assessment, with the date it was made (tiering import-risk-profiles). Nothing is
-- overwritten: a customer's current assessment is their newest by assessed_on, and the notifier
-- uses the newest one dated on or before the event it answers, if it is still valid then
-- (policy [suitability] assessment_valid_months).
CREATE TABLE customer_risk_assessments (
    customer_id text NOT NULL,
    assessed_on date NOT NULL,
    risk_level  smallint NOT NULL CHECK (risk_level BETWEEN 1 AND 5),
    imported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, assessed_on)
);

-- Levels imported before assessments had a date: when they were assessed is unknown, so they
-- cannot be judged valid and count as no assessment. Kept under this name for the audit trail;
-- nothing reads them. Import the assessments again with their assessed_on.
ALTER TABLE customer_risk_profiles RENAME TO customer_risk_profiles_undated;

-- Each customer's current assessment: the newest by assessed_on.
CREATE VIEW customer_risk_profiles AS
SELECT DISTINCT ON (customer_id) customer_id, risk_level, assessed_on, imported_at
FROM customer_risk_assessments
ORDER BY customer_id, assessed_on DESC;

-- What each notification's recommendations were kept within: the risk level and the date of
-- the assessment it came from; both NULL when the tolerance was unknown (no assessment, or none
-- valid at the event time), and in notifications written before this migration.
ALTER TABLE notifications
    ADD COLUMN risk_level smallint CHECK (risk_level BETWEEN 1 AND 5),
    ADD COLUMN risk_assessed_on date;
