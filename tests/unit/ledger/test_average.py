"""The average daily balance basis ([basis] adb): exact to the fen at the edges of its window,
and the moments it reaches or leaves a bound decided on stream time."""

from __future__ import annotations

import dataclasses

import pytest

from tests.unit.ledger.test_rules import POLICY, Customer
from tiering.core.bank_time import DAY_MS, HOUR_MS
from tiering.core.policy_basis import Basis
from tiering.core.tiers import Direction, Tier
from tiering.ledger.average import (
    AVERAGE_PREFIX,
    average_due,
    average_fen,
    first_moment,
    month_start,
    next_month_start,
)
from tiering.ledger.postings import TxnType
from tiering.ledger.rules import expire_due
from tiering.ledger.state import CustomerState, decode_state, encode_state

#: 2026-03-01 00:00 China time (2026-02-28 16:00 UTC)
MARCH = 1_772_294_400_000
FEBRUARY = MARCH - 28 * DAY_MS
MONTHLY = dataclasses.replace(
    POLICY, basis=Basis(upgrade="adb", downgrade="adb", window="calendar_month")
)
THIRTY_DAYS = dataclasses.replace(
    POLICY, basis=Basis(upgrade="adb", downgrade="adb", window="days", days=30)
)


def test_month_edges_are_china_time() -> None:
    assert month_start(MARCH) == MARCH
    assert month_start(MARCH - 1) == FEBRUARY
    assert next_month_start(MARCH - 1) == MARCH
    assert next_month_start(FEBRUARY) == MARCH


def test_a_month_to_date_average_at_the_millisecond_before_and_after_the_month() -> None:
    c = Customer(MONTHLY)
    c.post("100000.00", at=FEBRUARY)  # history starts at the month's start
    c.post("200000.00", at=FEBRUARY + 14 * DAY_MS)  # 300,000 for the second half
    state = c.state
    assert state is not None
    # [FEBRUARY, MARCH - 1): 14 days at 100,000 and 14 days less 1 ms at 300,000
    month = 28 * DAY_MS - 1
    integral = 10_000_000 * 14 * DAY_MS + 30_000_000 * (14 * DAY_MS - 1)
    assert average_fen(state, MONTHLY, MARCH - 1) == integral // month == 19_999_999
    # the month ends: the window starts again; its first millisecond averages to the balance
    assert average_fen(state, MONTHLY, MARCH) == 30_000_000
    assert average_fen(state, MONTHLY, MARCH + 1) == 30_000_000


def test_a_rolling_average_at_the_millisecond_a_balance_leaves_the_window() -> None:
    c = Customer(THIRTY_DAYS)
    c.post("90000.00", at=FEBRUARY)
    c.post("90000.00", txn_type=TxnType.WITHDRAWAL, at=FEBRUARY + 10 * DAY_MS)  # to 0
    state = c.state
    assert state is not None
    leaves = FEBRUARY + 10 * DAY_MS + 30 * DAY_MS  # the 90,000 days are out of the window
    # a millisecond before: one ms of 90,000 is still inside (start = leaves - 30 days - 1)
    assert average_fen(state, THIRTY_DAYS, leaves - 1) == 9_000_000 // (30 * DAY_MS)
    assert average_fen(state, THIRTY_DAYS, leaves) == 0
    # while the window still reaches back to the history's start, it is that long only
    assert average_fen(state, THIRTY_DAYS, FEBRUARY + 20 * DAY_MS) == 9_000_000 * 10 // 20


@pytest.mark.parametrize("policy", [MONTHLY, THIRTY_DAYS], ids=["month", "30 days"])
def test_a_one_day_deposit_does_not_make_a_high_end_customer(policy) -> None:
    c = Customer(policy)
    c.post("60000.00", at=FEBRUARY)  # placed POTENTIAL on the opening balance
    assert c.tier is Tier.POTENTIAL
    c.post("3000000.00", at=FEBRUARY + 5 * DAY_MS)
    assert c.tier is Tier.POTENTIAL  # the average has not moved yet
    back = c.post("3000000.00", txn_type=TxnType.WITHDRAWAL, at=FEBRUARY + 6 * DAY_MS)
    state = c.state
    assert state is not None
    # a day of 3,060,000 in six: the average passed PREMIUM's 500,000 on the sixth day (found
    # when the next posting came), HIGH_END's 3,000,000 never
    [up] = back.changes
    assert (up.new_tier, up.trigger_event_id[: len(AVERAGE_PREFIX)]) == (Tier.PREMIUM, "adb:")
    assert FEBRUARY + 5 * DAY_MS < up.event_time_ms < FEBRUARY + 6 * DAY_MS
    assert expire_due(state, "C1", FEBRUARY + 27 * DAY_MS, policy).changes == []
    assert state.tier is Tier.PREMIUM  # the average sank below again: the grace period runs
    assert Tier.PREMIUM in state.below_since


