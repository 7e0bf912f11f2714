"""Each measurement of ``make bench``, against the real local Kafka: the limit of one Python
process, Faust's own floor, the pipeline, latency, memory and recovery."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.cpu import CpuWindow
from bench.feed import postings
from bench.profile import profile_start
from tests.harness.deployment import ROOT, Deployment
from tests.harness.records import CODEC, T0
from tiering.runtime.memory import RELEASE_EVERY
from tiering.wire.codec import DEPOSIT_TRANSACTION, TIER_CHANGE
from tiering.wire.topics import partitions_of

RESULTS = ROOT / "bench" / "results"
LOGS = RESULTS / "logs"
console = Console()


def bench_deployment() -> Deployment:
    """Scraped by the local Prometheus, like the tests' ports; 8 partitions as by default."""
    return Deployment(name=f"bench{uuid.uuid4().hex[:8]}", web_port=6075, partitions=8)


def start_worker(
    d: Deployment, instance_id: str = "", port: int | None = None
) -> subprocess.Popen[bytes]:
    LOGS.mkdir(parents=True, exist_ok=True)
    return d.start_worker(LOGS, port, loglevel="warning", delivery=False, instance_id=instance_id)


def bar(description: str, total: int | None) -> tuple[Progress, Any]:
    progress = Progress(
        TextColumn(f"[bold]{description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    return progress, progress.add_task(description, total=total)


async def preload(d: Deployment, n: int, customers: int, seed: int) -> float:
    progress, task = bar(f"producing {n:,} postings", n)
    started = time.monotonic()
    with progress:
        await d.produce(
            postings(n, customers, seed),
            progress=lambda sent: progress.update(task, completed=sent),
        )
        progress.update(task, completed=n)
    return n / (time.monotonic() - started)


async def limit(d: Deployment, n: int) -> dict[str, Any]:
    """The ceiling: a bare aiokafka consumer that decodes every posting with fastavro and adds
    it to a dict. Nothing is produced, stored or acknowledged."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=d.settings.bootstrap_servers,
        enable_auto_commit=False,
        group_id=None,
        max_partition_fetch_bytes=8 * 1_048_576,
        fetch_max_bytes=64 * 1_048_576,
    )
    await consumer.start()
    topic = d.topics.transactions
    tps = [TopicPartition(topic, p) for p in await partitions_of(d.settings, topic)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    totals: dict[str, Any] = {}
    seen = 0
    started = None
    try:
        while seen < n:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            if started is None and batches:
                started = time.monotonic()
            for records in batches.values():
                for record in records:
                    _, posting = CODEC.decode(record.value, expect=DEPOSIT_TRANSACTION)
                    customer = posting["customer_id"]
                    totals[customer] = totals.get(customer, 0) + posting["amount"]
                    seen += 1
        elapsed = time.monotonic() - (started or time.monotonic())
    finally:
        await consumer.stop()
    return {"postings": seen, "seconds": round(elapsed, 2), "rate": round(seen / elapsed)}


def faust_floor(d: Deployment, n: int) -> dict[str, Any]:
    """What Faust itself costs: take batches and acknowledge them, nothing else."""
    env = {
        **os.environ,
        "BENCH_TOPIC": d.topics.transactions,
        "BENCH_N": str(n),
        "BENCH_GROUP": f"{d.name}-floor",
    }
    out = subprocess.run(
        [sys.executable, "-m", "bench.faust_floor", "worker"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    rate = next(
        (
            int(line.split("FLOOR ")[1])
            for line in out.stdout.splitlines() + out.stderr.splitlines()
            if "FLOOR " in line
        ),
        0,
    )
    return {"postings": n, "rate": rate}


async def pipeline(d: Deployment, n: int, profile: Path, profile_seconds: int) -> dict[str, Any]:
    proc = start_worker(d)
    healthy = await d.wait_healthy(timeout=600)
    spy = profile_start(proc.pid, profile, profile_seconds)
    progress, task = bar("worker: postings handled", n)
    first: float | None = None
    cpu = CpuWindow([proc])

    def seen(done: float) -> None:
        nonlocal first
        if first is None and done > 0:
            first = time.monotonic()
            cpu.start()
        progress.update(task, completed=int(done))

    with progress:
        done_at = await d.wait_processed(n, on_progress=seen)
    cpu.stop()
    spy.wait(timeout=profile_seconds + 30)
    rss = await settled_rss(d, proc)
    elapsed = done_at - d.started_at
    steady = done_at - (first or d.started_at)
    return {
        "postings": n,
        "seconds_from_start": round(elapsed, 2),
        "rate_from_start": round(n / elapsed),
        "seconds_steady": round(steady, 2),
        "rate_steady": round(n / steady),
        # the worker's CPU over the same window, all its threads: work per CPU-second
        "cpu_seconds": cpu.seconds,
        "rate_per_cpu_s": round(n / cpu.seconds),
        "startup_seconds": round(healthy, 2),
        "rss_bytes": rss,
    }


async def settled_rss(d: Deployment, proc: subprocess.Popen[bytes]) -> int:
    """The worker's resident memory once it has handed what it freed back to the system
    (every ``RELEASE_EVERY`` seconds): what it holds, not the peak of the load before."""
    await asyncio.sleep(RELEASE_EVERY + 5)
    return d.rss_bytes(proc)


async def baseline_rss() -> int:
    d = bench_deployment()
    await d.prepare()
    try:
        proc = start_worker(d)
        await d.wait_healthy(timeout=600)
        return await settled_rss(d, proc)  # the worker has nothing to do
    finally:
        d.stop_workers(timeout=60)
        await d.drop()


async def latency(rate: int, seconds: int) -> dict[str, Any]:
    """Postings of new customers at a steady rate: each one's INITIAL TierChange is consumed and
    timed from the posting's produce."""
    d = bench_deployment()
    await d.prepare()
    start_worker(d)
    await d.wait_healthy(timeout=600)
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    changes = d.topics.tier_changes
    consumer = AIOKafkaConsumer(
        bootstrap_servers=d.settings.bootstrap_servers, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    tps = [TopicPartition(changes, p) for p in await partitions_of(d.settings, changes)]
    consumer.assign(tps)
    await consumer.seek_to_end(*tps)
    for tp in tps:
        await consumer.position(tp)
    producer = AIOKafkaProducer(
        bootstrap_servers=d.settings.bootstrap_servers, acks="all", linger_ms=0
    )
    await producer.start()
    total = rate * seconds

    async def read() -> None:
        while len(latencies) < total:
            for records in (await consumer.getmany(timeout_ms=100)).values():
                now = time.monotonic()
                for record in records:
                    _, change = CODEC.decode(record.value, expect=TIER_CHANGE)
                    started = sent_at.pop(change["trigger_event_id"], None)
                    if started is not None:
                        latencies.append(now - started)

    topic = d.topics.transactions
    # built beforehand, so that the sending loop keeps the rate at 10,000/s too
    outgoing = []
    for i in range(total):
        record = next(postings(1, 1, seed=i, start_ms=T0 + i))
        record.update(txn_id=f"L{rate}-{i}", customer_id=f"L{i:08d}", account_id=f"L{i:08d}-A1")
        value = CODEC.encode(DEPOSIT_TRANSACTION, record)
        outgoing.append((record["txn_id"], record["customer_id"].encode(), value))
    reader = asyncio.create_task(read())
    started = time.monotonic()
    try:
        for i, (txn, key, value) in enumerate(outgoing):
            ahead = i / rate - (time.monotonic() - started)
            if ahead > 0:
                await asyncio.sleep(ahead)
            sent_at[txn] = time.monotonic()
            await producer.send(topic, key=key, value=value)
        await asyncio.wait_for(reader, timeout=120)
    finally:
        reader.cancel()
        await producer.stop()
        await consumer.stop()
        d.stop_workers(timeout=60)
        await d.drop()
    ms = sorted(x * 1000 for x in latencies)
    return {
        "rate": rate,
        "postings": total,
        "p50_ms": round(statistics.median(ms), 1),
        "p99_ms": round(ms[int(len(ms) * 0.99) - 1], 1),
        "max_ms": round(ms[-1], 1),
        "samples_ms": ms[:: max(len(ms) // 500, 1)],
    }
