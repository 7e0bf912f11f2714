"""The SQL behind an explanation of a customer's tier (:mod:`tiering.directory.explanation`):
read by ``tiering explain`` and by the inbox's detail page, which runs it only for the customer
of a notification its reader passed ``VISIBLE`` for (§9)."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from tiering.core.policy import Policy
from tiering.directory.explanation import Explanation, explanation_from

#: amounts as fen and times as epoch milliseconds, exact: never through a float
_FEN = "({} * 100)::bigint"
_MS = "(extract(epoch FROM {}) * 1000)::bigint"

#: ``$1`` the customer, ``$2`` how many tier changes → the customer's balance row with their
#: newest tier changes (``changes``, JSON), or no row for a customer the ledger never saw
EXPLAIN = f"""
SELECT b.customer_id, b.tier, {_FEN.format("b.balance")} AS balance_fen, b.branch_id,
       {_MS.format("b.as_of")} AS as_of_ms, {_MS.format("b.downgrade_due")} AS downgrade_due_ms,
       {_FEN.format("b.average_balance")} AS average_fen,
       {_MS.format("b.average_since")} AS average_since_ms,
       (SELECT coalesce(json_agg(c ORDER BY c.event_time_ms DESC, c.change_id DESC), '[]')
        FROM (SELECT change_id, previous_tier, new_tier, direction,
                     {_FEN.format("balance")} AS balance_fen, trigger_event_id,
                     {_MS.format("event_time")} AS event_time_ms, policy_version
              FROM tier_changes WHERE customer_id = $1
              ORDER BY event_time DESC, change_id DESC LIMIT $2) c) AS changes
FROM customer_balances b WHERE b.customer_id = $1
"""

#: ``$1`` the customer, ``$2`` how many → their newest notifications
NOTICES = """
SELECT kind, team, created_at, acknowledged_at FROM notifications WHERE customer_id = $1
ORDER BY created_at DESC, notification_id DESC LIMIT $2
"""


async def read_explanation(
    conn: asyncpg.Connection | asyncpg.Pool,
    customer_id: str,
    policy: Policy,
    history: int,
    notices: int = 0,
) -> Explanation | None:
    """The customer's explanation with their ``history`` newest tier changes (and ``notices``
    newest notifications), or None when the service does not know the customer."""
    row = await conn.fetchrow(EXPLAIN, customer_id, history)
    if row is None:
        return None
    changes: list[dict[str, Any]] = json.loads(row["changes"])
    notice_rows = await conn.fetch(NOTICES, customer_id, notices) if notices > 0 else []
    return explanation_from(row, changes, policy, notice_rows)
