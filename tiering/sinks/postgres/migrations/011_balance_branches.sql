-- The customer's branch beside their balance and tier (the ledger's, from their postings; NULL
-- for a customer whose postings name none), so that what reads customers from PostgreSQL
-- places them at their branch: a campaign's notification for a customer with no manager goes
-- to the team's queue at that branch (§4, §6), and the report counts customers per branch
-- (§7.3 churn rate per branch). Rows written before this migration get it with their next
-- posting.
ALTER TABLE customer_balances ADD COLUMN branch_id text;
CREATE INDEX customer_balances_branch ON customer_balances (branch_id);
