-- §3: when a pending downgrade falls due. The ledger keeps the grace period in its state only
-- (since when the total has stayed below the tier's lower bound); this column makes the end of
-- that grace period readable where people look (`tiering explain`, the inbox's detail page):
-- the deadline of the downgrade from the customer's current tier, NULL when none is pending.
-- Rows written before this migration get it with their next posting.
ALTER TABLE customer_balances ADD COLUMN downgrade_due timestamptz;

-- `tiering explain` reads a customer's newest notifications: by customer, not by a scan of all.
CREATE INDEX notifications_customer ON notifications (customer_id, created_at DESC);
