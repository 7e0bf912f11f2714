"""Two workers of one deployment: each exports its own partitions' share of the per-tier
gauges, the sum is the whole, and when one stops the other takes over all of it."""

from __future__ import annotations

import asyncio
import signal
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.harness.deployment import release_test_port, take_test_port
from tests.harness.records import posting
from tests.harness.waiting import wait_for

CUSTOMERS = 200


async def test_the_sum_over_workers_is_the_whole_and_survives_a_stop(
    deployment: Any, tmp_path: Path
) -> None:
    d = await deployment("two")
    second = take_test_port()
    try:
        first_worker = d.start_worker(tmp_path)
        d.start_worker(tmp_path, port=second)
        await d.wait_healthy()
        await d.wait_healthy(port=second)
        await d.produce(
            posting(f"T{i}", f"C{i:04d}", "1000.00", event_time_ms=1_764_000_000_000 + i)
            for i in range(CUSTOMERS)
        )

        shares: list[float] = []

        async def split_in_two() -> bool:
            shares[:] = [
                await d.metric("tiering_customers"),
                await d.metric("tiering_customers", port=second),
            ]
            return sum(shares) == CUSTOMERS

        await wait_for(split_in_two, 60, f"{CUSTOMERS} customers over both workers' /metrics")
        assert all(shares), f"one worker holds every partition: {shares}"

        # SIGTERM: the first worker leaves the group; the second takes its partitions over.
        first_worker.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(first_worker.wait, 60) == 0
        d.workers.remove(first_worker)

        alone: list[float] = []

        async def all_on_the_second() -> bool:
            alone[:] = [
                await d.metric("tiering_customers", port=second),
                await d.metric("tiering_balance_cny", port=second),
            ]
            return alone[0] == CUSTOMERS

        await wait_for(all_on_the_second, 90, f"the remaining worker to report {CUSTOMERS}")
        assert Decimal(str(alone[1])) == CUSTOMERS * Decimal("1000.00")
    finally:
        release_test_port(second)  # drop() frees only the deployment's own port
