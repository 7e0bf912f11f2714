"""``make bench``: throughput, latency, memory and recovery of one worker against the real local
Kafka, next to the ceiling of one Python process, measured in the same run (these machines are
shared and noisy: ratios in one run say more than absolute numbers across runs)."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import click

from bench.measure import (
    RESULTS,
    bar,
    baseline_rss,
    bench_deployment,
    console,
    faust_floor,
    latency,
    limit,
    pipeline,
    preload,
    settled_rss,
    start_worker,
)
from bench.policy import simulate_at_scale, state_cost
from bench.profile import top_costs
from bench.quix_peer import quix_peer
from bench.scaleout import two_workers
from bench.state import recovery, scale

TARGETS = {
    "pipeline_ratio": 0.5,  # of the limit, same run
    "pipeline_rate": 30_000,  # postings/s
    "p99_at_1000_ms": 100,
    "p99_at_5000_ms": 100,
    "p99_at_10000_ms": 250,
    "per_cpu_vs_quixstreams": 1.0,  # the worker's postings per CPU-second ÷ the peer's
    "state_bytes_per_customer": 100,  # worker heap per customer, tables on disk
    "recovery_1m_s": 30,  # cold: no data directory, the whole changelog
    "restart_local_s": 10,  # SIGKILL, restart with the data directory
    "standby_failover_s": 10,
    "policy_simulate_1m_s": 60,  # tiering policy simulate over 1,000,000 customers
}
PROFILE = RESULTS / "pipeline-profile.txt"
#: the web ports of the two-worker run: the bench port and the test port below it, both
#: scraped by the local Prometheus
TWO_PORTS = (6075, 6074)
LATENCY_RATES = (1000, 5000, 10000)


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
        "kafka": kafka_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def kafka_version() -> str:
    """The Kafka release the local launcher fetched (``make up``; KAFKA_VERSION chooses it)."""
    libs = Path(__file__).resolve().parents[1] / ".local" / "kafka" / "libs"
    jars = sorted(libs.glob("kafka_2.13-*.jar"))
    names = [j.name.removeprefix("kafka_2.13-").removesuffix(".jar") for j in jars]
    releases = [n for n in names if n[:1].isdigit() and "-" not in n]
    return releases[0] if releases else "unknown"


async def throughput(results: dict[str, Any], n: int, customers: int) -> None:
    """1. the limit, Faust's floor, and 2. the pipeline, on one preloaded deployment."""
    console.rule("1. limit and 2. pipeline")
    d = bench_deployment()
    await d.prepare()
    try:
        results["produce_rate"] = round(await preload(d, n, customers, seed=1))
        results["limit"] = await limit(d, n)
        console.print(f"limit: {results['limit']['rate']:,} postings/s")
        results["faust_floor"] = await asyncio.to_thread(faust_floor, d, n)
        console.print(f"Faust floor: {results['faust_floor']['rate']:,} events/s")
        results["pipeline"] = await pipeline(d, n, PROFILE, profile_seconds=30)
        p = results["pipeline"]
        console.print(
            f"pipeline: {p['rate_from_start']:,}/s from start, {p['rate_steady']:,}/s steady, "
            f"{p['rate_per_cpu_s']:,} per CPU-second"
        )
        d.stop_workers(timeout=60)
        console.print("peer: Quix Streams on the same postings")
        peer = await asyncio.to_thread(quix_peer, d, n)
        results["peer"] = {"quixstreams": peer}
        console.print(
            f"Quix Streams {peer['version']}: {peer['rate_steady']:,}/s steady, "
            f"{peer['rate_per_cpu_s']:,} per CPU-second"
        )
    finally:
        d.stop_workers(timeout=60)
        await d.drop()
    results["top_costs"] = top_costs(PROFILE)
    console.rule("2b. two workers")
    d = bench_deployment()
    await d.prepare()
    try:
        await preload(d, n, customers, seed=1)
        results["pipeline_two_workers"] = await two_workers(d, n, customers, 1, TWO_PORTS)
        two = results["pipeline_two_workers"]
        console.print(f"two workers: {two['rate_steady']:,}/s steady, exact: {two['exact']}")
    finally:
        d.stop_workers(timeout=60)
        await d.drop()


