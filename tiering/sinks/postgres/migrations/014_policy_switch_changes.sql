-- The re-placements of a policy switch, found by their trigger (`policy:<version>`): the inbox's
-- page of a POLICY_CHANGE notice counts and lists the customers the version moved into or out of
-- the team's tier. Partial, so the postings' and expiries' triggers cost nothing here; a query
-- uses it when it repeats the condition (`trigger_event_id LIKE 'policy:%'`).
CREATE INDEX tier_changes_policy_switch ON tier_changes (trigger_event_id, customer_id)
    WHERE trigger_event_id LIKE 'policy:%';
