"""Dated exchange rates end to end on the real local Kafka and PostgreSQL: ``tiering
import-rates`` publishes a rate, every partition's ledger takes it, and a customer whose USD
account the new rate lifts over a bound is upgraded (POLICY §3); a CNY-only customer is not."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from tests.e2e.test_cli import tiering
from tests.harness.records import CODEC, T0, posting
from tests.harness.waiting import wait_for
from tiering.core.bank_time import bank_day, epoch_ms
from tiering.ledger.fx import EPOCH_DAY, rate_id
from tiering.wire.codec import FX_RATE, TIER_CHANGE


def rates_file(path: Path, *lines: tuple[str, str, str]) -> Path:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["currency", "rate", "effective_date"])
        out.writerows(lines)
    return path


async def test_a_higher_rate_upgrades_the_usd_holder_only(deployment, tmp_path: Path) -> None:
    d = await deployment("fx")
    d.start_worker(tmp_path)
    await d.wait_healthy()
    # USD 70,000.00 at the policy's 7.10 is 497,000.00: just below PREMIUM (500,000)
    await d.produce(
        [
            posting("U1", "C-USD", "70000.00", currency="USD", event_time_ms=T0),
            posting("N1", "C-CNY", "497000.00", event_time_ms=T0),
        ]
    )

    async def tiers() -> dict[str, tuple[Decimal, str]]:
        rows = await d.fetch("SELECT customer_id, balance, tier FROM customer_balances")
        return {r["customer_id"]: (r["balance"], r["tier"]) for r in rows}

    async def both_placed() -> bool:
        return len(await tiers()) == 2

    await wait_for(both_placed, 30, "both customers placed")
    assert await tiers() == {
        "C-USD": (Decimal("497000.00"), "POTENTIAL"),
        "C-CNY": (Decimal("497000.00"), "POTENTIAL"),
    }

    # effective on the bank day of the postings: a day every partition they are on has reached
    day = EPOCH_DAY.fromordinal(EPOCH_DAY.toordinal() + bank_day(T0))
    path = rates_file(tmp_path / "rates.csv", ("USD", "7.20", day.isoformat()))
    done = tiering("import-rates", str(path), env=d.env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "中的 1 条汇率" in done.stdout  # TIERING_LANGUAGE's default: Simplified Chinese

    async def upgraded() -> bool:
        return (await tiers())["C-USD"] == (Decimal("504000.00"), "PREMIUM")

    await wait_for(upgraded, 30, "C-USD revalued at 7.20 and upgraded")
    await d.wait_settled()
    changes = [
        CODEC.decode(r.value, expect=TIER_CHANGE)[1] for r in await d.read_to_end("tier-changes")
    ]
    trigger = f"fx-rate:{rate_id('USD', bank_day(T0), Decimal('7.20'))}"
    assert sorted(
        (c["customer_id"], c["new_tier"], c["direction"], c["balance"], c["trigger_event_id"])
        for c in changes
    ) == [
        ("C-CNY", "POTENTIAL", "INITIAL", Decimal("497000.00"), "N1"),
        ("C-USD", "POTENTIAL", "INITIAL", Decimal("497000.00"), "U1"),
        ("C-USD", "PREMIUM", "UPGRADE", Decimal("504000.00"), trigger),
    ]
    upgrade = next(c for c in changes if c["direction"] == "UPGRADE")
    assert epoch_ms(upgrade["event_time"]) == T0  # the customer's own time: the day was reached
    assert await d.metric("tiering_fx_revaluations_total", currency="USD") == 1
    # a copy on every partition of the rates topic, and the audit row
    copies = [CODEC.decode(r.value, expect=FX_RATE)[1] for r in await d.read_to_end(d.topics.rates)]
    assert sorted(r.partition for r in await d.read_to_end(d.topics.rates)) == list(
        range(d.partitions)
    )
    assert {(c["currency"], c["rate"], c["effective_date"]) for c in copies} == {
        ("USD", Decimal("7.2000000000"), day)
    }
    rows = await d.fetch("SELECT currency, effective_date, rate FROM fx_rates")
    assert [tuple(r) for r in rows] == [("USD", day, Decimal("7.2000000000"))]

    # the same file again changes nothing; another rate for the same day is refused, named
    again = tiering("import-rates", str(path), env=d.env)
    assert again.returncode == 0, again.stdout + again.stderr
    other = rates_file(tmp_path / "other.csv", ("USD", "7.30", day.isoformat()))
    refused = tiering("import-rates", str(other), env=d.env)
    assert refused.returncode == 1
    assert f"line 2: USD 在 {day.isoformat()} 已有另一汇率：数据库为 7.2（" in refused.stderr
    await d.wait_settled()
    assert len(await d.read_to_end("tier-changes")) == len(changes)
    assert await d.metric("tiering_fx_revaluations_total", currency="USD") == 1
    assert await tiers() == {
        "C-USD": (Decimal("504000.00"), "PREMIUM"),
        "C-CNY": (Decimal("497000.00"), "POTENTIAL"),
    }
