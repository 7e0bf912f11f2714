"""A new dated rate revalues the customers holding its currency (POLICY §3, on the rates of
:mod:`tiering.ledger.fx`), and their tier is decided as for a posting: an upgrade at once, a
fall below a lower bound starting the grace period (a downgrade only once it has passed, by the
partition's sweep), a climb back ending it.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tiering.core.bank_time import day_start_ms
from tiering.core.policy import Policy
from tiering.core.signals import Signal
from tiering.core.tiers import Tier
from tiering.ledger.average import track_balance
from tiering.ledger.departure import track_departure
from tiering.ledger.fx import RateLookup, revalue
from tiering.ledger.idle import track_idle
from tiering.ledger.moments import record_peak
from tiering.ledger.rules import TierDecision, decide_by_total, expire_due
from tiering.ledger.state import CustomerState


@dataclass(slots=True)
class Revalued:
    """What a new rate did to one customer."""

    #: their deposit balance changed (their state is to be stored)
    changed: bool = False
    changes: list[TierDecision] = field(default_factory=list)
    #: what fell due before the rate's moment (§3 downgrades, §5 idle funds)
    signals: list[Signal] = field(default_factory=list)
    departed: Tier | None = None


def revalue_holder(
    state: CustomerState,
    customer_id: str,
    currency: str,
    effective_day: int,
    trigger: str,
    rates: RateLookup,
    policy: Policy,
) -> Revalued:
    """Value ``customer_id``'s ``currency`` accounts at the rate in force from
    ``effective_day`` and decide their tier; ``trigger`` (the rate's id) names the decision.

    The moment is the start of the rate's bank day, or the customer's own time if that is
    later (a rate that arrives for a day the customer has already posted in).
    """
    clock_before = state.clock_ms
    now = max(clock_before, day_start_ms(effective_day))
    due = expire_due(state, customer_id, now, policy)
    done = Revalued(changes=due.changes, signals=due.signals, departed=due.departed)
    previous, tier_before = state.total_fen, state.tier
    total = revalue(state, now, rates, only=(currency,))
    if total == previous and not done.changes and done.departed is None:
        return done
    done.changed = True
    state.clock_ms = now
    state.version += 1
    # for an average-balance basis ([basis] adb), kept from the customer's last event
    track_balance(state, policy, now, (clock_before, previous))
    record_peak(state, now, total, policy)
    if state.tier is not None and total != previous:
        change = decide_by_total(state, customer_id, now, policy, trigger, now)
        if change is not None:
            done.changes.append(change)
    track_idle(state, None, now, policy)
    track_departure(state, previous, tier_before, now)
    return done
