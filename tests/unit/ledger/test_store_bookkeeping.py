"""The ledger's bookkeeping kept beside the states (tier totals, stream time, downgrade and
idle-funds deadlines): what a worker restarting with its local tables takes back instead of
reading every customer. Kept batch by batch, it must be exactly what a recount of the states
gives."""

from __future__ import annotations

import dataclasses
import random
from decimal import Decimal

import pytest

from tests.unit.ledger.test_processor import POLICY, encoded, message
from tiering.core.bank_time import DAY_MS, bank_day
from tiering.ledger.fx import foreign_currencies, rate_record
from tiering.ledger.processor import LedgerProcessor
from tiering.ledger.state import decode_standing, decode_state
from tiering.ledger.store import RESERVED, LedgerStore
from tiering.settings import Settings
from tiering.wire.codec import FX_RATE, AvroCodec
from tiering.wire.inbound import Inbound
from tiering.wire.topics import DeploymentTopics

#: short enough for the runs below to go through grace periods, idle spells and departures
#: (§3, §5, §7.3)
GRACE = dataclasses.replace(
    POLICY, downgrade_grace_ms=3 * DAY_MS, idle_ms=2 * DAY_MS, departure_ms=4 * DAY_MS
)
T0 = 1_767_225_600_000  # 2026-01-01 UTC
#: the worker's clock: after every event time of these runs (no event is ahead of it)
CLOCK = T0 + 10 * 365 * 86_400_000
PARTITIONS = 3
CODEC = AvroCodec()
TOPICS = DeploymentTopics.of(Settings())


class Worker:
    """A ledger processor over a dict table, keeping what the store asks to keep per partition
    as the RocksDB store would."""

    def __init__(self, policy=GRACE) -> None:
        self.table: dict[bytes, bytes] = {}
        self.kept: dict[int, dict[bytes, bytes]] = {p: {} for p in range(PARTITIONS)}
        self.store = LedgerStore(self.table.get, policy)
        topics = DeploymentTopics.of(Settings())
        self.processor = LedgerProcessor(policy, AvroCodec(), self.store, topics)

    def run(self, batch, now_ms: int):
        out = self.processor.decide(batch, now_ms)
        for key, value, _ in self.store.staged():
            self.table[key] = value
        for partition, entries in self.store.kept_staged().items():
            for name, value in entries:
                if value is None:
                    del self.kept[partition][name]  # only what was kept is dropped
                else:
                    self.kept[partition][name] = value
        self.store.commit()
        return out


def postings(seed: int, batches: int = 40) -> list[list]:
    """Deposits and withdrawals of a few customers across the tiers' bounds, in batches; some
    on USD or HKD accounts, and now and then a new dated rate on every partition."""
    rng = random.Random(seed)
    amounts = ["10.00", "60000.00", "600000.00", "6000000.00"]
    at, n, out = T0, 0, []
    for _ in range(batches):
        batch = []
        if rng.random() < 0.3:
            currency = rng.choice(["USD", "HKD"])
            rate = Decimal(rng.choice(["0.9", "6.5", "7.2", "8.1"]))
            day = bank_day(at) + rng.choice([0, 1, 2])
            value = CODEC.encode(FX_RATE, rate_record(currency, day, rate, at))
            batch += [
                Inbound(TOPICS.rates, p, n, currency.encode(), value) for p in range(PARTITIONS)
            ]
        for _ in range(rng.randint(1, 8)):
            customer = f"C{rng.randrange(12)}"
            partition = int(customer[1:]) % PARTITIONS
            at += rng.choice([1, 3_600_000, DAY_MS])
            kind = rng.choice(["DEPOSIT", "WITHDRAWAL"])
            currency = rng.choice(["CNY", "CNY", "USD", "HKD"])
            record = encoded(
                txn_id=f"T{n}",
                customer_id=customer,
                amount=rng.choice(amounts),
                txn_type=kind,
                event_time_ms=at,
                currency=currency,
                account_id=f"{customer}-{currency}",
            )
            batch.append(message(record, key=customer.encode(), offset=n, partition=partition))
            n += 1
        out.append(batch)
    return out


def state_of(store: LedgerStore, partitions: set[int]):
    """What the bookkeeping says: totals, stream time, and every customer due, per partition,
    far in the future (the deadlines themselves, in order)."""
    due = {p: sorted(store._scheduled.get(k, 0) for k in store.due(p, 2**62)) for p in partitions}
    return store.counts, store.balances, store.stream_time, due, store.holders


