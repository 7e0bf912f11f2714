"""§7.3 churn: "customers lost in a period", as a rule on event time.

A customer has *left* the bank once their deposit balance (§3, :attr:`CustomerState.total_fen`:
every account at zero or overdrawn, which counts as zero) has stayed at zero for the policy's
``[churn] inactive_days``. The feed has no closing event: a closed account reaches it as its
balance going to zero, and counts the same way. The spell opens when the balance goes from
above zero to zero (a customer who never held a deposit has not left), and ends when money
comes back before the days have passed (they never left). A departure is counted once, at
that deadline, whether the customer's next posting or the partition's sweep finds it, by the
tier the customer held when the balance reached zero: the tier they are lost from, not the one
the §3 grace period has moved them down to since. After it, a customer who comes back and
empties their accounts again can leave again: each departure counts once.

A downgrade is not churn: it is a tier migration (``tiering_tier_changes_total``).

Pure: no I/O, no clock.
"""

from __future__ import annotations

from tiering.core.policy import Policy
from tiering.core.tiers import Tier
from tiering.ledger.state import CustomerState


def departure_deadline(state: CustomerState, policy: Policy) -> int | None:
    """When this customer counts as having left, if their balance is at zero and the departure
    is still to be counted."""
    return spell_end(state.empty_since, policy)


def spell_end(empty_since: int | None, policy: Policy) -> int | None:
    return None if empty_since is None else empty_since + policy.departure_ms


def expire_departure(state: CustomerState, now_ms: int, policy: Policy) -> Tier | None:
    """The tier a customer left from, if their balance has been at zero for the policy's days
    at or before ``now_ms``; counted once (the spell is closed)."""
    deadline = departure_deadline(state, policy)
    if deadline is None or deadline > now_ms:
        return None
    left = state.empty_tier if state.empty_tier is not None else Tier.ORDINARY
    state.empty_since = state.empty_tier = None
    return left


def track_departure(
    state: CustomerState, previous_total_fen: int, tier_before: Tier | None, now_ms: int
) -> None:
    """After a posting (applied at the customer's time ``now_ms``): open a spell at zero when
    the balance has just reached it, end the spell when money came back."""
    if state.total_fen > 0:
        state.empty_since = state.empty_tier = None
    elif previous_total_fen > 0:
        state.empty_since, state.empty_tier = now_ms, tier_before
