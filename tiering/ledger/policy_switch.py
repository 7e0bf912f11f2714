"""A new policy version in force: the customers of a partition re-placed under it, on stream
time, at the version's ``effective_from`` (:mod:`tiering.core.policy_versions`).

The rule, §3 under the new version, decided at the switch for each customer:

- a customer the new bounds place higher is upgraded at once;
- a customer the new bounds place lower is moved down at once: the bank re-classified them, it
  is no fall of their balance to wait out. One already in a grace period under the old version
  keeps it, measured with the new version's grace, and is moved down at once only if that has
  passed;
- anyone else keeps their tier; a grace period the new bounds no longer call for ends.

Each change is one TierChange dated at the switch, carrying the new version, its trigger naming
the policy change (:data:`POLICY_SWITCH_PREFIX`). ``tiering policy simulate`` runs the same rule
on a copy of the state, so what it shows is what publishing does.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tiering.core.ids import deterministic_id
from tiering.core.kinds import SignalKind
from tiering.core.policy import Policy
from tiering.core.policy_versions import POLICY_SWITCH_PREFIX
from tiering.core.signals import Signal
from tiering.core.tiers import Direction, Tier, classify
from tiering.ledger.average import basis_fen, track_balance
from tiering.ledger.revaluation import Revalued
from tiering.ledger.rules import TierDecision, expire_due, mark_below, record_change
from tiering.ledger.state import CustomerState


def switch_trigger(policy: Policy) -> str:
    """The trigger of the re-placements at ``policy``'s switch (:data:`POLICY_SWITCH_PREFIX`)."""
    return f"{POLICY_SWITCH_PREFIX}{policy.version}"


@dataclass(slots=True)
class Switched(Revalued):
    """What a policy switch did to one customer: as what a new rate does
    (:class:`~tiering.ledger.revaluation.Revalued`), its changes what fell due under the old
    version before the switch, then the re-placement (last)."""

    @property
    def replacement(self) -> TierDecision | None:
        """The re-placement the switch made, if it made one."""
        last = self.changes[-1] if self.changes else None
        return (
            last
            if last is not None and last.trigger_event_id.startswith(POLICY_SWITCH_PREFIX)
            else None
        )


def switch_customer(
    state: CustomerState, customer_id: str, old: Policy, new: Policy, at_ms: int
) -> Switched:
    """Re-place ``customer_id`` under ``new`` at ``at_ms`` (its ``effective_from``, or the
    customer's own time if later); what fell due before it is decided under ``old`` first."""
    now = max(state.clock_ms, at_ms)
    due = expire_due(state, customer_id, now - 1, old)
    done = Switched(bool(due.changes or due.departed), due.changes, due.signals, due.departed)
    held = state.tier
    if held is None:
        return done
    if new.basis.averaged and state.history_since is None:
        # an average kept from the customer's last event on: their balance is known since
        track_balance(state, new, now, (state.clock_ms, state.total_fen))
        done.changed = True
    below_before = dict(state.below_since)
    up = classify(basis_fen(state, new, "upgrade", now), new.lower_bounds_fen)
    down_basis = basis_fen(state, new, "downgrade", now)
    down = classify(down_basis, new.lower_bounds_fen)
    since = state.below_since.get(held)
    new_tier: Tier | None = None
    if up > held:
        state.below_since.clear()
        new_tier, direction = up, Direction.UPGRADE
    elif down < held and (since is None or since + new.downgrade_grace_ms <= now):
        state.below_since.clear()
        new_tier, direction = down, Direction.DOWNGRADE
    else:
        mark_below(state, down_basis, new, now)
    if new_tier is not None:
        trigger = switch_trigger(new)
        done.changes.append(
            record_change(state, customer_id, new_tier, direction, new, trigger, now)
        )
    if new_tier is not None or state.below_since != below_before:
        done.changed = True
        state.clock_ms = now
        state.version += 1
    return done


#: one move of a re-tiering: (tier before, tier after, branch or None) → customers
Moves = dict[tuple[Tier, Tier, str | None], int]


def moves_of(changes: list[TierDecision]) -> Moves:
    """The re-placements among ``changes``, counted by tier before and after and branch."""
    moves: Moves = {}
    for c in changes:
        if c.trigger_event_id.startswith(POLICY_SWITCH_PREFIX) and c.previous_tier is not None:
            key = (c.previous_tier, c.new_tier, c.branch_id)
            moves[key] = moves.get(key, 0) + 1
    return moves


def retiering_signals(new: Policy, at_ms: int, partition: int, moves: Moves) -> list[Signal]:
    """§4 grouped: instead of one notification per customer re-placed by a policy switch, one
    signal per team and branch whose tier customers entered or left (on this partition), for
    the team's queue at that branch (no branch: at head office), carrying the moves that
    concern it as JSON in ``detail``: ``{"version": ..., "moves": [[from tier, to tier,
    customers], ...]}``."""
    signals = []
    branches = sorted({branch for _, _, branch in moves}, key=lambda b: b or "")
    for tier in Tier:
        for branch in branches:
            mine = sorted(
                (a.name, b.name, n)
                for (a, b, where), n in moves.items()
                if tier in (a, b) and where == branch
            )
            if not mine:
                continue
            signals.append(
                Signal(
                    signal_id=deterministic_id(
                        "policy-retiering", new.version, str(partition), tier.name, branch or ""
                    ),
                    kind=SignalKind.POLICY_CHANGE,
                    customer_id="",
                    tier=tier,
                    event_time_ms=at_ms,
                    balance_fen=0,
                    branch_id=branch,
                    detail=json.dumps({"version": new.version, "moves": mine}),
                )
            )
    return signals
