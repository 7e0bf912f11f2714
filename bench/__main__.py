"""``make bench``: throughput, latency, memory and recovery of one worker against the real local
Kafka, next to the ceiling of one Python process, measured in the same run (these machines are
shared and noisy: ratios in one run say more than absolute numbers across runs)."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import click
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.harness import CODEC, ROOT, T0, BenchDeployment, postings, produce
from streams.codec import DEPOSIT_TRANSACTION, TIER_CHANGE
from streams.topics import partitions_of

RESULTS = ROOT / "bench" / "results"
console = Console()

TARGETS = {
    "pipeline_ratio": 0.5,  # of the limit, same run
    "pipeline_rate": 30_000,  # postings/s
    "p99_at_5000_ms": 100,
    "state_bytes_per_customer": 300,
    "recovery_1m_s": 60,
}


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        int(line.split()[1]) // 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_mib": mem,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def bar(description: str, total: int | None) -> tuple[Progress, Any]:
    progress = Progress(
        TextColumn(f"[bold]{description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    return progress, progress.add_task(description, total=total)


async def preload(d: BenchDeployment, n: int, customers: int, seed: int) -> float:
    progress, task = bar(f"producing {n:,} postings", n)
    started = time.monotonic()
    with progress:
        await produce(
            d.settings,
            postings(n, customers, seed),
            lambda sent: progress.update(task, completed=sent),
        )
        progress.update(task, completed=n)
    return n / (time.monotonic() - started)


async def limit(d: BenchDeployment, n: int) -> dict[str, Any]:
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
    topic = d.settings.topic("deposit-transactions")
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


def faust_floor(d: BenchDeployment, n: int) -> dict[str, Any]:
    """What Faust itself costs: take batches and acknowledge them, nothing else."""
    env = {
        **os.environ,
        "BENCH_TOPIC": d.settings.topic("deposit-transactions"),
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


def profile_start(pid: int, out: Path, seconds: int) -> subprocess.Popen[bytes]:
    """py-spy, sampling without pausing the worker, collapsed stacks for the top costs."""
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(seconds),
            "--rate",
            "50",
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def top_costs(collapsed: Path, limit_to: int = 15) -> list[dict[str, Any]]:
    """Self time and total time per function from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    return [
        {
            "function": frame,
            "self_share": round(n / total, 3),
            "total_share": round(inclusive[frame] / total, 3),
        }
        for frame, n in own.most_common(limit_to)
    ]


async def pipeline(d: BenchDeployment, n: int, log: Path, profile_seconds: int) -> dict[str, Any]:
    d.start(log)
    healthy = await d.wait_healthy()
    assert d.proc is not None
    spy = profile_start(d.proc.pid, RESULTS / "pipeline-profile.txt", profile_seconds)
    progress, task = bar("worker: postings handled", n)
    first: float | None = None

    def seen(done: float) -> None:
        nonlocal first
        if first is None and done > 0:
            first = time.monotonic()
        progress.update(task, completed=int(done))

    with progress:
        done_at = await d.wait_processed(n, on_progress=seen)
    rss = d.rss_bytes()
    spy.wait(timeout=profile_seconds + 30)
    elapsed = done_at - d.started_at
    steady = done_at - (first or d.started_at)
    return {
        "postings": n,
        "seconds_from_start": round(elapsed, 2),
        "rate_from_start": round(n / elapsed),
        "seconds_steady": round(steady, 2),
        "rate_steady": round(n / steady),
        "startup_seconds": round(healthy, 2),
        "rss_bytes": rss,
    }


async def baseline_rss(log: Path) -> int:
    d = BenchDeployment()
    await d.prepare()
    try:
        d.start(log)
        await d.wait_healthy()
        await asyncio.sleep(2)  # settle: the worker has nothing to do
        return d.rss_bytes()
    finally:
        d.stop()
        await d.drop()