def test_the_average_reaches_a_bound_at_an_exact_millisecond_and_the_sweep_upgrades_then() -> None:
    c = Customer(MONTHLY)
    c.post("40000.00", at=FEBRUARY)
    c.post("20000.00", at=FEBRUARY + DAY_MS)  # 60,000 from the 2nd: the average climbs to 50,000
    state = c.state
    assert state is not None
    assert state.tier is Tier.ORDINARY
    due_at = average_due(state, MONTHLY)
    assert due_at is not None
    assert (
        average_fen(state, MONTHLY, due_at - 1) < 5_000_000 <= average_fen(state, MONTHLY, due_at)
    )
    # (4,000,000 * 1 day + 6,000,000 * (t - 1 day)) / t >= 5,000,000: t = 2 days
    assert due_at == FEBRUARY + 2 * DAY_MS
    assert expire_due(state, "C1", due_at - 1, MONTHLY).changes == []
    [up] = expire_due(state, "C1", due_at, MONTHLY).changes
    assert (up.new_tier, up.direction, up.event_time_ms) == (
        Tier.POTENTIAL,
        Direction.UPGRADE,
        due_at,
    )
    assert up.trigger_event_id == f"{AVERAGE_PREFIX}C1:{due_at}"
    assert up.balance_fen == 6_000_000  # the TierChange keeps the instant balance


def test_the_downgrade_comes_when_the_average_has_stayed_below_for_the_grace() -> None:
    c = Customer(THIRTY_DAYS)
    c.post("80000.00", at=FEBRUARY)
    c.post("80000.00", txn_type=TxnType.WITHDRAWAL, at=FEBRUARY + 10 * DAY_MS)
    state = c.state
    assert state is not None
    assert state.tier is Tier.POTENTIAL  # the average is still 80,000
    below = first_moment(state, THIRTY_DAYS, 5_000_000, False, state.clock_ms)
    # 8,000,000 * 10 days / t < 5,000,000 once t > 16 days
    assert below == FEBRUARY + 16 * DAY_MS + 1
    assert expire_due(state, "C1", below, THIRTY_DAYS).changes == []
    assert state.below_since == {Tier.POTENTIAL: below}  # the grace period starts there
    grace_end = below + POLICY.downgrade_grace_ms
    assert expire_due(state, "C1", grace_end - 1, THIRTY_DAYS).changes == []
    [down] = expire_due(state, "C1", grace_end, THIRTY_DAYS).changes
    assert (down.new_tier, down.event_time_ms) == (Tier.ORDINARY, grace_end)


def test_the_history_survives_the_table_and_older_states_keep_none() -> None:
    c = Customer(MONTHLY)
    c.post("100000.00", at=FEBRUARY)
    c.post("1.00", at=FEBRUARY + HOUR_MS)
    state = c.state
    assert state is not None
    again = decode_state(encode_state(state))
    assert (again.history_since, again.balance_history) == (
        FEBRUARY,
        [(FEBRUARY, 10_000_000), (FEBRUARY + HOUR_MS, 10_000_100)],
    )
    plain = Customer()
    plain.post("100000.00", at=FEBRUARY)
    assert plain.state is not None
    assert (plain.state.history_since, plain.state.balance_history) == (None, [])


def test_the_history_keeps_only_what_a_window_can_still_reach() -> None:
    c = Customer(MONTHLY)
    for day in range(40):
        c.post("1.00", at=FEBRUARY + day * DAY_MS)
    state = c.state
    assert state is not None
    # March's postings only: the first is at March's first millisecond, where its window starts
    assert state.balance_history[0][0] == MARCH
    assert len(state.balance_history) == 40 - 28


@pytest.mark.parametrize("policy", [MONTHLY, THIRTY_DAYS], ids=["month", "30 days"])
def test_the_first_moment_is_the_first_at_which_the_average_is_over_or_under(policy) -> None:
    import random

    rng = random.Random(18)
    for case in range(150):
        c = Customer(policy, customer_id=f"R{case}")
        at = FEBRUARY + rng.randrange(20 * DAY_MS)
        c.post(f"{rng.randrange(1, 900_000)}.00", at=at)
        for _ in range(rng.randrange(0, 6)):
            at += rng.randrange(1, 9 * DAY_MS)
            c.post(f"{rng.randrange(1, 900_000)}.00", at=at, account=f"A{rng.randrange(3)}")
        state = c.state
        assert state is not None
        bound = rng.randrange(1, 100_000_000)
        for reaching in (True, False):

            def holds(t: int, s: CustomerState = state, b: int = bound, r: bool = reaching) -> bool:
                return (average_fen(s, policy, t) >= b) == r

            t = first_moment(state, policy, bound, reaching, state.clock_ms)
            ahead = [state.clock_ms + rng.randrange(1, 120 * DAY_MS) for _ in range(40)]
            if t is None:
                assert not any(holds(x) for x in ahead)
                continue
            assert holds(t)
            assert t - 1 <= state.clock_ms or not holds(t - 1)
            assert not any(holds(x) for x in ahead if x < t)


