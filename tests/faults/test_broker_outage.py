"""The broker stopped for 15 s while a worker (with delivery in its process) is busy with a
backlog, then started again. The worker waits the outage out: it never exits, tells it in a
few lines naming the broker (not one per retry of each client), shows it on /healthz and
``tiering_dependency_up``, and ends exact, every tier change on its topic once.

The broker is one of the tests' own (``private_kafka``); PostgreSQL is the shared one.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from tests.faults.watching import health, line_count, lines_after
from tests.harness.records import CODEC
from tests.harness.streams import exact, feed, replay, sums, tier_changes_stored
from tests.harness.waiting import wait_for
from tiering.wire.codec import TIER_CHANGE

#: seconds the broker stays away, as the worker itself counts them
OUTAGE = 15
#: log lines the whole outage may take, from the stop until the worker is exact again
MOST_LINES = 100


async def processed(d: Any, n: int) -> bool:
    return await d.metric("tiering_events_total", outcome="processed") >= n


async def kafka_outage(d: Any) -> str:
    """What the worker's /healthz says about Kafka being away (empty while it answers)."""
    return str((await health(d)).get("outages", {}).get("kafka", ""))


async def kafka_away_for(d: Any, seconds: float) -> bool:
    """Whether the worker has found Kafka unreachable for ``seconds`` by its own count."""
    found = re.search(r"unreachable for (\d+) s", await kafka_outage(d))
    return found is not None and float(found.group(1)) >= seconds


async def test_a_broker_stopped_for_15_s_under_load(
    private_kafka: Any, deployment: Any, tmp_path: Path
) -> None:
    d = await deployment("kafkaout", services=private_kafka.env())
    kafka = f"Kafka at {private_kafka.bootstrap}"
    records = feed(12_000, customers=800, seed=31)
    before, after = records[:10_000], records[10_000:]
    worker = d.start_worker(tmp_path)
    await d.wait_healthy()
    log = d.logs[-1]
    await d.produce(before)
    await wait_for(lambda: processed(d, 1_000), 120, "the worker busy with the postings")

    mark = line_count(log)
    try:
        await asyncio.to_thread(private_kafka.stop)
        away = await wait_for(lambda: kafka_outage(d), 60, "/healthz to name the outage")
        assert away.startswith(f"{kafka} unreachable for"), away
        assert (await health(d))["status"] == "degraded"
        assert await d.metric("tiering_dependency_up", dependency="kafka") == 0
        await wait_for(lambda: kafka_away_for(d, OUTAGE), 4 * OUTAGE, "the outage to last")
        assert worker.poll() is None, d.log_tail()
    finally:
        await asyncio.to_thread(private_kafka.start)
    await d.produce(after)
    await wait_for(lambda: exact(d, sums(records)), 180, "every exact balance", interval=1)
    assert worker.poll() is None, d.log_tail()
    assert (await health(d))["status"] == "ok"
    assert await d.metric("tiering_dependency_up", dependency="kafka") == 1

    lines = lines_after(log, mark)
    assert len(lines) < MOST_LINES, "\n".join(lines)
    about_kafka = [line for line in lines if kafka in line]
    assert len(about_kafka) == 2, "\n".join(lines)
    assert "unreachable" in about_kafka[0]
    assert "reachable again" in about_kafka[1]
    assert not [line for line in lines if "Traceback" in line or "[CRITICAL]" in line]

    _, changes = replay(records, d.settings.policy)
    assert sorted(await tier_changes_stored(d)) == sorted(changes)
    await d.wait_settled(timeout=120)
    sent = [
        CODEC.decode(r.value, expect=TIER_CHANGE)[1]["change_id"]
        for r in await d.read_to_end("tier-changes")
    ]
    assert sorted(sent) == sorted(changes)  # each once: none lost, none sent twice