@pytest.mark.parametrize("seed", range(6))
def test_what_is_kept_is_what_a_recount_finds(seed: int) -> None:
    worker = Worker()
    for i, batch in enumerate(postings(seed)):
        worker.run(batch, now_ms=CLOCK + i)
    held = {0, 2}
    restored = LedgerStore(worker.table.get, GRACE)
    restored.hold(held)
    assert all(restored.restore(p, sorted(worker.kept[p].items())) for p in held)
    recounted = LedgerStore(worker.table.get, GRACE)
    recounted.hold(held)
    recounted.recount(worker.table.items(), held)
    # and what a recount keeps is what the batches kept
    assert {p: dict(recounted.kept(p)) for p in held} == {p: worker.kept[p] for p in held}
    assert restored.tier_totals() == recounted.tier_totals()
    assert state_of(restored, held) == state_of(recounted, held)


def test_some_customers_are_in_their_grace_period_in_those_runs() -> None:
    """The runs above exercise the deadlines, not only the totals."""
    worker = Worker()
    for i, batch in enumerate(postings(0)):
        worker.run(batch, now_ms=CLOCK + i)
    assert any(name.startswith(b"d") for kept in worker.kept.values() for name in kept)


def test_some_customers_go_idle_in_those_runs() -> None:
    """...and the idle spells' deadlines too: some signals come from the sweep."""
    worker = Worker()
    swept = 0
    for i, batch in enumerate(postings(0)):
        out = worker.run(batch, now_ms=CLOCK + i)
        posted = {m.key for m in batch}
        idle = [s for _, s in out.signals if s.kind == "IDLE_FUNDS"]
        swept += sum(s.customer_id.encode() not in posted for s in idle)
    assert swept > 0


def test_some_customers_are_revalued_in_those_runs() -> None:
    """The runs above exercise the holders' index and the rates kept in the table."""
    worker = Worker()
    revalued = 0
    for i, batch in enumerate(postings(0)):
        revalued += sum(worker.run(batch, now_ms=CLOCK + i).revalued.values())
    assert revalued > 0
    assert any(worker.store.holders[p].get("USD") for p in range(PARTITIONS))
    assert worker.store.rates(0).dated == worker.store.rates(2).dated != {}


def test_some_customers_leave_in_those_runs() -> None:
    """...and the departures' deadlines (§7.3): some customers stay at zero long enough."""
    worker = Worker()
    departed = sum(
        sum(worker.run(b, now_ms=CLOCK + i).kpis.departed.values())
        for i, b in enumerate(postings(0))
    )
    assert departed > 0


def test_a_restored_store_decides_as_the_one_that_kept_it() -> None:
    worker = Worker()
    runs = postings(7, batches=60)
    for i, batch in enumerate(runs[:30]):
        worker.run(batch, now_ms=CLOCK + i)
    restarted = Worker()
    restarted.table.update(worker.table)
    restarted.kept = {p: dict(k) for p, k in worker.kept.items()}
    restarted.store.hold(set(range(PARTITIONS)))
    for p in range(PARTITIONS):
        assert restarted.store.restore(p, sorted(restarted.kept[p].items()))
    for i, batch in enumerate(runs[30:]):
        ours, theirs = worker.run(batch, CLOCK + i), restarted.run(batch, CLOCK + i)
        assert [c for _, c in theirs.changes] == [c for _, c in ours.changes]
        assert [s for _, s in theirs.signals] == [s for _, s in ours.signals]
    assert restarted.store.tier_totals() == worker.store.tier_totals()


def test_nothing_kept_or_kept_under_other_grace_idle_or_departure_days_is_refused() -> None:
    worker = Worker()
    for i, batch in enumerate(postings(1)):
        worker.run(batch, now_ms=CLOCK + i)
    for other in (
        dataclasses.replace(GRACE, downgrade_grace_ms=5 * DAY_MS),
        dataclasses.replace(GRACE, idle_ms=5 * DAY_MS),
        dataclasses.replace(GRACE, departure_ms=5 * DAY_MS),
    ):
        store = LedgerStore(worker.table.get, other)
        store.hold({0})
        assert not store.restore(0, sorted(worker.kept[0].items()))
        assert store.holders[0] == {}  # a refused restore takes none of it: the recount will
    assert not LedgerStore(worker.table.get, GRACE).restore(0, [])


def test_a_standing_is_what_the_whole_state_says() -> None:
    worker = Worker()
    for i, batch in enumerate(postings(3)):
        worker.run(batch, now_ms=CLOCK + i)
    for key, raw in worker.table.items():
        if key.startswith(RESERVED):  # the partition's rates
            continue
        state, held = decode_state(raw), decode_standing(raw)
        assert held.currencies == foreign_currencies(state)
        since = None if state.tier is None else state.below_since.get(state.tier)
        assert (held.partition, held.tier, held.total_fen, held.clock_ms) == (
            state.partition,
            state.tier,
            state.total_fen,
            state.clock_ms,
        )
        assert held.below_tier_since == since
        assert held.idle_since == (None if state.idle_notified else state.idle_since)
        assert held.empty_since == state.empty_since
