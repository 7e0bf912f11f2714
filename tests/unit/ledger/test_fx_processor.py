"""Dated rates through the ledger's batch processor: taken per partition, stored in the table,
and applied to the holders of their currency once the partition's stream time reaches them."""

from __future__ import annotations

from decimal import Decimal

from tests.unit.ledger.test_processor import CODEC, POLICY, commit, encoded, message, processor
from tiering.core.bank_time import DAY_MS, HOUR_MS, bank_day, day_start_ms
from tiering.core.tiers import Direction, Tier
from tiering.ledger.fx import rate_id, rate_record
from tiering.ledger.store import LedgerStore, rates_key
from tiering.settings import Settings
from tiering.wire.codec import FX_RATE
from tiering.wire.inbound import Inbound
from tiering.wire.topics import DeploymentTopics

TOPICS = DeploymentTopics.of(Settings())
DAY = bank_day(1_764_518_400_000)  # 2026-12-01 in China
MORNING = day_start_ms(DAY) + 9 * HOUR_MS
CLOCK = MORNING + 30 * DAY_MS


def rate(currency: str, day: int, value: str, offset: int = 0) -> Inbound:
    record = rate_record(currency, day, Decimal(value), MORNING)
    return Inbound(TOPICS.rates, 0, offset, currency.encode(), CODEC.encode(FX_RATE, record))


def opening(customer: str, amount: str, currency: str, at: int = MORNING, n: int = 0) -> Inbound:
    value = encoded(
        txn_id=f"{customer}-{n}",
        customer_id=customer,
        amount=amount,
        currency=currency,
        event_time_ms=at,
        account_id=f"{customer}-{currency}",
    )
    return message(value, key=customer.encode(), offset=n)


def test_a_higher_rate_upgrades_the_holder_and_no_one_else() -> None:
    proc, store, table = processor()
    out = proc.decide(
        [opening("USD1", "70000.00", "USD"), opening("CNY1", "497000.00", "CNY", n=1)], CLOCK
    )
    commit(store, table)
    assert {c.customer_id: c.new_tier for _, c in out.changes} == {
        "USD1": Tier.POTENTIAL,  # 497,000.00 CNY at the policy's 7.10
        "CNY1": Tier.POTENTIAL,
    }
    out = proc.decide([rate("USD", DAY, "7.20", offset=5)], CLOCK)
    commit(store, table)
    [(_, up)] = out.changes
    assert (up.customer_id, up.previous_tier, up.new_tier, up.direction) == (
        "USD1",
        Tier.POTENTIAL,
        Tier.PREMIUM,
        Direction.UPGRADE,
    )
    assert up.balance_fen == 50_400_000
    assert up.trigger_event_id == f"fx-rate:{rate_id('USD', DAY, Decimal('7.20'))}"
    assert up.event_time_ms == MORNING  # the customer's own time: the day was reached
    assert out.balances["USD1"].balance_fen == 50_400_000
    assert out.revalued == {"USD": 1}
    # sent again: a duplicate, nothing decided
    again = proc.decide([rate("USD", DAY, "7.20", offset=6)], CLOCK)
    assert (again.changes, again.rates.outcomes["duplicate"]) == ([], 1)


def test_a_rate_of_a_day_not_reached_waits_for_the_stream() -> None:
    proc, store, table = processor()
    proc.decide([opening("USD1", "70000.00", "USD")], CLOCK)
    commit(store, table)
    out = proc.decide([rate("USD", DAY + 2, "7.20", offset=5)], CLOCK)
    commit(store, table)
    assert out.changes == []
    # a restarted worker reads the rates, and what is pending of them, from the table
    assert rates_key(0) in table
    proc, store, table = processor_over(table)
    nearly = day_start_ms(DAY + 2) - 1
    out = proc.decide([opening("OTHER", "1.00", "CNY", at=nearly, n=1)], CLOCK)
    commit(store, table)
    assert [c.customer_id for _, c in out.changes] == ["OTHER"]
    out = proc.decide([opening("OTHER", "1.00", "CNY", at=nearly + 1, n=2)], CLOCK)
    assert [(c.customer_id, c.new_tier) for _, c in out.changes] == [("USD1", Tier.PREMIUM)]
    [(_, up)] = out.changes
    assert up.event_time_ms == day_start_ms(DAY + 2)


def processor_over(table: dict[bytes, bytes]):
    proc, store, _ = processor()
    store = LedgerStore(table.get, POLICY)
    proc.store = store
    store.hold({0})
    store.recount(table.items(), {0})
    return proc, store, table


def test_a_bad_rate_is_set_aside_and_a_lost_batch_forgets_its_rates() -> None:
    proc, store, _ = processor()
    record = rate_record("CNY", DAY, Decimal("1"), MORNING)
    bad = Inbound(TOPICS.rates, 0, 0, b"CNY", CODEC.encode(FX_RATE, record))
    out = proc.decide([bad, rate("USD", DAY, "7.20", offset=1)], CLOCK)
    [letter] = out.rates.dead_letters
    assert letter.reason == "invalid_rate"
    assert store.rates(0).rate("USD", DAY) == Decimal("7.20")
    store.discard()  # the batch failed: its rates were never stored
    assert store.rates(0).rate("USD", DAY) == Decimal("7.10")


def test_a_posting_on_a_foreign_account_in_another_currency_is_a_dead_letter() -> None:
    proc, store, table = processor()
    proc.decide([opening("C1", "100.00", "USD")], CLOCK)
    commit(store, table)
    value = encoded(
        txn_id="X", customer_id="C1", amount="1.00", currency="EUR", account_id="C1-USD"
    )
    out = proc.decide([message(value, offset=3)], CLOCK)
    [letter] = out.dead_letters
    assert letter.reason == "currency_mismatch"