def test_tiered_on_the_average_the_team_hears_of_the_balance_at_once() -> None:
    """The example policy's "upgrade alert on the instant balance": the average moves the
    tier, the balance raises the §5 near-upgrade alert."""
    c = Customer(MONTHLY)
    c.post("60000.00", at=FEBRUARY)
    applied = c.post("3000000.00", at=FEBRUARY + DAY_MS)
    assert c.tier is Tier.POTENTIAL
    assert [s.kind for s in applied.signals if s.kind == "NEAR_UPGRADE"] == ["NEAR_UPGRADE"]


def test_the_partitions_sweep_decides_an_average_on_stream_time() -> None:
    from tests.unit.ledger.test_processor import CODEC, commit, encoded, message
    from tiering.ledger.processor import LedgerProcessor
    from tiering.ledger.store import LedgerStore
    from tiering.settings import Settings
    from tiering.wire.topics import DeploymentTopics

    table: dict[bytes, bytes] = {}
    store = LedgerStore(table.get, MONTHLY)
    proc = LedgerProcessor(MONTHLY, CODEC, store, DeploymentTopics.of(Settings()))

    def deposit(customer: str, amount: str, at: int, n: int):
        value = encoded(txn_id=f"T{n}", customer_id=customer, amount=amount, event_time_ms=at)
        return message(value, key=customer.encode(), offset=n)

    clock = FEBRUARY + 60 * DAY_MS
    proc.decide(
        [deposit("C1", "40000.00", FEBRUARY, 1), deposit("C1", "20000.00", FEBRUARY + DAY_MS, 2)],
        clock,
    )
    commit(store, table)
    # another customer's posting carries the partition's stream time past C1's moment
    out = proc.decide([deposit("C2", "10.00", FEBRUARY + 3 * DAY_MS, 3)], clock)
    [up] = [c for _, c in out.changes if c.customer_id == "C1"]
    assert (up.new_tier, up.event_time_ms) == (Tier.POTENTIAL, FEBRUARY + 2 * DAY_MS)
    assert out.balances["C1"].average_fen == 5_000_000


def test_each_bound_the_average_leaves_starts_its_own_grace_then() -> None:
    """An emptied PREMIUM account: the average leaves PREMIUM's bound, later POTENTIAL's; each
    grace period runs from the moment the average left that bound, as on the balance."""
    c = Customer(THIRTY_DAYS)
    c.post("600000.00", at=FEBRUARY)
    c.post("600000.00", txn_type=TxnType.WITHDRAWAL, at=FEBRUARY + 10 * DAY_MS)
    state = c.state
    assert state is not None
    assert state.tier is Tier.PREMIUM
    left_premium = first_moment(state, THIRTY_DAYS, 50_000_000, False, state.clock_ms)
    left_potential = first_moment(state, THIRTY_DAYS, 5_000_000, False, state.clock_ms)
    assert left_premium is not None
    assert left_potential is not None
    end = left_potential + POLICY.downgrade_grace_ms
    changes = expire_due(state, "C1", end, THIRTY_DAYS).changes
    assert [(ch.new_tier, ch.event_time_ms) for ch in changes] == [
        (Tier.POTENTIAL, left_premium + POLICY.downgrade_grace_ms),
        (Tier.ORDINARY, end),
    ]


def test_a_customer_known_before_the_average_is_not_lifted_by_the_deposit_that_starts_it() -> None:
    """A worker restarted on an averaging policy: the customer's history starts at their last
    event, with the balance they held since, not at the deposit that first meets the policy."""
    c = Customer(POLICY)
    c.post("600000.00", txn_type=TxnType.BALANCE_SNAPSHOT, at=MARCH)
    assert c.tier is Tier.PREMIUM
    c.policy = MONTHLY
    applied = c.post("3000000.00", at=MARCH + 20 * DAY_MS)
    assert (c.tier, applied.changes) == (Tier.PREMIUM, [])
    state = c.state
    assert state is not None
    assert state.history_since == MARCH
    # the day of 3,600,000 counts for its day: the month's average is far from HIGH_END's bound
    assert average_fen(state, MONTHLY, MARCH + 21 * DAY_MS) < 300_000_000
