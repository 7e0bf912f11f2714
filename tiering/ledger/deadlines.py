"""When something falls due for a customer with nothing posted (POLICY §3, §5, §7.3): the end
of a downgrade's grace period, an idle-funds signal, a departure, or the moment an average
reaches or leaves a bound; the partition's sweep (:class:`~tiering.ledger.store.LedgerStore`)
keeps the earliest of each customer's. Pure."""

from __future__ import annotations

from tiering.core.policy import Policy
from tiering.core.tiers import Tier
from tiering.ledger.average import average_due
from tiering.ledger.departure import departure_deadline
from tiering.ledger.idle import idle_deadline
from tiering.ledger.state import CustomerState


def next_deadline(state: CustomerState, policy: Policy) -> int | None:
    """When this customer's pending downgrade, idle-funds signal, departure (§7.3) or average
    crossing a bound falls due, whichever comes first, if one is pending."""
    return earliest(
        downgrade_due(state, policy),
        idle_deadline(state, policy),
        departure_deadline(state, policy),
        average_due(state, policy),
    )


def downgrade_due(state: CustomerState, policy: Policy) -> int | None:
    """§3: when the customer's pending downgrade from their current tier falls due (the end of
    its grace period), or None when none is pending."""
    since = None if state.tier is None else state.below_since.get(state.tier)
    return grace_deadline(state.tier, since, policy)


def earliest(*deadlines: int | None) -> int | None:
    pending = [d for d in deadlines if d is not None]
    return min(pending) if pending else None


def grace_deadline(tier: Tier | None, below_tier_since: int | None, policy: Policy) -> int | None:
    """§3: a customer of ``tier`` whose total has stayed below its lower bound since
    ``below_tier_since`` is downgraded once the grace period has passed, if nothing lifts it."""
    if tier is None or tier is Tier.ORDINARY or below_tier_since is None:
        return None
    return below_tier_since + policy.downgrade_grace_ms
