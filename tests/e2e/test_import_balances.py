"""`tiering import-balances` on a 100,000-line file with a few bad lines: the good ones reach
PostgreSQL exactly, the bad ones are named by line number."""

from __future__ import annotations

import asyncio
import csv
import random
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from tests.e2e.test_cli import tiering
from tests.harness.waiting import wait_for

BAD_LINES = {
    # line number (the header is line 1) → (bad row, the words the report must use)
    1_001: (["C-bad-1", "A-bad-1", "12.345", "CNY", "2026-11-01"], "more than two decimals"),
    20_002: (["C-bad-2", "A-bad-2", "-5.00", "CNY", "2026-11-01"], "must be zero or more"),
    40_003: (["C-bad-3", "A-bad-3", "100.00", "XAU", "2026-11-01"], "has no rate"),
    60_004: (["C-bad-4", "A-bad-4", "100.00", "CNY", "yesterday"], "not an ISO 8601"),
    80_005: (["", "A-bad-5", "100.00", "CNY", "2026-11-01"], "customer_id is empty"),
    99_006: (["C-bad-6", "A-bad-6", "lots", "CNY", "2026-11-01"], "is not an amount"),
}
LINES = 100_000


def write_file(path: Path) -> dict[str, Decimal]:
    """Write the file; return the expected CNY total per customer of the good lines."""
    rng = random.Random(42)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["customer_id", "account_id", "balance", "currency", "as_of"])
        for line in range(2, LINES + 2):
            if line in BAD_LINES:
                out.writerow(BAD_LINES[line][0])
                continue
            customer = f"C{rng.randrange(40_000):05d}"
            balance = Decimal(rng.randrange(0, 400_000_00)) / 100
            currency = "USD" if line % 50 == 0 else "CNY"
            out.writerow(
                [
                    customer,
                    f"{customer}-L{line}",
                    f"{balance:.2f}",
                    currency,
                    "2026-11-01T08:00:00+08:00",
                ]
            )
            rate = Decimal("7.10") if currency == "USD" else Decimal(1)
            totals[customer] += (balance * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return totals


async def test_a_large_file_with_a_few_bad_lines(deployment, tmp_path: Path) -> None:
    d = await deployment("imp")
    d.start_worker(tmp_path)
    path = tmp_path / "opening.csv"
    expected = write_file(path)
    await d.wait_healthy()

    rejects = tmp_path / "rejected.csv"
    result = await asyncio.to_thread(
        tiering, "import-balances", str(path), "--rejects", str(rejects), env=d.env, timeout=300
    )
    assert result.returncode == 1, result.stderr  # some lines were rejected
    assert f"loaded {LINES - len(BAD_LINES):,} balances" in result.stdout
    reported = {
        int(text.split(":")[0].split()[-1]): text
        for text in result.stderr.splitlines()
        if text.strip().startswith("line ")
    }
    assert sorted(reported) == sorted(BAD_LINES)
    for line, (_, words) in BAD_LINES.items():
        assert words in reported[line]
    with rejects.open() as f:
        assert [int(r["line"]) for r in csv.DictReader(f)] == sorted(BAD_LINES)

    async def loaded() -> dict[str, Decimal] | None:
        rows = await d.fetch("SELECT customer_id, balance FROM customer_balances")
        return (
            {r["customer_id"]: r["balance"] for r in rows} if len(rows) == len(expected) else None
        )

    got = await wait_for(loaded, 240, f"{len(expected)} customers in customer_balances", interval=1)
    assert got == expected

    # The same file again: nothing changes (the snapshots' txn_ids repeat).
    again = await asyncio.to_thread(tiering, "import-balances", str(path), env=d.env, timeout=300)
    assert again.returncode == 1
    versions = await d.fetch("SELECT max(version) AS v FROM customer_balances")

    async def all_seen_as_duplicates() -> bool:
        duplicates = await d.metric("tiering_events_total", outcome="duplicate")
        return duplicates == LINES - len(BAD_LINES)

    await wait_for(
        all_seen_as_duplicates, 240, "the second import to be recognised as duplicates", interval=1
    )
    assert await d.fetch("SELECT max(version) AS v FROM customer_balances") == versions
