"""Test helpers for the real services: isolated deployments, a worker process, producing and
reading topics, PostgreSQL queries, and waiting for conditions (never fixed sleeps)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from sinks.migrate import migrate
from streams.codec import DEPOSIT_TRANSACTION, AvroCodec
from streams.settings import Settings
from streams.topics import delete_deployment_topics, ensure_topics, partitions_of

T = TypeVar("T")
CODEC = AvroCodec()
ROOT = Path(__file__).resolve().parents[2]
#: ports the local Prometheus scrapes and no demo worker uses (deploy/prometheus/prometheus.yml)
TEST_PORTS = range(6070, 6076)
DAY_MS = 86_400_000


async def wait_for(
    probe: Callable[[], Awaitable[T]], timeout: float, what: str, interval: float = 0.2
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = await probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}"
            )
        await asyncio.sleep(interval)


_ports_in_use: set[int] = set()


def release_test_port(port: int) -> None:
    _ports_in_use.discard(port)


def take_test_port() -> int:
    """A port in the scraped test range that no live deployment of this session holds."""
    import socket

    for port in TEST_PORTS:
        if port in _ports_in_use:
            continue
        with socket.socket() as s:
            # as the worker's server does: a port left in TIME_WAIT by a scrape is free
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _ports_in_use.add(port)
        return port
    raise RuntimeError(f"no free port in {TEST_PORTS}")


def posting(
    txn_id: str,
    customer_id: str,
    amount: str | Decimal,
    txn_type: str = "DEPOSIT",
    event_time_ms: int = 1_764_000_000_000,
    account_id: str | None = None,
    currency: str = "CNY",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "txn_id": txn_id,
        "customer_id": customer_id,
        "account_id": account_id or f"{customer_id}-A1",
        "txn_type": txn_type,
        "amount": Decimal(amount),
        "currency": currency,
        "channel": extra.get("channel", "COUNTER"),
        "branch_id": extra.get("branch_id"),
        "product_code": extra.get("product_code"),
        "event_time": event_time_ms,
    }


def online(
    event_id: str,
    customer_id: str,
    event_type: str,
    event_time_ms: int,
    **extra: Any,
) -> dict[str, Any]:
    """An OnlineBehaviorEvent record."""
    return {
        "event_id": event_id,
        "customer_id": customer_id,
        "event_type": event_type,
        "channel": extra.get("channel", "MOBILE_APP"),
        "product_code": extra.get("product_code"),
        "product_category": extra.get("product_category"),
        "business_type": extra.get("business_type"),
        "rating": extra.get("rating"),
        "comment": extra.get("comment"),
        "event_time": event_time_ms,
    }


@dataclass
class Deployment:
    """One isolated deployment on the shared broker and database."""

    name: str
    web_port: int
    policy_file: Path | None = None
    partitions: int = 4
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIERING_")}
        env.update(
            TIERING_APP_ID=self.name,
            TIERING_TOPIC_PREFIX=f"{self.name}.",
            TIERING_WEB_PORT=str(self.web_port),
            TIERING_TOPIC_PARTITIONS=str(self.partitions),
            TIERING_DATA_DIR=str(ROOT / ".local" / "test-workers" / self.name),
        )
        if self.policy_file is not None:
            env["TIERING_POLICY_FILE"] = str(self.policy_file)
        return env

    @property
    def settings(self) -> Settings:
        return Settings(
            app_id=self.name,
            topic_prefix=f"{self.name}.",
            web_port=self.web_port,
            topic_partitions=self.partitions,
            policy_file=self.policy_file,
        )

    def topic(self, name: str) -> str:
        return self.settings.topic(name)

    async def prepare(self) -> None:
        await ensure_topics(self.settings)
        await migrate(self.settings.database_url.get_secret_value(), self.settings.db_schema)

    # --- workers --------------------------------------------------------------------------

    def start_worker(self, log_dir: Path, port: int | None = None) -> subprocess.Popen[bytes]:
        env = self.env
        if port is not None:
            env["TIERING_WEB_PORT"] = str(port)
        log = log_dir / f"worker-{self.name}-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "streams", "worker", "--loglevel", "info"],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.workers.append(proc)
        return proc

    async def wait_healthy(self, port: int | None = None, timeout: float = 90) -> None:
        url = f"http://127.0.0.1:{port or self.web_port}/healthz"

        async def healthy() -> bool:
            for proc in self.workers:
                if proc.poll() is not None:
                    raise AssertionError(
                        f"worker exited with {proc.returncode}:\n{self.log_tail()}"
                    )
            return await asyncio.to_thread(_http_status, url) == 200

        await wait_for(healthy, timeout, f"{url} to answer 200")

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL: no shutdown, no commit, nothing flushed."""
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        self.workers.remove(proc)

    def stop_workers(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.workers.clear()

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(
            f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
            for log in self.logs
            if log.exists()
        )

    async def metric(self, name: str, port: int | None = None, **labels: str) -> float:
        """Sum of the samples of ``name`` with ``labels`` on a worker's /metrics (0 if none)."""
        from prometheus_client.parser import text_string_to_metric_families

        text = await asyncio.to_thread(
            http_get, f"http://127.0.0.1:{port or self.web_port}/metrics"
        )
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
        )

    # --- Kafka ----------------------------------------------------------------------------

    async def produce(
        self,
        records: Iterable[dict[str, Any]],
        raw: Iterable[tuple[bytes | None, bytes]] = (),
        topic: str = "deposit-transactions",
        schema: str = DEPOSIT_TRANSACTION,
    ) -> int:
        """Postings (or, with ``topic``/``schema``, other contract records) and raw messages."""
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
        )
        await producer.start()
        topic = self.topic(topic)
        sent = 0
        try:
            for record in records:
                await producer.send(
                    topic,
                    key=record["customer_id"].encode(),
                    value=CODEC.encode(schema, record),
                )
                sent += 1
            for key, value in raw:
                await producer.send(topic, key=key, value=value)
                sent += 1
            await producer.flush()
        finally:
            await producer.stop()
        return sent

    async def read_topic(
        self, name: str, until: Callable[[list[Any]], bool], timeout: float = 60
    ) -> list[Any]:
        """Every record of topic ``name`` from the beginning, until ``until(records)`` holds."""
        topic = self.topic(name) if not name.startswith(self.name) else name
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.bootstrap_servers,
            enable_auto_commit=False,
            group_id=None,
        )
        await consumer.start()
        records: list[Any] = []
        try:
            tps = [TopicPartition(topic, p) for p in await partitions_of(self.settings, topic)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)

            async def more() -> bool:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    records.extend(batch)
                return until(records)

            try:
                await wait_for(more, timeout, f"records on {topic}", interval=0)
            except AssertionError as exc:
                raise AssertionError(f"{exc}; read {len(records)} records") from None
        finally:
            await consumer.stop()
        return records

    # --- PostgreSQL -----------------------------------------------------------------------

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(
            self.settings.database_url.get_secret_value(),
            server_settings={"search_path": self.settings.db_schema},
        )
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def drop(self) -> None:
        """Remove this deployment's topics and schema."""
        release_test_port(self.web_port)
        await delete_deployment_topics(self.settings)
        conn = await asyncpg.connect(self.settings.database_url.get_secret_value())
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{self.settings.db_schema}" CASCADE')
        finally:
            await conn.close()


def new_deployment(label: str, **kwargs: Any) -> Deployment:
    return Deployment(name=f"t{label}{uuid.uuid4().hex[:8]}", web_port=take_test_port(), **kwargs)


def _http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def http_get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


#: the Prometheus the local launcher starts (deploy/prometheus/prometheus.yml scrapes TEST_PORTS)
PROMETHEUS = os.environ.get("TIERING_PROMETHEUS_URL", "http://127.0.0.1:9090").rstrip("/")


async def promql(query: str) -> list[dict[str, Any]]:
    """The result of an instant PromQL query on the local Prometheus."""
    url = f"{PROMETHEUS}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    body = json.loads(await asyncio.to_thread(http_get, url))
    assert body["status"] == "success", body
    return list(body["data"]["result"])
