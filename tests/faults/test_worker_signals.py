"""A worker stopped by its supervisor: SIGTERM drains it, SIGKILL in the middle of a rebalance
loses nothing. On the real local Kafka and PostgreSQL, under a stream of postings."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

from tests.harness.deployment import release_test_port, take_test_port
from tests.harness.streams import (
    exact,
    feed,
    replay,
    sums,
    tier_changes_sent,
    tier_changes_stored,
)
from tests.harness.waiting import wait_for

POSTINGS = 20_000


async def processed_at_least(d: Any, n: int) -> float:
    done = await d.metric("tiering_events_total", outcome="processed")
    return done if done >= n else 0


async def test_sigterm_drains_the_batch_in_hand_and_exits_cleanly(
    deployment: Any, tmp_path: Path
) -> None:
    d = await deployment("term")
    records = feed(POSTINGS, customers=1_500, seed=11)
    _, changes = replay(records, d.settings.policy)
    worker = d.start_worker(tmp_path)
    await d.wait_healthy()
    producing = asyncio.create_task(d.produce(records))
    await wait_for(lambda: processed_at_least(d, 3_000), 60, "the worker part way", interval=0.02)

    started_lines = len(d.logs[-1].read_text(errors="replace").splitlines())
    worker.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(worker.wait, 60) == 0, d.log_tail()
    d.workers.remove(worker)
    # (a fresh deployment's start may log Faust creating its changelog topics as an error)
    stopped_log = "\n".join(d.logs[-1].read_text(errors="replace").splitlines()[started_lines:])
    trouble = ("Traceback", "[ERROR]", "[CRITICAL]")
    assert not [line for line in stopped_log.splitlines() if any(t in line for t in trouble)], (
        stopped_log[-6000:]
    )
    await producing

    d.start_worker(tmp_path)
    await d.wait_healthy(timeout=120)
    await wait_for(lambda: exact(d, sums(records)), 180, "every exact balance", interval=1)
    # what the stopped worker stored it also committed: the restart applies nothing twice
    assert await d.metric("tiering_events_total", outcome="duplicate") == 0
    assert sorted(await tier_changes_stored(d)) == sorted(changes)
    await d.wait_settled(timeout=120)
    assert await tier_changes_sent(d) == changes


async def test_a_worker_killed_during_a_rebalance_loses_nothing(
    deployment: Any, tmp_path: Path
) -> None:
    d = await deployment("rebal")
    records = feed(POSTINGS, customers=1_500, seed=12)
    _, changes = replay(records, d.settings.policy)
    second = take_test_port()
    try:
        first = d.start_worker(tmp_path)
        await d.wait_healthy()
        producing = asyncio.create_task(d.produce(records))
        await wait_for(lambda: processed_at_least(d, 2_000), 60, "the first worker part way")

        # A second worker joins: the group rebalances, the first gives partitions up.
        first_log = d.logs[-1]
        d.start_worker(tmp_path, port=second)

        rebalancing = f"Heartbeat failed for group {d.name} because it is rebalancing"

        async def giving_up_partitions() -> bool:
            return rebalancing in first_log.read_text(errors="replace")

        await wait_for(giving_up_partitions, 60, "the first worker to be rebalancing", 0.05)
        d.kill(first)
        await producing

        await d.wait_healthy(port=second, timeout=120)
        await wait_for(lambda: exact(d, sums(records)), 240, "every exact balance", interval=1)
        assert sorted(await tier_changes_stored(d)) == sorted(changes)
        await d.wait_settled(timeout=120)
        assert await tier_changes_sent(d) == changes
        assert all(proc.poll() is None for proc in d.workers), d.log_tail()
    finally:
        release_test_port(second)
