"""§3 at a policy switch: who the new version moves, when, and how the teams hear of it."""

from __future__ import annotations

import json

from tests.unit.ledger.test_rules import GRACE, POLICY, T0, Customer, policy
from tiering.core.bank_time import DAY_MS
from tiering.core.kinds import SignalKind
from tiering.core.tiers import Direction, Tier
from tiering.ledger.policy_switch import (
    moves_of,
    retiering_signals,
    switch_customer,
    switch_trigger,
)
from tiering.ledger.postings import TxnType
from tiering.ledger.rules import expire_grace
from tiering.ledger.state import CustomerState

SWITCH = T0 + 10 * DAY_MS
#: POTENTIAL from 100,000 instead of 50,000
RAISED = policy(version="2027.01-1", lower_bounds_fen=(10_000_000, 50_000_000, 300_000_000))
#: POTENTIAL from 40,000
LOWERED = policy(version="2027.01-2", lower_bounds_fen=(4_000_000, 50_000_000, 300_000_000))


def holding(amount: str, at: int = T0) -> CustomerState:
    customer = Customer()
    customer.post(amount, at=at)
    assert customer.state is not None
    return customer.state


def test_a_customer_the_new_bounds_place_lower_is_moved_down_at_once() -> None:
    state = holding("70000.00")
    assert state.tier is Tier.POTENTIAL
    done = switch_customer(state, "C1", POLICY, RAISED, SWITCH)
    change = done.replacement
    assert change is not None
    assert done.changed
    assert (change.previous_tier, change.new_tier, change.direction) == (
        Tier.POTENTIAL,
        Tier.ORDINARY,
        Direction.DOWNGRADE,
    )
    assert (change.event_time_ms, change.policy_version) == (SWITCH, "2027.01-1")
    assert change.trigger_event_id == switch_trigger(RAISED) == "policy:2027.01-1"
    assert change.balance_fen == 7_000_000
    assert state.tier is Tier.ORDINARY
    assert state.below_since == {}


def test_a_customer_the_new_bounds_place_higher_is_upgraded_at_once() -> None:
    state = holding("45000.00")
    assert state.tier is Tier.ORDINARY
    change = switch_customer(state, "C1", POLICY, LOWERED, SWITCH).replacement
    assert change is not None
    assert (change.new_tier, change.direction) == (Tier.POTENTIAL, Direction.UPGRADE)


def test_a_version_that_moves_no_bound_moves_no_one_and_changes_nothing() -> None:
    state = holding("70000.00")
    reworded = policy(version="2027.01-3")
    done = switch_customer(state, "C1", POLICY, reworded, SWITCH)
    assert (done.changes, done.changed, state.tier) == ([], False, Tier.POTENTIAL)


def test_a_grace_period_under_way_keeps_its_start_under_the_new_length() -> None:
    customer = Customer()
    customer.post("70000.00", at=T0)
    customer.post("30000.00", txn_type=TxnType.WITHDRAWAL, at=T0 + DAY_MS)  # 40,000: grace starts
    state = customer.state
    assert state is not None
    assert state.below_since == {Tier.POTENTIAL: T0 + DAY_MS}
    longer = policy(version="2027.01-4", downgrade_grace_ms=GRACE + 30 * DAY_MS)
    done = switch_customer(state, "C1", POLICY, longer, SWITCH)
    assert done.changes == []
    assert state.tier is Tier.POTENTIAL
    assert state.below_since == {Tier.POTENTIAL: T0 + DAY_MS}
    # the downgrade comes when the longer grace is over, counted from the same start
    deadline = T0 + DAY_MS + GRACE + 30 * DAY_MS
    assert expire_grace(state, "C1", deadline - 1, longer) == []
    [down] = expire_grace(state, "C1", deadline, longer)
    assert (down.new_tier, down.event_time_ms) == (Tier.ORDINARY, deadline)


def test_a_grace_period_the_new_length_has_passed_ends_at_the_switch() -> None:
    customer = Customer()
    customer.post("70000.00", at=T0)
    customer.post("30000.00", txn_type=TxnType.WITHDRAWAL, at=T0 + DAY_MS)
    state = customer.state
    assert state is not None
    shorter = policy(version="2027.01-5", downgrade_grace_ms=5 * DAY_MS)
    change = switch_customer(state, "C1", POLICY, shorter, SWITCH).replacement
    assert change is not None
    assert (change.new_tier, change.event_time_ms) == (Tier.ORDINARY, SWITCH)


def test_what_fell_due_before_the_switch_is_decided_under_the_old_version_first() -> None:
    customer = Customer()
    customer.post("70000.00", at=T0)
    customer.post("30000.00", txn_type=TxnType.WITHDRAWAL, at=T0 + DAY_MS)
    state = customer.state
    assert state is not None
    late = T0 + DAY_MS + GRACE + DAY_MS  # the old grace ended a day before the switch
    done = switch_customer(state, "C1", POLICY, LOWERED, late)
    [fell_due, replaced] = done.changes
    assert fell_due.trigger_event_id.startswith("grace-expiry:")
    assert (fell_due.new_tier, fell_due.policy_version) == (Tier.ORDINARY, POLICY.version)
    # 40,000 is POTENTIAL again under the lowered bound: the switch places them back
    assert (replaced.new_tier, replaced.direction) == (Tier.POTENTIAL, Direction.UPGRADE)


def test_the_teams_hear_of_a_switch_grouped_one_signal_each() -> None:
    changes = []
    for n, amount in enumerate(["60000.00", "70000.00", "80000.00"]):
        state = holding(amount)
        state.branch_id = "B1" if n else "B2"
        done = switch_customer(state, f"C{n}", POLICY, RAISED, SWITCH)
        changes += done.changes
    moves = moves_of(changes)
    assert moves == {
        (Tier.POTENTIAL, Tier.ORDINARY, "B1"): 2,
        (Tier.POTENTIAL, Tier.ORDINARY, "B2"): 1,
    }
    signals = retiering_signals(RAISED, SWITCH, 3, moves)
    # each team whose tier customers left or entered, at each branch
    assert [(s.tier, s.branch_id) for s in signals] == [
        (Tier.ORDINARY, "B1"),
        (Tier.ORDINARY, "B2"),
        (Tier.POTENTIAL, "B1"),
        (Tier.POTENTIAL, "B2"),
    ]
    for s in signals:
        assert (s.kind, s.customer_id, s.event_time_ms) == (SignalKind.POLICY_CHANGE, "", SWITCH)
        customers = 2 if s.branch_id == "B1" else 1
        assert json.loads(s.detail or "") == {
            "version": "2027.01-1",
            "moves": [["POTENTIAL", "ORDINARY", customers]],
        }
    # the same switch on the same partition is the same signal; another partition, another
    again = retiering_signals(RAISED, SWITCH, 3, moves)
    other = retiering_signals(RAISED, SWITCH, 4, moves)
    assert [s.signal_id for s in again] == [s.signal_id for s in signals]
    assert not {s.signal_id for s in other} & {s.signal_id for s in signals}
