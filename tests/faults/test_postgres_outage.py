"""PostgreSQL stopped under a stream of postings, at two phases: between batches, and in the
middle of a write. The worker waits each outage out: it never exits, tells it in a few lines
naming the database, shows it on /healthz and ``tiering_dependency_up``, and ends exact.

The database is a cluster of the tests' own (``private_postgres``); Kafka is the shared one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg

from tests.faults.watching import health, line_count, lines_after
from tests.harness.streams import exact, feed, replay, sums, tier_changes_stored
from tests.harness.waiting import wait_for

#: postings a second while the database is away
RATE = 500
#: the first outage, as long as the issue's (seconds)
OUTAGE = 20


async def produce_paced(d: Any, records: list[dict[str, Any]], rate: int) -> None:
    """``records`` at ``rate`` a second: a steady stream, as the core system sends it."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(0, len(records), rate // 10):
        await d.produce(records[i : i + rate // 10])
        await asyncio.sleep(max(0.0, start + (i + rate // 10) / rate - loop.time()))


async def writing(pg: Any, application: str) -> bool:
    """Whether the worker's connection is in the middle of a write, held by a lock."""
    conn = await asyncpg.connect(pg.url)
    try:
        waiting = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = $1 AND wait_event_type = 'Lock'",
            application,
        )
    finally:
        await conn.close()
    return bool(waiting)


def assert_told_in_a_few_lines(lines: list[str], database: str, reason: str = "") -> None:
    about_it = [
        line
        for line in lines
        if any(level in line for level in ("[WARNING]", "[ERROR]", "[CRITICAL]"))
        or "Traceback" in line
    ]
    assert 2 <= len(about_it) <= 4, "\n".join(lines)
    assert all(database in line for line in about_it), "\n".join(about_it)
    assert "unreachable" in about_it[0]
    assert reason in about_it[0]
    assert "reachable again" in about_it[-1]
    # and little else: no per-retry or per-partition lines
    assert len(lines) < 40, "\n".join(lines)


async def test_postgres_stopped_between_batches_and_during_a_write(
    private_postgres: Any, deployment: Any, tmp_path: Path
) -> None:
    pg = private_postgres
    d = await deployment("pgout", services=pg.env(tls=False))
    database = f"PostgreSQL at 127.0.0.1:{pg.port}"
    records = feed(2 * OUTAGE * RATE + 15_000, customers=800, seed=21)
    before, during, burst = (
        records[:5_000],
        records[5_000 : 5_000 + OUTAGE * RATE],
        records[5_000 + OUTAGE * RATE :],
    )
    worker = d.start_worker(tmp_path, delivery=False)
    await d.wait_healthy()
    log = d.logs[-1]
    await produce_paced(d, before, RATE)
    await d.wait_settled()

    # 1. Between batches: nothing in hand when it goes; the next batch meets the outage.
    mark = line_count(log)
    pg.stop("fast")
    feeding = asyncio.create_task(produce_paced(d, during, RATE))

    async def degraded() -> dict[str, Any] | None:
        body = await health(d)
        return body if body["status"] == "degraded" else None

    body = await wait_for(degraded, 30, "/healthz to say degraded")
    assert database in body["outages"]["postgres"]
    assert await d.metric("tiering_dependency_up", dependency="postgres") == 0
    await feeding  # OUTAGE seconds of postings while the database is away
    assert worker.poll() is None, d.log_tail()
    pg.start()
    await wait_for(lambda: exact(d, sums(records[: len(before) + len(during)])), 120, "exact")
    assert (await health(d))["status"] == "ok"
    assert await d.metric("tiering_dependency_up", dependency="postgres") == 1
    assert_told_in_a_few_lines(lines_after(log, mark), database)

    # 2. During a write: the balances table locked, so that the next batch's transaction
    # waits in the middle, and the database stops dead (as in a crash) right then.
    mark = line_count(log)
    holder = await asyncpg.connect(pg.url)
    await holder.execute("BEGIN")
    await holder.execute(
        f'LOCK TABLE "{d.settings.db_schema}".customer_balances IN ACCESS EXCLUSIVE MODE'
    )
    feeding = asyncio.create_task(d.produce(burst))
    await wait_for(lambda: writing(pg, d.name), 60, "a write in flight")
    pg.stop("immediate")
    holder.terminate()
    await feeding
    await wait_for(degraded, 30, "/healthz to say degraded")
    assert worker.poll() is None, d.log_tail()
    pg.start()
    await wait_for(lambda: exact(d, sums(records)), 180, "every exact balance", interval=1)
    assert worker.poll() is None, d.log_tail()
    # the transaction in flight was cut
    assert_told_in_a_few_lines(lines_after(log, mark), database, "write failed")
    _, changes = replay(records, d.settings.policy)
    assert sorted(await tier_changes_stored(d)) == sorted(changes)
