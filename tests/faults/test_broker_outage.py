"""The broker stopped for 15 s under a stream of postings: the worker (with delivery in its
process) stays up, says so in a few lines rather than one per reconnect attempt, shows it on
``tiering_dependency_up{dependency="kafka"}``, and ends exact.

The broker is one of the tests' own (``private_kafka``); PostgreSQL is the shared one.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from tests.faults.test_postgres_outage import line_count, lines_after, produce_paced
from tests.harness.streams import exact, feed, replay, sums, tier_changes_sent, tier_changes_stored
from tests.harness.waiting import wait_for

RATE = 500
OUTAGE = 15


async def test_a_broker_stopped_for_15_s_under_load(
    private_kafka: Any, deployment: Any, tmp_path: Path
) -> None:
    kafka = private_kafka
    d = await deployment("kafkaout", services=kafka.env())
    records = feed(10_000 + OUTAGE * RATE, customers=800, seed=31)
    worker = d.start_worker(tmp_path)
    await d.wait_healthy()
    log = d.logs[-1]
    await produce_paced(d, records[:5_000], RATE)

    mark = line_count(log)
    kafka.stop()
    stopped = time.monotonic()

    async def kafka_down() -> bool:
        return await d.metric("tiering_dependency_up", dependency="kafka") == 0

    await wait_for(kafka_down, OUTAGE, "tiering_dependency_up{dependency='kafka'} to be 0")
    await asyncio.sleep(max(0.0, stopped + OUTAGE - time.monotonic()))  # the outage's length
    assert worker.poll() is None, d.log_tail()
    kafka.start()
    # the core system sends on, the backlog of the outage included
    await produce_paced(d, records[5_000:], 2 * RATE)
    await wait_for(lambda: exact(d, sums(records)), 180, "every exact balance", interval=1)

    async def kafka_up() -> bool:
        return await d.metric("tiering_dependency_up", dependency="kafka") == 1

    await wait_for(kafka_up, 30, "tiering_dependency_up{dependency='kafka'} back at 1")
    lines = lines_after(log, mark)
    assert len(lines) < 100, "\n".join(lines)
    told = [line for line in lines if f"Kafka at {kafka.bootstrap}" in line]
    assert "unreachable" in told[0], "\n".join(lines)
    assert "reachable again" in told[-1], "\n".join(lines)
    assert worker.poll() is None, d.log_tail()
    _, changes = replay(records, d.settings.policy)
    assert sorted(await tier_changes_stored(d)) == sorted(changes)
    await d.wait_settled(timeout=120)
    assert await tier_changes_sent(d) == changes
