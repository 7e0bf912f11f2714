"""Running a worker for a benchmark: an isolated deployment, its process, its metrics, its
memory. Benchmarks never share topics or schemas with anything else."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from sinks.migrate import migrate
from streams.codec import DEPOSIT_TRANSACTION, AvroCodec
from streams.settings import Settings
from streams.topics import delete_deployment_topics, ensure_topics

ROOT = Path(__file__).resolve().parents[1]
CODEC = AvroCodec()
T0 = 1_764_000_000_000


def postings(n: int, customers: int, seed: int = 1, start_ms: int = T0) -> Iterator[dict[str, Any]]:
    """A posting feed that walks customers across the tier bounds: deposits and withdrawals of
    everyday sizes, now and then a large one; every customer appears."""
    rng = random.Random(seed)
    balances = [0] * customers
    for i in range(n):
        c = i if i < customers else rng.randrange(customers)
        roll = rng.random()
        if i < customers or roll < 0.55:
            fen = rng.choice(
                (rng.randrange(100_00, 20_000_00), rng.randrange(1_000_00, 800_000_00))
            )
            kind = "DEPOSIT"
            balances[c] += fen
        else:
            fen = max(min(rng.randrange(100_00, 30_000_00), balances[c]), 1)
            kind = "WITHDRAWAL"
            balances[c] -= fen
        yield {
            "txn_id": f"B{seed}-{i}",
            "customer_id": f"C{c:07d}",
            "account_id": f"C{c:07d}-A1",
            "txn_type": kind,
            "amount": Decimal(fen).scaleb(-2),
            "currency": "CNY",
            "channel": "OTHER",
            "branch_id": None,
            "product_code": None,
            "event_time": start_ms + i * 10,
        }


async def produce(
    settings: Settings, records: Iterator[dict[str, Any]], progress: Any = None
) -> int:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        acks="all",
        linger_ms=20,
        max_batch_size=1_048_576,
        compression_type=None,
    )
    await producer.start()
    topic = settings.topic("deposit-transactions")
    sent = 0
    try:
        for record in records:
            await producer.send(
                topic,
                key=record["customer_id"].encode(),
                value=CODEC.encode(DEPOSIT_TRANSACTION, record),
            )
            sent += 1
            if progress is not None and sent % 10_000 == 0:
                progress(sent)
        await producer.flush()
    finally:
        await producer.stop()
    return sent


@dataclass
class BenchDeployment:
    name: str = field(default_factory=lambda: f"bench{uuid.uuid4().hex[:8]}")
    web_port: int = 6075  # scraped by the local Prometheus, like the tests' range
    partitions: int = 8
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIERING_")}
        env.update(
            TIERING_APP_ID=self.name,
            TIERING_TOPIC_PREFIX=f"{self.name}.",
            TIERING_WEB_PORT=str(self.web_port),
            TIERING_TOPIC_PARTITIONS=str(self.partitions),
            TIERING_DATA_DIR=str(ROOT / ".local" / "bench" / self.name),
        )
        return env

    @property
    def settings(self) -> Settings:
        return Settings(
            app_id=self.name,
            topic_prefix=f"{self.name}.",
            web_port=self.web_port,
            topic_partitions=self.partitions,
        )

    async def prepare(self) -> None:
        await ensure_topics(self.settings)
        await migrate(self.settings.database_url.get_secret_value(), self.settings.db_schema)

    def start(self, log: Path, *extra: str) -> None:
        self.started_at = time.monotonic()
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "streams",
                    "worker",
                    "--loglevel",
                    "warning",
                    "--no-delivery",
                    *extra,
                ],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def rss_bytes(self) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def _get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, ""
        except OSError:
            return 0, ""

    async def wait_healthy(self, timeout: float = 600) -> float:
        """Seconds from start until /healthz answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}")
            status, _ = await asyncio.to_thread(self._get, "/healthz")
            if status == 200:
                return time.monotonic() - self.started_at
            await asyncio.sleep(0.1)
        raise TimeoutError("worker not healthy")

    async def metric(self, name: str, **labels: str) -> float:
        _, text = await asyncio.to_thread(self._get, "/metrics")
        return sum(
            s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    async def wait_processed(self, n: int, timeout: float = 1800, on_progress: Any = None) -> float:
        """Monotonic time when the worker has handled ``n`` postings (processed or duplicate)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = await self.metric("tiering_events_total", topic="deposit-transactions")
            if on_progress is not None:
                on_progress(done)
            if done >= n:
                return time.monotonic()
            await asyncio.sleep(0.2)
        raise TimeoutError(f"worker did not handle {n} postings")

    async def drop(self) -> None:
        await delete_deployment_topics(self.settings)
        conn = await asyncpg.connect(self.settings.database_url.get_secret_value())
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{self.settings.db_schema}" CASCADE')
        finally:
            await conn.close()
