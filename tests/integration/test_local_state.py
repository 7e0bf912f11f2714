"""Tables on disk, against the real broker and database: a worker started again with its data
directory replays none of the changelog and counts none of its customers again (a new machine
replays all of it and counts them), a worker whose
standby copy is warm takes a dead peer's partitions over without replaying them, and the
balances stay exact through both."""

from __future__ import annotations

import asyncio
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.harness.deployment import Deployment, release_test_port, take_test_port
from tests.harness.records import T0, posting
from tests.harness.waiting import wait_for
from tiering.runtime.agents import LEDGER_TABLE
from tiering.runtime.app import STANDBY_BUFFER
from tiering.runtime.bulk_restore import BULK_FROM

CUSTOMERS = 60


def deposits(round_: int, customers: int = CUSTOMERS) -> list[dict[str, Any]]:
    """One deposit of 100.00 for each customer; ``round_`` makes the ids and times new."""
    return [
        posting(f"R{round_}-{i}", f"C{i:04d}", "100.00", event_time_ms=T0 + round_ * 10**6 + i)
        for i in range(customers)
    ]


async def balances_are(d: Deployment, each: str, customers: int = CUSTOMERS) -> None:
    async def exact() -> bool:
        rows = await d.fetch("SELECT balance FROM customer_balances")
        return len(rows) == customers and {r["balance"] for r in rows} == {Decimal(each)}

    await wait_for(exact, 60, f"every customer's balance to be {each}")


async def restored(d: Deployment, port: int | None = None) -> float:
    return await d.metric("tiering_state_restored_total", port=port, table=LEDGER_TABLE)


async def recounted(d: Deployment, port: int | None = None) -> float | None:
    """Customers the worker read to recount the ledger's bookkeeping; None before it did."""
    found = [
        v
        for labels, v in await d.samples("tiering_state_recounted_total", port)
        if labels["table"] == LEDGER_TABLE
    ]
    return found[0] if found else None


async def customers_counted(d: Deployment, port: int | None = None) -> dict[str, float]:
    """The ``tiering_customers`` gauge per tier."""
    return {labels["tier"]: v for labels, v in await d.samples("tiering_customers", port)}


async def test_a_restart_replays_no_changelog_and_a_new_machine_all_of_it(
    deployment: Any, tmp_path: Path
) -> None:
    d = await deployment("restart")
    d.start_worker(tmp_path)
    await d.wait_healthy()
    await d.produce(deposits(1))
    await balances_are(d, "100.00")
    await d.wait_settled()
    changelog = await d.read_to_end(f"{d.name}-{LEDGER_TABLE}-changelog")
    assert len(changelog) >= CUSTOMERS

    counted = await customers_counted(d)
    assert sum(counted.values()) == CUSTOMERS

    d.stop_workers()
    d.start_worker(tmp_path)
    await d.wait_healthy()
    assert await restored(d) == 0
    # the tier totals were taken back from what the databases kept, not counted again
    assert await recounted(d) == 0
    assert await customers_counted(d) == counted
    await d.produce(deposits(2))
    await balances_are(d, "200.00")

    # a new machine: the same deployment, no data directory
    await d.wait_settled()
    changelog = await d.read_to_end(f"{d.name}-{LEDGER_TABLE}-changelog")
    d.stop_workers()
    shutil.rmtree(d.data_dir())
    d.start_worker(tmp_path)
    await d.wait_healthy()
    assert await restored(d) == len(changelog)
    assert await recounted(d) == CUSTOMERS
    assert await customers_counted(d) == counted
    await d.produce(deposits(3))
    await balances_are(d, "300.00")


async def test_a_new_machine_restores_its_tables_in_bulk(deployment: Any, tmp_path: Path) -> None:
    d = await deployment("bulk")
    d.start_worker(tmp_path)
    await d.wait_healthy()
    many = BULK_FROM + 2_000  # enough to be worth a consumer of its own
    await d.produce(deposits(1, many))
    await balances_are(d, "100.00", many)
    await d.wait_settled()
    changelog = await d.read_to_end(f"{d.name}-{LEDGER_TABLE}-changelog")
    counted = await customers_counted(d)

    d.stop_workers()
    shutil.rmtree(d.data_dir())
    d.start_worker(tmp_path)
    await d.wait_healthy()
    assert f"restored {LEDGER_TABLE} in bulk: {len(changelog)} records" in d.logs[-1].read_text()
    assert await restored(d) == len(changelog)  # each record once: nothing left to Faust
    assert await customers_counted(d) == counted
    await d.produce(deposits(2, many))
    await balances_are(d, "200.00", many)


async def test_a_warm_standby_takes_a_killed_peers_partitions_over_without_replaying(
    deployment: Any, tmp_path: Path
) -> None:
    d = await deployment("standby")
    second = take_test_port()
    many = 10 * STANDBY_BUFFER  # enough for the standby copies to be written as they come
    try:
        first = d.start_worker(tmp_path)
        d.start_worker(tmp_path, port=second)
        await d.wait_healthy()
        await d.wait_healthy(port=second)
        await d.produce(deposits(1, many))
        await balances_are(d, "100.00", many)
        await d.wait_settled()

        async def a_share() -> set[int] | None:
            found = await held(d, second)
            return found if 0 < len(found) < d.partitions else None

        survivor = await wait_for(a_share, 60, "the second worker to report its partitions")
        changelog = await d.read_to_end(f"{d.name}-{LEDGER_TABLE}-changelog")
        theirs = sum(1 for r in changelog if r.partition not in survivor)

        # the survivor's standby copy of the other's partitions: written as the changelog comes,
        # but for less than one buffer
        async def copied() -> bool:
            return await restored(d, second) > theirs - STANDBY_BUFFER

        await wait_for(copied, 60, "the standby copy to be written")

        d.kill(first)
        await d.produce(deposits(2, many))
        await balances_are(d, "200.00", many)  # the survivor took every partition over

        async def all_held() -> bool:
            return await held(d, second) == set(range(d.partitions))

        await wait_for(all_held, 60, "the survivor to report every partition")
        # each record of the dead worker's partitions reached the survivor's tables once, as its
        # standby copy: the takeover replayed none of them from the changelog
        assert await restored(d, second) == theirs
    finally:
        release_test_port(second)
        await asyncio.to_thread(d.stop_workers)


async def held(d: Deployment, port: int) -> set[int]:
    """The postings' partitions the worker on ``port`` holds, from its consumer lag gauge."""
    return {
        int(labels["partition"])
        for labels, _ in await d.samples("tiering_consumer_lag_messages", port)
        if labels["topic"] == "deposit-transactions" and labels["group"] == "ledger"
    }