async def latencies(results: dict[str, Any], seconds: int) -> None:
    console.rule("3. latency")
    results["latency"] = [await latency(rate, seconds) for rate in LATENCY_RATES]
    for lat in results["latency"]:
        console.print(
            f"{lat['rate']}/s: p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, "
            f"max {lat['max_ms']} ms"
        )


async def memory_and_recovery(results: dict[str, Any], customers: int | None, big: int) -> None:
    """``customers``: of this run's pipeline, whose RSS is a memory run too (None: not run)."""
    console.rule("4. memory and 5. recovery")
    base = await baseline_rss()
    memory: dict[str, Any] = {"baseline_rss_bytes": base, "runs": []}
    if customers is not None:
        pipeline_rss = results["pipeline"]["rss_bytes"]
        memory["runs"].append(
            {
                "customers": customers,
                "rss_bytes": pipeline_rss,
                "bytes_per_customer": round((pipeline_rss - base) / customers),
            }
        )
    d = bench_deployment()
    await d.prepare()
    try:
        await preload(d, big, big, seed=2)
        proc = start_worker(d)
        await d.wait_healthy(timeout=600)
        progress, task = bar("worker: customers loaded", big)
        with progress:
            await d.wait_processed(
                big, on_progress=lambda done: progress.update(task, completed=int(done))
            )
        rss = await settled_rss(d, proc)
        memory["runs"].append(
            {"customers": big, "rss_bytes": rss, "bytes_per_customer": round((rss - base) / big)}
        )
        results["recovery"] = await recovery(d, big)
    finally:
        d.stop_workers(timeout=60)
        await d.drop()
    results["memory"] = memory


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
@click.option(
    "--scale",
    "scale_customers",
    default=0,
    show_default=True,
    help="Customers for the bank-scale run (10000000 for the issue's; 0: skip it, it takes "
    "about an hour here).",
)
@click.option(
    "--only",
    type=click.Choice(["all", "state", "scale", "policy"]),
    default="all",
    show_default=True,
    help="state: only memory, recovery and scale; scale: only the bank-scale run; policy: only "
    "tiering policy simulate at 1,000,000 customers and the average basis's state cost. Each "
    "keeps the other results of latest.json.",
)
def main(
    n: int, customers: int, big: int, latency_seconds: int, scale_customers: int, only: str
) -> None:
    """Run every benchmark; write bench/results/*.json and docs/benchmarks.md."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    latest = RESULTS / "latest.json"
    results: dict[str, Any] = {"machine": machine(), "targets": TARGETS}
    before = json.loads(latest.read_text()) if latest.exists() else {}
    if only != "all":
        # the other results keep the machine and day they were measured on
        results = {**before, "targets": TARGETS, "machine": before.get("machine", machine())}
    elif not scale_customers and "scale" in before:
        results["scale"] = before["scale"]  # an hour's run: kept until run again

    async def run() -> None:
        if only == "all":
            await throughput(results, n, customers)
            await latencies(results, latency_seconds)
        if only in ("all", "state"):
            await memory_and_recovery(results, customers if only == "all" else None, big)
        if only in ("all", "policy"):
            console.rule("7. policy versions")
            results["policy"] = {
                "state_cost": state_cost(),
                "simulate": await simulate_at_scale(1_000_000),
                "measured_at": machine()["date"],
            }
        if scale_customers:
            console.rule("6. bank scale")
            results["scale"] = await scale(scale_customers)

    asyncio.run(run())
    latest.write_text(json.dumps(results, indent=2))
    from bench.report import write_report

    write_report(results)
    console.print(f"results in {RESULTS / 'latest.json'} and docs/benchmarks.md")


if __name__ == "__main__":
    main()
