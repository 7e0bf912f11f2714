"""Reading the bank's records of a batch's customers from PostgreSQL before the notifier decides
(the batch cycle runs the query; this module only says what to ask and reads the answer)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tiering.core.teams import Team
from tiering.notify.context import Assessment, Assignment, CustomerContext
from tiering.processing import Statement
from tiering.wire.inbound import Inbound

# Every assessment of each customer (§9): which one counts depends on each signal's event time.
CONTEXT_OF_CUSTOMERS = """
SELECT c.customer_id, m.manager_id, m.team, m.branch_id, r.levels, r.days
FROM unnest($1::text[]) AS c(customer_id)
LEFT JOIN customer_managers cm ON cm.customer_id = c.customer_id
LEFT JOIN managers m ON m.manager_id = cm.manager_id
LEFT JOIN LATERAL (
    SELECT array_agg(a.risk_level ORDER BY a.assessed_on DESC) AS levels,
           array_agg(a.assessed_on ORDER BY a.assessed_on DESC) AS days
    FROM customer_risk_assessments a WHERE a.customer_id = c.customer_id
) r ON true
WHERE m.manager_id IS NOT NULL OR r.levels IS NOT NULL
"""


def context_lookup(batch: Iterable[Inbound]) -> Statement | None:
    """The query for the context of every customer in ``batch`` (messages keyed by customer)."""
    customers = sorted({m.key.decode(errors="replace") for m in batch if m.key})
    return Statement(CONTEXT_OF_CUSTOMERS, (customers,)) if customers else None


def contexts(rows: Sequence[Mapping[str, Any]]) -> dict[str, CustomerContext]:
    """The lookup's rows → customer id → context (only customers that have either)."""
    return {
        r["customer_id"]: CustomerContext(
            Assignment(r["manager_id"], Team(r["team"]), r["branch_id"])
            if r["manager_id"]
            else None,
            tuple(
                Assessment(level, day)
                for level, day in zip(r["levels"] or (), r["days"] or (), strict=True)
            ),
        )
        for r in rows
    }
