"""§3, one placement per opening: the opening balances of a customer's accounts, all dated at
the load's as-of time, place the customer once (one INITIAL, never an UPGRADE, nothing for a
manager), whether they arrive in one batch or straddle two; what comes after is a change."""

from __future__ import annotations

from tests.harness.records import T0, posting
from tests.unit.ledger.test_processor import commit, message, processor
from tests.unit.ledger.test_rules import Customer
from tiering.core.tiers import Direction, Tier
from tiering.ledger.placements import coalesce_placements
from tiering.ledger.postings import TxnType
from tiering.ledger.rules import change_id
from tiering.wire.codec import DEPOSIT_TRANSACTION, AvroCodec

CODEC = AvroCodec()
SNAPSHOT = TxnType.BALANCE_SNAPSHOT
#: three accounts whose opening balances add up to PREMIUM, each alone ORDINARY or POTENTIAL
OPENING = (("A1", "40000.00"), ("A2", "60000.00"), ("A3", "450000.00"))


def test_the_opening_snapshots_of_one_as_of_never_upgrade_and_signal_nothing() -> None:
    c = Customer()
    applied = [c.post(amount, SNAPSHOT, at=T0, account=account) for account, amount in OPENING]
    changes = [ch for a in applied for ch in a.changes]
    assert [(ch.previous_tier, ch.new_tier, ch.direction) for ch in changes] == [
        (None, Tier.ORDINARY, Direction.INITIAL),
        (Tier.ORDINARY, Tier.POTENTIAL, Direction.INITIAL),  # re-placed, not upgraded
        (Tier.POTENTIAL, Tier.PREMIUM, Direction.INITIAL),
    ]
    assert all(ch.by_snapshot for ch in changes)
    # 40,000 is near POTENTIAL, 100,000 is not near PREMIUM: no §5 signal from an opening
    assert [a.signals for a in applied] == [[], [], []]
    assert (c.tier, c.total) == (Tier.PREMIUM, 55_000_000)
    assert c.state is not None
    assert c.state.below_since == {}


def test_one_batch_of_opening_snapshots_is_one_initial() -> None:
    c = Customer()
    changes = [
        (0, ch)
        for account, amount in OPENING
        for ch in c.post(amount, SNAPSHOT, at=T0, account=account).changes
    ]
    (only,) = [ch for _, ch in coalesce_placements(changes)]
    last = changes[-1][1]
    assert (only.previous_tier, only.new_tier, only.direction) == (
        None,
        Tier.PREMIUM,
        Direction.INITIAL,
    )
    assert (only.balance_fen, only.trigger_event_id) == (55_000_000, last.trigger_event_id)
    assert only.change_id == change_id("C1", last.trigger_event_id, None, Tier.PREMIUM)


def test_a_snapshot_that_does_not_move_the_tier_decides_nothing() -> None:
    c = Customer()
    c.post("600000.00", SNAPSHOT, at=T0, account="A1")
    assert c.post("10.00", SNAPSHOT, at=T0, account="A2").changes == []


def test_a_real_posting_after_the_opening_upgrades_as_usual() -> None:
    c = Customer()
    c.post("40000.00", SNAPSHOT, at=T0, account="A1")
    c.post("5000.00", SNAPSHOT, at=T0, account="A2")
    (up,) = c.post("10000.00", TxnType.DEPOSIT, at=T0 + 1, account="A1").changes
    assert (up.previous_tier, up.new_tier, up.direction) == (
        Tier.ORDINARY,
        Tier.POTENTIAL,
        Direction.UPGRADE,
    )
    assert c.state is not None
    assert c.state.placement_as_of_ms is None


def test_a_snapshot_with_a_later_as_of_is_a_change() -> None:
    c = Customer()
    c.post("40000.00", SNAPSHOT, at=T0, account="A1")
    (up,) = c.post("60000.00", SNAPSHOT, at=T0 + 1, account="A2").changes
    assert (up.new_tier, up.direction, up.by_snapshot) == (Tier.POTENTIAL, Direction.UPGRADE, True)
    # and the as-of of the placement no longer re-places: the customer has really moved
    (up,) = c.post("500000.00", SNAPSHOT, at=T0, account="A3").changes
    assert up.direction is Direction.UPGRADE


def test_a_customer_placed_by_a_real_posting_has_no_opening_to_join() -> None:
    c = Customer()
    c.post("40000.00", TxnType.DEPOSIT, at=T0, account="A1")
    (up,) = c.post("60000.00", SNAPSHOT, at=T0, account="A2").changes
    assert up.direction is Direction.UPGRADE


def _snapshot(txn: str, customer: str, account: str, amount: str, offset: int):
    value = CODEC.encode(
        DEPOSIT_TRANSACTION,
        posting(txn, customer, amount, "BALANCE_SNAPSHOT", T0, account_id=account),
    )
    return message(value, key=customer.encode(), offset=offset)


def test_a_batch_of_openings_with_several_accounts_places_each_customer_once() -> None:
    proc, _, _ = processor()
    batch = [
        _snapshot(f"open:{customer}:{account}", customer, f"{customer}-{account}", amount, i)
        for i, (customer, (account, amount)) in enumerate(
            (customer, opening) for opening in OPENING for customer in ("C1", "C2")
        )
    ]
    out = proc.decide(batch, now_ms=T0)
    assert sorted(
        (c.customer_id, c.previous_tier, c.new_tier, c.direction) for _, c in out.changes
    ) == [
        ("C1", None, Tier.PREMIUM, Direction.INITIAL),
        ("C2", None, Tier.PREMIUM, Direction.INITIAL),
    ]
    records = proc.records(out, T0)
    assert [r.topic for r in records] == [proc.topics.tier_changes] * 2  # and no signal at all


def test_an_opening_straddling_two_batches_is_corrected_without_an_upgrade() -> None:
    proc, store, table = processor()
    first = proc.decide([_snapshot("O1", "C1", "A1", "40000.00", 0)], now_ms=T0)
    commit(store, table)
    second = proc.decide(
        [
            _snapshot("O2", "C1", "A2", "60000.00", 1),
            _snapshot("O3", "C1", "A3", "450000.00", 2),
        ],
        now_ms=T0,
    )
    assert [(c.previous_tier, c.new_tier, c.direction) for _, c in first.changes] == [
        (None, Tier.ORDINARY, Direction.INITIAL)
    ]
    assert [(c.previous_tier, c.new_tier, c.direction) for _, c in second.changes] == [
        (Tier.ORDINARY, Tier.PREMIUM, Direction.INITIAL)  # a corrected placement
    ]
    records = proc.records(second, T0)
    assert [r.topic for r in records] == [proc.topics.tier_changes]  # no signal: no one is told


def test_an_opening_that_ends_where_the_batch_began_decides_nothing() -> None:
    c = Customer()
    c.post("40000.00", SNAPSHOT, at=T0, account="A1")
    later = [
        (0, ch)
        for account, amount in (("A2", "60000.00"), ("A2", "0.00"))
        for ch in c.post(amount, SNAPSHOT, at=T0, account=account).changes
    ]
    assert len(later) == 2  # up by A2's opening balance, back down by its correction
    assert coalesce_placements(later) == []


def test_other_changes_are_left_alone() -> None:
    c = Customer()
    changes = [(0, ch) for ch in c.post("40000.00", SNAPSHOT, at=T0, account="A1").changes]
    changes += [(0, ch) for ch in c.post("60000.00", TxnType.DEPOSIT, at=T0 + 1).changes]
    assert coalesce_placements(changes) == changes
