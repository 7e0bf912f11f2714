"""One placement per customer and opening as-of time (POLICY §3).

Opening balances come as one BALANCE_SNAPSHOT per account, all dated at the load's as-of
time. :func:`tiering.ledger.rules.apply_posting` places the customer on the first and re-places
them (INITIAL again, from the tier so far) on each further account that moves the opening total
into another tier. Within one batch (the load arrives in batches of the customer's partition)
:func:`coalesce_placements` makes those one INITIAL: from the tier the customer held before the
batch (none, for a new customer) to the tier of the whole opening total, triggered by the last
snapshot. When the snapshots of one as-of straddle two batches, the second batch's INITIAL is a
corrected placement (``previous_tier`` the first batch's tier): still no upgrade, and no one is
notified of an INITIAL by snapshot (:func:`tiering.core.teams.route`).

Pure. Exactly-once processing makes the batch boundaries of a replay irrelevant: what a batch
produced is only visible if its offsets were committed with it.
"""

from __future__ import annotations

import dataclasses

from tiering.core.tiers import Direction
from tiering.ledger.rules import TierDecision, change_id


def _placement(change: TierDecision) -> bool:
    return change.direction is Direction.INITIAL and change.by_snapshot


def coalesce_placements(
    changes: list[tuple[int, TierDecision]],
) -> list[tuple[int, TierDecision]]:
    """``changes`` (partition, decision) in the order decided, each customer's snapshot
    placements of one as-of time merged into one INITIAL, at the place of the last."""
    kept: list[tuple[int, TierDecision] | None] = []
    last: dict[str, int] = {}  # customer → index in kept of their latest decision
    for partition, change in changes:
        i = last.get(change.customer_id)
        before = kept[i] if i is not None else None
        if (
            i is not None
            and before is not None
            and _placement(before[1])
            and _placement(change)
            and before[1].event_time_ms == change.event_time_ms
        ):
            kept[i] = None
            previous = before[1].previous_tier
            if previous == change.new_tier:  # back where the batch started: nothing changed
                del last[change.customer_id]
                continue
            change = dataclasses.replace(
                change,
                previous_tier=previous,
                change_id=change_id(
                    change.customer_id, change.trigger_event_id, previous, change.new_tier
                ),
            )
        last[change.customer_id] = len(kept)
        kept.append((partition, change))
    return [k for k in kept if k is not None]
