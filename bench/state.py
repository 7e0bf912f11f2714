"""The tables on disk, measured against the real local Kafka: how soon a worker handles postings
again after a cold start (no data directory), a SIGKILL and restart with its data directory, and
the loss of a worker whose partitions a standby copy holds; and a run at bank scale."""

from __future__ import annotations

import itertools
import shutil
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.feed import postings
from bench.measure import LOGS, bar, bench_deployment, preload, settled_rss, start_worker
from tests.harness.deployment import Deployment, release_test_port, take_test_port
from tests.harness.records import T0
from tests.harness.waiting import wait_for
from tiering.runtime.agents import LEDGER_TABLE
from tiering.runtime.app import STANDBY_BUFFER

#: the worker's static member name, as a StatefulSet gives its pod (TIERING_INSTANCE_ID)
INSTANCE = "bench-worker-0"
#: postings sent to see a worker handle work again: new customers over every partition
PROBES = 64
_probe_rounds = itertools.count(1)


async def handles_again(d: Deployment, port: int | None = None) -> float:
    """Seconds from the last worker's start until it (on ``port``) has handled a posting of
    each of :data:`PROBES` new customers, which cover every partition."""
    await d.wait_healthy(port=port, timeout=1800)
    round_ = next(_probe_rounds)
    before = await d.metric("tiering_events_total", port=port, topic="deposit-transactions")
    probes = [
        dict(p, txn_id=f"P{round_}-{i}", customer_id=f"P{i:03d}", account_id=f"P{i:03d}-A1")
        for i, p in enumerate(postings(PROBES, PROBES, seed=round_, start_ms=T0 + 10**10))
    ]
    await d.produce(probes)

    async def handled() -> bool:
        try:
            done = await d.metric("tiering_events_total", port=port, topic="deposit-transactions")
        except TimeoutError:  # busy taking partitions over: not yet
            return False
        return done >= before + PROBES

    await wait_for(handled, 600, f"the worker to handle {PROBES} new postings")
    return time.monotonic() - d.started_at


async def recovery(d: Deployment, customers: int) -> dict[str, Any]:
    """The worker of ``d`` holds ``customers``: a cold start, a restart with local state, and
    a standby failover, each until postings are handled again."""
    d.stop_workers(timeout=60)
    shutil.rmtree(d.data_dir(), ignore_errors=True)  # a new machine
    start_worker(d, INSTANCE)
    healthy = await d.wait_healthy(timeout=1800)
    cold = await handles_again(d)

    d.kill(d.workers[-1])
    start_worker(d, INSTANCE)  # as a StatefulSet's pod: the same static member, its volume
    restart = await handles_again(d)
    return {
        "customers": customers,
        "seconds_to_healthy": round(healthy, 2),
        "seconds_to_resume": round(cold, 2),
        "restart_local_s": round(restart, 2),
        "standby_failover_s": round(await standby_failover(d), 2),
    }


async def standby_failover(d: Deployment) -> float:
    """A second worker joins and copies the first's partitions as their standby; the first is
    killed: seconds until the second has handled postings of every partition."""
    second = take_test_port()
    try:
        d.start_worker(
            LOGS, port=second, loglevel="warning", delivery=False, instance_id="bench-worker-1"
        )
        await d.wait_healthy(port=second, timeout=1800)
        changelog = await changelog_records(d)

        # the second restores its own partitions and copies the first's: the whole changelog,
        # but for what waits in its standby buffer
        async def copied() -> bool:
            restored = await d.metric("tiering_state_restored_total", second, table=LEDGER_TABLE)
            return restored >= changelog - STANDBY_BUFFER * d.partitions

        await wait_for(copied, 1800, "the second worker's standby copy")
        first = d.workers[0]
        d.kill(first)
        killed_at = time.monotonic()
        d.started_at = killed_at
        await handles_again(d, port=second)
        return time.monotonic() - killed_at
    finally:
        d.stop_workers(timeout=60)
        release_test_port(second)


async def changelog_records(d: Deployment) -> int:
    """Records in the ledger table's changelog now."""
    consumer = AIOKafkaConsumer(bootstrap_servers=d.settings.bootstrap_servers)
    await consumer.start()
    try:
        topic = f"{d.name}-{LEDGER_TABLE}-changelog"
        tps = [TopicPartition(topic, p) for p in range(d.partitions)]
        return sum((await consumer.end_offsets(tps)).values())
    finally:
        await consumer.stop()


def disk_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


async def scale(customers: int) -> dict[str, Any]:
    """One posting each for ``customers`` customers through one worker, then a SIGKILL and a
    restart with its data directory: heap, disk and restart time at bank scale."""
    d = bench_deployment()
    await d.prepare()
    try:
        await preload(d, customers, customers, seed=3)
        proc = start_worker(d, INSTANCE)
        await d.wait_healthy(timeout=1800)
        progress, task = bar("worker: customers loaded", customers)
        with progress:
            await d.wait_processed(
                customers,
                timeout=max(1800, customers / 1000),  # a worker loads a few thousand per second
                on_progress=lambda done: progress.update(task, completed=int(done)),
            )
        load = time.monotonic() - d.started_at
        rss = await settled_rss(d, proc)
        d.kill(proc)
        on_disk = disk_bytes(d.data_dir())
        start_worker(d, INSTANCE)
        restart = await handles_again(d)
        return {
            "customers": customers,
            "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "load_s": round(load, 1),
            "restart_local_s": round(restart, 2),
            "disk_bytes_per_customer": round(on_disk / customers),
            "rss_bytes": rss,
        }
    finally:
        d.stop_workers(timeout=60)
        await d.drop()
