"""Reading the bank's records of a batch's customers from PostgreSQL before the notifier decides
(the batch cycle runs the query; this module only says what to ask and reads the answer)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tiering.core.teams import Team
from tiering.notify.context import Assignment, CustomerContext
from tiering.processing import Statement
from tiering.wire.inbound import Inbound

CONTEXT_OF_CUSTOMERS = """
SELECT c.customer_id, m.manager_id, m.team, m.branch_id, r.risk_level
FROM unnest($1::text[]) AS c(customer_id)
LEFT JOIN customer_managers cm ON cm.customer_id = c.customer_id
LEFT JOIN managers m ON m.manager_id = cm.manager_id
LEFT JOIN customer_risk_profiles r ON r.customer_id = c.customer_id
WHERE m.manager_id IS NOT NULL OR r.risk_level IS NOT NULL
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
            r["risk_level"],
        )
        for r in rows
    }
