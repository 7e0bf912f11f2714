"""The ledger's rules, one by one: balances, idempotence, §3 tier decisions with the downgrade
grace period, and the §5 signals."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from tiering.core.bad_input import BadInput
from tiering.core.bank_time import DAY_MS
from tiering.core.dedup import EventOutcome as Outcome
from tiering.core.kinds import SignalKind
from tiering.core.money import parse_yuan
from tiering.core.policy import Policy
from tiering.core.policy_file import load_policy
from tiering.core.tiers import Direction, Tier
from tiering.ledger.deadlines import next_deadline
from tiering.ledger.postings import Posting, TxnType
from tiering.ledger.rules import Applied, apply_posting, expire_grace
from tiering.ledger.state import CustomerState, decode_state, encode_state

POLICY = load_policy()
GRACE = POLICY.downgrade_grace_ms
T0 = 1_764_000_000_000


class Customer:
    """Feeds one customer's postings through the core, as the agent does (state re-encoded
    between postings), and keeps what came out."""

    def __init__(self, policy: Policy = POLICY, customer_id: str = "C1") -> None:
        self.policy = policy
        self.customer_id = customer_id
        self.state: CustomerState | None = None
        self.n = 0

    def post(
        self,
        amount: str,
        txn_type: TxnType = TxnType.DEPOSIT,
        at: int = T0,
        account: str = "A1",
        txn_id: str | None = None,
    ) -> Applied:
        self.n += 1
        posting = Posting(
            txn_id=txn_id or f"T{self.n}",
            customer_id=self.customer_id,
            account_id=account,
            txn_type=txn_type,
            amount_fen=parse_yuan(amount),
            event_time_ms=at,
        )
        state, applied = apply_posting(self.state, posting, self.policy, partition=0)
        self.state = decode_state(encode_state(state))
        return applied

    @property
    def tier(self) -> Tier | None:
        return None if self.state is None else self.state.tier

    @property
    def total(self) -> int:
        return 0 if self.state is None else self.state.total_fen


def policy(**changes: object) -> Policy:
    return dataclasses.replace(POLICY, **changes)  # type: ignore[arg-type]


# --- balances ---------------------------------------------------------------------------------


def test_credits_debits_and_snapshots_across_accounts() -> None:
    c = Customer()
    c.post("1000.00", TxnType.DEPOSIT, account="A1")
    c.post("200.00", TxnType.TRANSFER_IN, account="A2")
    c.post("3.50", TxnType.INTEREST, account="A1")
    c.post("100.00", TxnType.WITHDRAWAL, account="A1")
    c.post("50.00", TxnType.TRANSFER_OUT, account="A2")
    c.post("1.25", TxnType.FEE, account="A2")
    assert c.state is not None
    assert {k: a.balance for k, a in c.state.accounts.items()} == {"A1": 90_350, "A2": 14_875}
    c.post("500.00", TxnType.BALANCE_SNAPSHOT, at=T0 + 1, account="A1")
    assert c.total == 50_000 + 14_875


def test_a_snapshot_older_than_the_accounts_postings_is_refused() -> None:
    c = Customer()
    c.post("10.00", at=T0 + 10)
    before = c.state
    with pytest.raises(BadInput) as err:
        c.post("99999.00", TxnType.BALANCE_SNAPSHOT, at=T0 + 9)
    assert err.value.reason == "stale_snapshot"
    assert c.state == before


# --- idempotence ------------------------------------------------------------------------------


def test_a_resent_posting_changes_nothing() -> None:
    c = Customer()
    first = c.post("60000.00", txn_id="X")
    again = c.post("60000.00", txn_id="X")
    assert first.outcome is Outcome.PROCESSED
    assert again.outcome is Outcome.DUPLICATE
    assert again.changes == []
    assert again.signals == []
    assert c.total == 6_000_000
    assert c.state is not None
    assert c.state.version == 1


def test_dedup_memory_is_bounded_by_count_and_what_falls_out_is_refused() -> None:
    c = Customer(policy(dedup_max_ids=3))
    for i in range(4):
        c.post("1.00", at=T0 + i, txn_id=f"X{i}")
    assert c.state is not None
    assert len(c.state.seen.ids) == 3
    with pytest.raises(BadInput) as err:
        c.post("1.00", at=T0, txn_id="X0")  # forgotten: it might have been applied
    assert err.value.reason == "outside_dedup_window"
    assert c.post("1.00", at=T0 + 1, txn_id="X1").outcome is Outcome.DUPLICATE
    assert c.total == 400


def test_dedup_memory_is_bounded_by_event_time_horizon() -> None:
    c = Customer()
    c.post("1.00", at=T0, txn_id="OLD")
    c.post("1.00", at=T0 + POLICY.dedup_horizon_ms + 1, txn_id="NEW")
    assert c.state is not None
    assert set(c.state.seen.ids.values()) == {T0 + POLICY.dedup_horizon_ms + 1}
    with pytest.raises(BadInput, match="outside_dedup_window"):
        c.post("1.00", at=T0, txn_id="OLD")
    with pytest.raises(BadInput, match="outside_dedup_window"):
        c.post("1.00", at=T0 - 5, txn_id="NEVER-SEEN-BUT-TOO-OLD")
    # A late posting still inside what is remembered is applied.
    assert c.post("1.00", at=T0 + 2, txn_id="LATE").outcome is Outcome.PROCESSED
    assert c.total == 300


# --- §3 tier decisions ------------------------------------------------------------------------


def test_the_first_posting_places_the_customer() -> None:
    c = Customer()
    applied = c.post("120000.00")
    [change] = applied.changes
    assert (change.previous_tier, change.new_tier, change.direction) == (
        None,
        Tier.POTENTIAL,
        Direction.INITIAL,
    )
    assert change.trigger_event_id == "T1"
    assert change.policy_version == POLICY.version
    assert not change.by_snapshot
    assert Customer().post("1.00", TxnType.BALANCE_SNAPSHOT).changes[0].by_snapshot


@pytest.mark.parametrize(
    ("tier", "bound"),
    [(Tier.POTENTIAL, "50000.00"), (Tier.PREMIUM, "500000.00"), (Tier.HIGH_END, "3000000.00")],
)
def test_upgrade_exactly_at_each_bound(tier: Tier, bound: str) -> None:
    c = Customer()
    below = str(Decimal(bound) - Decimal("0.01"))
    assert c.post(below).changes[0].new_tier is Tier(tier - 1)
    [up] = c.post("0.01").changes  # exactly the bound
    assert (up.previous_tier, up.new_tier, up.direction) == (
        Tier(tier - 1),
        tier,
        Direction.UPGRADE,
    )
    assert up.balance_fen == parse_yuan(bound)
    assert c.post("0.01").changes == []  # bound + 0.01: nothing new


def test_several_tiers_at_once_is_one_upgrade() -> None:
    c = Customer()
    c.post("100.00")
    [up] = c.post("3000000.00").changes
    assert (up.previous_tier, up.new_tier) == (Tier.ORDINARY, Tier.HIGH_END)


@pytest.mark.parametrize(
    ("tier", "bound"),
    [(Tier.POTENTIAL, "50000.00"), (Tier.PREMIUM, "500000.00"), (Tier.HIGH_END, "3000000.00")],
)
def test_a_cent_below_a_bound_starts_the_grace_period_not_a_downgrade(
    tier: Tier, bound: str
) -> None:
    c = Customer()
    c.post(bound)
    assert c.post("0.01", TxnType.WITHDRAWAL, at=T0 + 1).changes == []
    assert c.tier is tier
    assert c.state is not None
    assert next_deadline(c.state, POLICY) == T0 + 1 + GRACE


def test_grace_period_one_millisecond_before_and_after_the_deadline() -> None:
    c = Customer()
    c.post("600000.00", at=T0)
    c.post("200000.00", TxnType.WITHDRAWAL, at=T0 + 1)  # below PREMIUM from T0+1
    deadline = T0 + 1 + GRACE
    assert c.post("1.00", at=deadline - 1).changes == []
    assert c.tier is Tier.PREMIUM
    [down] = c.post("1.00", at=deadline + 1).changes
    assert (down.previous_tier, down.new_tier, down.direction) == (
        Tier.PREMIUM,
        Tier.POTENTIAL,
        Direction.DOWNGRADE,
    )
    assert down.event_time_ms == deadline  # it happened at the deadline, found a bit later
    assert down.trigger_event_id == f"grace-expiry:C1:PREMIUM:{deadline}"
    assert down.balance_fen == parse_yuan("400001.00")


def test_at_the_deadline_itself_the_grace_period_is_over() -> None:
    c = Customer()
    c.post("600000.00", at=T0)
    c.post("200000.00", TxnType.WITHDRAWAL, at=T0 + 1)
    [down] = c.post("0.01", TxnType.FEE, at=T0 + 1 + GRACE).changes
    assert down.new_tier is Tier.POTENTIAL
    assert down.event_time_ms == T0 + 1 + GRACE


def test_the_sweep_finds_the_same_downgrade_at_the_deadline() -> None:
    c = Customer()
    c.post("600000.00", at=T0)
    c.post("200000.00", TxnType.WITHDRAWAL, at=T0 + 1)
    deadline = T0 + 1 + GRACE
    assert c.state is not None
    assert expire_grace(c.state, "C1", deadline - 1, POLICY) == []
    [by_sweep] = expire_grace(c.state, "C1", deadline + 1, POLICY)

    other = Customer()
    other.post("600000.00", at=T0)
    other.post("200000.00", TxnType.WITHDRAWAL, at=T0 + 1)
    [by_posting] = other.post("1.00", at=deadline + 1).changes
    assert by_sweep == by_posting  # same id, same everything: whoever finds it first


def test_climbing_back_before_the_deadline_cancels_the_downgrade() -> None:
    c = Customer()
    c.post("600000.00", at=T0)
    c.post("200000.00", TxnType.WITHDRAWAL, at=T0 + 1)
    c.post("100000.00", at=T0 + 10 * DAY_MS)  # back to 500,000.00: cancelled
    c.post("0.01", TxnType.WITHDRAWAL, at=T0 + 20 * DAY_MS)  # below again: a new grace period
    # the first deadline passes with nothing to do (a fee keeps the total below the bound)
    assert c.post("0.01", TxnType.FEE, at=T0 + 1 + GRACE + 1).changes == []
    assert c.tier is Tier.PREMIUM
    [down] = c.post("0.01", TxnType.FEE, at=T0 + 20 * DAY_MS + GRACE).changes
    assert down.new_tier is Tier.POTENTIAL


def test_grace_zero_downgrades_at_once_on_the_posting() -> None:
    c = Customer(policy(downgrade_grace_ms=0))
    c.post("600000.00")
    [down] = c.post("100000.01", TxnType.WITHDRAWAL, at=T0 + 5).changes
    assert (down.new_tier, down.direction, down.trigger_event_id) == (
        Tier.POTENTIAL,
        Direction.DOWNGRADE,
        "T2",
    )


def test_falling_through_several_bounds_at_once_is_one_downgrade() -> None:
    c = Customer()
    c.post("3500000.00", at=T0)
    c.post("3499000.00", TxnType.WITHDRAWAL, at=T0 + 1)
    [down] = c.post("1.00", at=T0 + 1 + GRACE).changes
    assert (down.previous_tier, down.new_tier) == (Tier.HIGH_END, Tier.ORDINARY)


def test_falling_through_bounds_at_different_times_downgrades_step_by_step() -> None:
    c = Customer()
    c.post("600000.00", at=T0)
    c.post("200000.00", TxnType.WITHDRAWAL, at=T0 + 1)  # below PREMIUM
    c.post("390000.00", TxnType.WITHDRAWAL, at=T0 + 1 + 10 * DAY_MS)  # below POTENTIAL too
    changes = c.post("1.00", at=T0 + 1 + 40 * DAY_MS).changes
    assert [(ch.new_tier, ch.event_time_ms) for ch in changes] == [
        (Tier.POTENTIAL, T0 + 1 + GRACE),
        (Tier.ORDINARY, T0 + 1 + 10 * DAY_MS + GRACE),
    ]


def test_a_late_posting_does_not_backdate_the_grace_period() -> None:
    c = Customer()
    c.post("600000.00", at=T0 + 10 * DAY_MS)
    c.post("200000.00", TxnType.WITHDRAWAL, at=T0)  # posted late, with an older event time
    assert c.state is not None
    assert next_deadline(c.state, POLICY) == T0 + 10 * DAY_MS + GRACE


def test_ids_are_deterministic() -> None:
    def run() -> list[str]:
        c = Customer()
        ids = [ch.change_id for ch in c.post("600000.00").changes]
        ids += [s.signal_id for s in c.post("550000.00", TxnType.WITHDRAWAL, at=T0 + 1).signals]
        return ids

    assert run() == run()
    assert len(set(run())) == len(run())


# --- §5 signals -------------------------------------------------------------------------------


def kinds(applied: Applied) -> list[SignalKind]:
    return [s.kind for s in applied.signals]


def test_large_deposit_and_withdrawal_at_the_threshold() -> None:
    c = Customer()
    assert SignalKind.LARGE_DEPOSIT not in kinds(c.post("499999.99"))
    assert SignalKind.LARGE_DEPOSIT in kinds(c.post("500000.00", TxnType.TRANSFER_IN))
    assert SignalKind.LARGE_WITHDRAWAL not in kinds(c.post("499999.99", TxnType.WITHDRAWAL))
    assert SignalKind.LARGE_WITHDRAWAL in kinds(c.post("500000.00", TxnType.TRANSFER_OUT))
    assert kinds(Customer().post("900000.00", TxnType.BALANCE_SNAPSHOT)) == []


def test_churn_risk_at_half_the_30_day_peak() -> None:
    c = Customer()
    c.post("100000.00", at=T0)
    assert SignalKind.CHURN_RISK not in kinds(c.post("49999.99", TxnType.WITHDRAWAL, at=T0 + 1))
    [churn] = c.post("0.01", TxnType.WITHDRAWAL, at=T0 + 2).signals
    assert churn.kind is SignalKind.CHURN_RISK
    assert churn.amount_fen == parse_yuan("100000.00")  # the peak
    assert kinds(c.post("1.00", TxnType.WITHDRAWAL, at=T0 + 3)) == []  # once per fall


def test_no_churn_risk_when_the_peak_was_ordinary_or_outside_the_window() -> None:
    small = Customer()
    small.post("40000.00", at=T0)
    assert kinds(small.post("39000.00", TxnType.WITHDRAWAL, at=T0 + 1)) == []

    old = Customer()
    old.post("100000.00", at=T0)
    old.post("40000.00", TxnType.WITHDRAWAL, at=T0 + 1)  # 60,000 held since
    later = T0 + 40 * DAY_MS
    # The 100,000 peak is 40 days old; over the last 30 days the peak is 60,000.
    assert kinds(old.post("20000.00", TxnType.WITHDRAWAL, at=later)) == []
    assert kinds(old.post("10000.01", TxnType.WITHDRAWAL, at=later + 1)) == [SignalKind.CHURN_RISK]


def test_a_balance_held_through_the_window_is_its_peak() -> None:
    c = Customer()
    c.post("100000.00", at=T0)
    # No posting for 60 days, then most of it leaves: the peak held until now was 100,000.
    assert SignalKind.CHURN_RISK in kinds(
        c.post("60000.00", TxnType.WITHDRAWAL, at=T0 + 60 * DAY_MS)
    )


def test_near_upgrade_at_95_percent_of_the_next_bound_once() -> None:
    c = Customer()
    assert kinds(c.post("47499.99")) == []
    [near] = c.post("0.01").signals  # 47,500.00 = 95 % of 50,000.00
    assert (near.kind, near.tier, near.amount_fen) == (
        SignalKind.NEAR_UPGRADE,
        Tier.ORDINARY,
        parse_yuan("50000.00"),
    )
    assert kinds(c.post("1.00")) == []
    assert kinds(c.post("2500.00")) == []  # upgraded: now far from PREMIUM