async def latency(rate: int, seconds: int, log: Path) -> dict[str, Any]:
    """Postings of new customers at a steady rate: each one's INITIAL TierChange is consumed and
    timed from the posting's produce."""
    d = BenchDeployment()
    await d.prepare()
    d.start(log)
    await d.wait_healthy()
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    changes = d.settings.topic("tier-changes")
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

    reader = asyncio.create_task(read())
    started = time.monotonic()
    topic = d.settings.topic("deposit-transactions")
    try:
        for i in range(total):
            txn = f"L{rate}-{i}"
            record = next(postings(1, 1, seed=i, start_ms=T0 + i))
            record.update(txn_id=txn, customer_id=f"L{i:08d}", account_id=f"L{i:08d}-A1")
            value = CODEC.encode(DEPOSIT_TRANSACTION, record)
            ahead = i / rate - (time.monotonic() - started)
            if ahead > 0:
                await asyncio.sleep(ahead)
            sent_at[txn] = time.monotonic()
            await producer.send(topic, key=record["customer_id"].encode(), value=value)
        await asyncio.wait_for(reader, timeout=120)
    finally:
        reader.cancel()
        await producer.stop()
        await consumer.stop()
        d.stop()
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


async def recovery(d: BenchDeployment, customers: int, log: Path) -> dict[str, Any]:
    """A fresh worker of the same deployment rebuilds the customers' state from the changelog,
    then takes up new postings."""
    d.stop()
    d.start(log)
    healthy = await d.wait_healthy(timeout=900)
    before = await d.metric("tiering_events_total", topic="deposit-transactions")
    await produce(d.settings, iter([next(postings(1, 1, seed=99, start_ms=T0 + 10**9))]))
    resumed_at = await d.wait_processed(int(before) + 1)
    return {
        "customers": customers,
        "seconds_to_healthy": round(healthy, 2),
        "seconds_to_resume": round(resumed_at - d.started_at, 2),
    }


@click.command()
@click.option("--postings", "n", default=1_000_000, show_default=True)
@click.option("--customers", default=100_000, show_default=True)
@click.option(
    "--big",
    default=1_000_000,
    show_default=True,
    help="Customers for the memory and recovery runs.",
)
@click.option("--latency-seconds", default=20, show_default=True)
def main(n: int, customers: int, big: int, latency_seconds: int) -> None:
    """Run every benchmark; write bench/results/*.json and docs/benchmarks.md."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    log = RESULTS / "workers.log"
    log.write_text("")
    results: dict[str, Any] = {"machine": machine(), "targets": TARGETS}

    async def run() -> None:
        console.rule("1. limit and 2. pipeline")
        d = BenchDeployment()
        await d.prepare()
        try:
            results["produce_rate"] = round(await preload(d, n, customers, seed=1))
            results["limit"] = await limit(d, n)
            console.print(f"limit: {results['limit']['rate']:,} postings/s")
            results["faust_floor"] = await asyncio.to_thread(faust_floor, d, n)
            console.print(f"Faust floor: {results['faust_floor']['rate']:,} events/s")
            results["pipeline"] = await pipeline(d, n, log, profile_seconds=30)
            p = results["pipeline"]
            console.print(
                f"pipeline: {p['rate_from_start']:,}/s from start, {p['rate_steady']:,}/s steady"
            )
        finally:
            d.stop()
            await d.drop()
        results["top_costs"] = top_costs(RESULTS / "pipeline-profile.txt")

        console.rule("3. latency")
        results["latency"] = [await latency(rate, latency_seconds, log) for rate in (1000, 5000)]
        for lat in results["latency"]:
            console.print(
                f"{lat['rate']}/s: p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, "
                f"max {lat['max_ms']} ms"
            )

        console.rule("4. memory and 5. recovery")
        base = await baseline_rss(log)
        memory: dict[str, Any] = {"baseline_rss_bytes": base, "runs": []}
        memory["runs"].append(
            {
                "customers": customers,
                "rss_bytes": results["pipeline"]["rss_bytes"],
                "bytes_per_customer": round((results["pipeline"]["rss_bytes"] - base) / customers),
            }
        )
        d = BenchDeployment()
        await d.prepare()
        try:
            await preload(d, big, big, seed=2)
            d.start(log)
            await d.wait_healthy()
            progress, task = bar("worker: customers loaded", big)
            with progress:
                await d.wait_processed(
                    big, on_progress=lambda done: progress.update(task, completed=int(done))
                )
            rss = d.rss_bytes()
            memory["runs"].append(
                {
                    "customers": big,
                    "rss_bytes": rss,
                    "bytes_per_customer": round((rss - base) / big),
                }
            )
            results["recovery"] = await recovery(d, big, log)
        finally:
            d.stop(signal.SIGTERM)
            await d.drop()
        results["memory"] = memory

    asyncio.run(run())
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2))
    from bench.report import write_report

    write_report(results)
    console.print(f"results in {RESULTS / 'latest.json'} and docs/benchmarks.md")


if __name__ == "__main__":
    main()
