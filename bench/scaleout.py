"""Two workers of one deployment on the same input: the total rate, and that every balance in
PostgreSQL is exact to the cent."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from decimal import Decimal
from typing import Any

from bench.cpu import CpuWindow
from bench.feed import postings
from bench.measure import start_worker
from tests.harness.deployment import Deployment
from tiering.wire.topics import DEPOSIT_TRANSACTIONS


def expected_balances(n: int, customers: int, seed: int) -> dict[str, Decimal]:
    """Each customer's total after the feed's ``n`` postings, in CNY."""
    fen: Counter[str] = Counter()
    for p in postings(n, customers, seed):
        cents = int(p["amount"].scaleb(2))
        fen[p["customer_id"]] += cents if p["txn_type"] == "DEPOSIT" else -cents
    return {c: Decimal(v).scaleb(-2) for c, v in fen.items()}


async def two_workers(
    d: Deployment, n: int, customers: int, seed: int, ports: tuple[int, int]
) -> dict[str, Any]:
    """Two workers (one per port) of deployment ``d``, whose input holds ``n`` postings of the
    feed: the rate from the first posting handled to the last, and the balances checked."""
    procs = [start_worker(d, port=port) for port in ports]
    for port in ports:
        await d.wait_healthy(port=port, timeout=600)
    cpu = CpuWindow(procs)
    first: float | None = None
    # the first worker may have handled some before the second is up: the window starts at the
    # first look, and counts only what was handled in it
    before = 0.0

    async def per_worker() -> list[float]:
        return [
            await d.metric("tiering_events_total", port=p, topic=DEPOSIT_TRANSACTIONS)
            for p in ports
        ]

    while (done := sum(await per_worker())) < n:
        if first is None:
            first, before = time.monotonic(), done
            cpu.start()
        await asyncio.sleep(0.2)
    seconds = time.monotonic() - (first or d.started_at)
    cpu.stop()
    await d.wait_settled(timeout=300)
    rows = await d.fetch("SELECT customer_id, balance FROM customer_balances")
    found = {r["customer_id"]: r["balance"] for r in rows}
    expected = expected_balances(n, customers, seed)
    wrong = sum(1 for c, v in expected.items() if found.get(c) != v) + len(found.keys() - expected)
    share = await per_worker()
    return {
        "postings": n,
        "workers": len(ports),
        "seconds_steady": round(seconds, 2),
        "rate_steady": round((n - before) / seconds),
        "cpu_seconds": cpu.seconds,
        "rate_per_cpu_s": round((n - before) / cpu.seconds),
        "postings_per_worker": [int(s) for s in share],
        "customers_checked": len(expected),
        "balances_wrong": wrong,
        "exact": wrong == 0,
    }
