-- §3 average-balance tiers ([basis] adb): the customer's average daily balance as the ledger
-- last decided on it, and where its window started, so that `tiering explain` and the inbox
-- can show it. NULL while the policy in force tiers on the balance alone.
ALTER TABLE customer_balances
    ADD COLUMN average_balance numeric(18, 2),
    ADD COLUMN average_since timestamptz;
