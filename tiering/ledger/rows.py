"""The ledger's rows in PostgreSQL: ``customer_balances`` (the latest total and tier, written
only forward by ``version``) and ``tier_changes`` (every TierChange once, by ``change_id``), so a
replayed batch changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tiering.core.policy import Policy
from tiering.ledger.average import average_fen, average_window
from tiering.ledger.deadlines import downgrade_due
from tiering.ledger.rules import TierDecision
from tiering.ledger.state import CustomerState
from tiering.processing import Statement


@dataclass(frozen=True, slots=True)
class BalanceRow:
    """A row of ``customer_balances``."""

    customer_id: str
    balance_fen: int
    tier: str
    version: int
    as_of_ms: int
    branch_id: str | None = None  #: the customer's branch, from their postings
    #: §3 the end of the grace period of a pending downgrade from the current tier, or None
    downgrade_due_ms: int | None = None
    #: ``[basis] adb``: the average daily balance at ``as_of_ms`` and where its window starts;
    #: None while the policy tiers on the balance alone
    average_fen: int | None = None
    average_since_ms: int | None = None


# Amounts go over the wire as fen (bigint) and times as epoch milliseconds, turned into
# numeric(18,2) and timestamptz by PostgreSQL, exactly: fen * 0.01 has scale 2, and an interval
# counts microseconds. Half the cost of sending Decimals and datetimes per row.
_CNY = "({} * 0.01)"
_AT = "(timestamptz 'epoch' + {} * interval '1 millisecond')"

UPSERT_BALANCES = f"""
INSERT INTO customer_balances (customer_id, balance, tier, version, as_of, updated_at, branch_id,
                               downgrade_due, average_balance, average_since)
SELECT b.customer_id, {_CNY.format("b.fen")}, b.tier, b.version, {_AT.format("b.as_of")}, now(),
       b.branch_id, {_AT.format("b.downgrade_due")}, {_CNY.format("b.average")},
       {_AT.format("b.average_since")}
FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::text[],
            $7::bigint[], $8::bigint[], $9::bigint[])
     AS b(customer_id, fen, tier, version, as_of, branch_id, downgrade_due, average,
          average_since)
ON CONFLICT (customer_id) DO UPDATE
SET balance = EXCLUDED.balance, tier = EXCLUDED.tier, version = EXCLUDED.version,
    as_of = EXCLUDED.as_of, updated_at = EXCLUDED.updated_at, branch_id = EXCLUDED.branch_id,
    downgrade_due = EXCLUDED.downgrade_due, average_balance = EXCLUDED.average_balance,
    average_since = EXCLUDED.average_since
WHERE customer_balances.version < EXCLUDED.version
"""

INSERT_TIER_CHANGES = f"""
INSERT INTO tier_changes (change_id, customer_id, previous_tier, new_tier, direction, balance,
                          trigger_event_id, event_time, decided_at, policy_version)
SELECT c.change_id, c.customer_id, c.previous_tier, c.new_tier, c.direction,
       {_CNY.format("c.fen")}, c.trigger_event_id, {_AT.format("c.event_time")},
       {_AT.format("$9::bigint")}, c.policy_version
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
            $7::text[], $8::bigint[], $10::text[])
     AS c(change_id, customer_id, previous_tier, new_tier, direction, fen, trigger_event_id,
          event_time, policy_version)
ON CONFLICT (change_id) DO NOTHING
"""


def balance_row(customer_id: str, state: CustomerState, policy: Policy) -> BalanceRow:
    """The customer's row, with the deadline of a pending downgrade (§3) so that PostgreSQL's
    readers (``tiering explain``, the inbox) can say when it falls due."""
    assert state.tier is not None
    averaged = policy.basis.averaged
    at = state.clock_ms
    return BalanceRow(
        customer_id=customer_id,
        balance_fen=state.total_fen,
        tier=state.tier.name,
        version=state.version,
        as_of_ms=state.clock_ms,
        branch_id=state.branch_id,
        downgrade_due_ms=downgrade_due(state, policy),
        average_fen=average_fen(state, policy, at) if averaged else None,
        average_since_ms=average_window(state, policy, at) if averaged else None,
    )


def ledger_rows(
    balances: Sequence[BalanceRow], changes: Sequence[TierDecision], decided_at_ms: int
) -> list[Statement]:
    """The statements that write a batch's balances and tier changes."""
    rows: list[Statement] = []
    if balances:
        rows.append(
            Statement(
                UPSERT_BALANCES,
                (
                    [b.customer_id for b in balances],
                    [b.balance_fen for b in balances],
                    [b.tier for b in balances],
                    [b.version for b in balances],
                    [b.as_of_ms for b in balances],
                    [b.branch_id for b in balances],
                    [b.downgrade_due_ms for b in balances],
                    [b.average_fen for b in balances],
                    [b.average_since_ms for b in balances],
                ),
            )
        )
    if changes:
        rows.append(
            Statement(
                INSERT_TIER_CHANGES,
                (
                    [c.change_id for c in changes],
                    [c.customer_id for c in changes],
                    [
                        c.previous_tier.name if c.previous_tier is not None else None
                        for c in changes
                    ],
                    [c.new_tier.name for c in changes],
                    [c.direction.value for c in changes],
                    [c.balance_fen for c in changes],
                    [c.trigger_event_id for c in changes],
                    [c.event_time_ms for c in changes],
                    decided_at_ms,
                    [c.policy_version for c in changes],
                ),
            )
        )
    return rows
