"""§5 idle funds: the PREMIUM example of the policy, "when a premium customer holds a large sum
idle for a long time (大額資金閑置較長時間), offer a custom large deposit with the added
services", as a rule on event time.

A customer's *idle spell* opens when their deposit balance (§3, :attr:`CustomerState.total_fen`:
the feed does not say which accounts are demand accounts) reaches the policy's
``[idle_funds] min_balance_cny``, and at each withdrawal or transfer out that leaves it there;
it ends at their next withdrawal or transfer out, or when the balance falls below the minimum.
A fee the bank charges is not the customer moving their money and ends nothing. Once a spell
is ``days`` old, a PREMIUM or HIGH_END customer's team hears of it (one IDLE_FUNDS signal per
spell), dated at that moment and named after the spell's start, so it is the same signal
whether the customer's next posting or the partition's sweep finds it.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from tiering.core.ids import deterministic_id
from tiering.core.kinds import SignalKind
from tiering.core.policy import Policy
from tiering.core.signals import Signal
from tiering.core.tiers import Tier
from tiering.ledger.postings import Posting, TxnType
from tiering.ledger.state import CustomerState

#: §5: the example is a PREMIUM customer's; HIGH_END customers hold such sums too
IDLE_TIERS = frozenset({Tier.PREMIUM, Tier.HIGH_END})
#: the customer's own debits, which end a spell (a FEE does not)
SPELL_ENDING = frozenset({TxnType.WITHDRAWAL, TxnType.TRANSFER_OUT})


def spell_deadline(idle_since: int | None, total_fen: int, policy: Policy) -> int | None:
    """When an idle spell open since ``idle_since`` (None: none open, or already told) is
    ``days`` old, if the balance is still at the minimum."""
    if idle_since is None or total_fen < policy.idle_min_balance_fen:
        return None
    return idle_since + policy.idle_ms


def idle_deadline(state: CustomerState, policy: Policy) -> int | None:
    """When this customer's IDLE_FUNDS signal falls due, if one is still to come."""
    since = None if state.idle_notified else state.idle_since
    return spell_deadline(since, state.total_fen, policy)


def expire_idle(
    state: CustomerState, customer_id: str, now_ms: int, policy: Policy
) -> list[Signal]:
    """The IDLE_FUNDS signal of a spell that became ``days`` old at or before ``now_ms``; the
    spell is told once, whatever the tier (a customer outside :data:`IDLE_TIERS` then is not
    told later in the same spell)."""
    deadline = idle_deadline(state, policy)
    if deadline is None or deadline > now_ms:
        return []
    state.idle_notified = True
    tier = state.tier
    if tier is None or tier not in IDLE_TIERS:
        return []
    kind = SignalKind.IDLE_FUNDS
    return [
        Signal(
            signal_id=deterministic_id(
                "signal", kind.value, customer_id, f"idle:{customer_id}:{state.idle_since}"
            ),
            kind=kind,
            customer_id=customer_id,
            tier=tier,
            event_time_ms=deadline,
            balance_fen=state.total_fen,
            amount_fen=state.total_fen,  #: the idle sum
            branch_id=state.branch_id,
        )
    ]


def track_idle(state: CustomerState, posting: Posting | None, now_ms: int, policy: Policy) -> None:
    """After ``posting`` (applied at the customer's time ``now_ms``; None: a revaluation of
    their foreign accounts, which moves no money): open, keep or end the customer's idle
    spell."""
    if state.total_fen < policy.idle_min_balance_fen:
        state.idle_since, state.idle_notified = None, False
    elif (posting is not None and posting.txn_type in SPELL_ENDING) or state.idle_since is None:
        state.idle_since, state.idle_notified = now_ms, False
