"""An opening load of 5,000 customers with 2-4 accounts each, by `tiering import-balances`,
through a real worker with its notifier and delivery: every customer is placed by their whole
opening total (§3), with no upgrade and no notification; loan accounts stay out of the deposit
balance. One real deposit afterwards shows the notifications do flow."""

from __future__ import annotations

import asyncio
import csv
import random
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from tests.e2e.test_cli import tiering
from tests.harness.records import CODEC, posting
from tests.harness.waiting import wait_for
from tests.integration.delivery_harness import caught_up
from tiering.core.bank_time import DAY_MS
from tiering.core.money import to_fen
from tiering.core.tiers import classify
from tiering.tools.import_balances import parse_as_of
from tiering.wire.codec import MANAGER_NOTIFICATION, TIER_CHANGE

CUSTOMERS = 5_000
AS_OF = "2026-11-01T08:00:00+08:00"


def write_file(path: Path) -> tuple[dict[str, Decimal], int]:
    """The file, a core system's export sorted by customer; the expected deposit balance per
    customer (loan accounts left out) and the number of lines."""
    rng = random.Random(17)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    lines = 0
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["customer_id", "account_id", "balance", "currency", "as_of", "account_type"])
        for n in range(CUSTOMERS):
            customer = f"C{n:05d}"
            scale = 3_000_000_00 if n % 50 == 0 else 300_000_00  # some reach HIGH_END together
            for a in range(rng.randint(2, 4)):
                balance = Decimal(rng.randrange(0, scale)) / 100
                loan = a == 3 and n % 7 == 0  # a loan account, in the export but no deposit
                kind = "LOAN" if loan else ""  # empty: a deposit account
                out.writerow([customer, f"{customer}-{a}", f"{balance:.2f}", "CNY", AS_OF, kind])
                lines += 1
                if not loan:
                    totals[customer] += balance
    return totals, lines


async def test_an_opening_load_places_everyone_once_and_tells_no_one(
    deployment, tmp_path: Path
) -> None:
    d = await deployment("opening")
    d.start_worker(tmp_path)
    path = tmp_path / "opening.csv"
    expected, lines = write_file(path)
    await d.wait_healthy()

    result = await asyncio.to_thread(tiering, "import-balances", str(path), env=d.env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"loaded {lines:,} balances" in result.stdout

    async def loaded() -> dict[str, Decimal] | None:
        rows = await d.fetch("SELECT customer_id, balance FROM customer_balances")
        return {r["customer_id"]: r["balance"] for r in rows} if len(rows) == CUSTOMERS else None

    assert await wait_for(loaded, 120, "every customer in customer_balances", interval=1) == (
        expected
    )
    # One real deposit after the opening: PREMIUM at once, a large deposit. It is the only
    # thing a manager hears of, and it proves the notifier and delivery were listening.
    canary = posting("REAL-1", "C-CANARY", "600000.00", event_time_ms=parse_as_of(AS_OF) + DAY_MS)
    await d.produce([canary])
    await d.wait_settled(timeout=120)

    bounds = d.settings.policy.lower_bounds_fen
    tiers = {c: classify(to_fen(total), bounds).name for c, total in expected.items()}
    changes = [
        CODEC.decode(r.value, expect=TIER_CHANGE)[1] for r in await d.read_to_end("tier-changes")
    ]
    by_customer: dict[str, list[dict]] = defaultdict(list)
    for change in changes:
        if change["customer_id"] != "C-CANARY":
            by_customer[change["customer_id"]].append(change)
    assert sorted(by_customer) == sorted(expected)
    for customer, placements in by_customer.items():
        # one placement: INITIAL from no tier to the tier of the whole opening total; should
        # the worker's batches cut a customer's accounts apart, the rest corrects it, INITIAL
        # again from the tier so far (never an UPGRADE)
        assert {p["direction"] for p in placements} == {"INITIAL"}, customer
        chain = [p["previous_tier"] for p in placements] + [placements[-1]["new_tier"]]
        assert chain[0] is None
        assert [p["new_tier"] for p in placements] == chain[1:]
        assert placements[-1]["new_tier"] == tiers[customer]
    rows = await d.fetch("SELECT count(*) AS n FROM tier_changes WHERE direction <> 'INITIAL'")
    assert rows[0]["n"] == 0

    notified = [
        CODEC.decode(r.value, expect=MANAGER_NOTIFICATION)[1]
        for r in await d.read_to_end("manager-notifications")
    ]
    assert sorted((n["customer_id"], n["kind"]) for n in notified) == [
        ("C-CANARY", "LARGE_DEPOSIT"),
        ("C-CANARY", "TIER_UPGRADE"),
    ]

    # delivery has handled the topic to its end: the inbox holds what it carries, no more
    await wait_for(lambda: caught_up(d.settings), 60, "delivery to commit the topic's end")
    rows = await d.fetch("SELECT customer_id, kind FROM notifications ORDER BY kind")
    assert [(r["customer_id"], r["kind"]) for r in rows] == [
        ("C-CANARY", "LARGE_DEPOSIT"),
        ("C-CANARY", "TIER_UPGRADE"),
    ]
