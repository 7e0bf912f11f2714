"""Isolated deployments on the shared local Kafka and PostgreSQL (or, with ``services``, on
another broker and database, such as the tests' own in tests/harness/private/), for tests and
benchmarks: each has its own app id, topic prefix, schema and web port, its worker processes,
and is deleted afterwards. Conditions are waited for, never slept on."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from tests.harness import kafka
from tests.harness.prometheus import http_status, scrape
from tests.harness.waiting import wait_for
from tiering.settings import Settings
from tiering.sinks.postgres.connection import connect
from tiering.sinks.postgres.migrate import migrate
from tiering.wire.codec import DEPOSIT_TRANSACTION
from tiering.wire.topics import (
    DEPOSIT_TRANSACTIONS,
    ONLINE_BEHAVIOR,
    DeploymentTopics,
    delete_deployment_topics,
    ensure_topics,
)

ROOT = Path(__file__).resolve().parents[2]
#: ports the local Prometheus scrapes and no demo worker uses (deploy/prometheus/prometheus.yml)
TEST_PORTS = range(6070, 6076)

_ports_in_use: set[int] = set()


def take_test_port() -> int:
    """A port in the scraped test range that no live deployment of this session holds."""
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


def release_test_port(port: int) -> None:
    _ports_in_use.discard(port)


def new_deployment(label: str, **kwargs: Any) -> Deployment:
    return Deployment(name=f"t{label}{uuid.uuid4().hex[:8]}", web_port=take_test_port(), **kwargs)


@dataclass
class Deployment:
    """One isolated deployment on the shared broker and database."""

    name: str
    web_port: int
    policy_file: Path | None = None
    partitions: int = 4
    #: the ``TIERING_KAFKA_*`` and ``TIERING_DATABASE_URL`` variables of the broker and the
    #: database it runs on (``PrivateKafka.env()``, ``PrivatePostgres.env()``); empty: the
    #: shared ones. Its processes, its settings and its clients in the tests all use them.
    services: dict[str, str] = field(default_factory=dict)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    #: monotonic time the last worker was started
    started_at: float = 0.0

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIERING_")}
        env.update(
            TIERING_APP_ID=self.name,
            TIERING_TOPIC_PREFIX=f"{self.name}.",
            TIERING_WEB_PORT=str(self.web_port),
            TIERING_TOPIC_PARTITIONS=str(self.partitions),
            TIERING_DATA_DIR=str(self.data_dir()),
        )
        env.update(self.services)
        if self.policy_file is not None:
            env["TIERING_POLICY_FILE"] = str(self.policy_file)
        return env

    def data_dir(self, port: int | None = None) -> Path:
        """The data directory of this deployment's worker on ``port`` (the deployment's own by
        default): a worker started again on the same port finds its tables; two workers never
        share one (RocksDB locks a database to one process)."""
        return ROOT / ".local" / "deployments" / self.name / str(port or self.web_port)

    @property
    def settings(self) -> Settings:
        where: dict[str, Any] = {
            name.removeprefix("TIERING_").lower(): value for name, value in self.services.items()
        }
        return Settings(
            **where,
            app_id=self.name,
            topic_prefix=f"{self.name}.",
            web_port=self.web_port,
            topic_partitions=self.partitions,
            policy_file=self.policy_file,
        )

    @property
    def topics(self) -> DeploymentTopics:
        return DeploymentTopics.of(self.settings)

    def topic(self, name: str) -> str:
        """The full name of a contract topic (or of an internal one, given in full)."""
        return name if name.startswith(f"{self.name}-") else self.settings.topic(name)

    async def prepare(self) -> None:
        await ensure_topics(self.settings)
        await migrate(self.settings)

    # --- workers --------------------------------------------------------------------------

    def start_worker(
        self,
        log_dir: Path,
        port: int | None = None,
        *,
        loglevel: str = "info",
        delivery: bool = True,
        instance_id: str = "",
    ) -> subprocess.Popen[bytes]:
        env = self.env
        if port is not None:
            env["TIERING_WEB_PORT"] = str(port)
            env["TIERING_DATA_DIR"] = str(self.data_dir(port))
        env["TIERING_INSTANCE_ID"] = instance_id
        command = ["worker", "--loglevel", loglevel]
        if not delivery:
            command.append("--no-delivery")
        self.started_at = time.monotonic()
        return self.start_command(log_dir, *command, env=env)

    def start_command(
        self, log_dir: Path, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """``tiering ARGS`` in this deployment (``env`` adds to or replaces its variables),
        its output in a log of the deployment; stopped with the workers."""
        log = log_dir / f"{args[0]}-{self.name}-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tiering", *args],
                env={**self.env, **(env or {})},
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.workers.append(proc)
        return proc

    async def wait_healthy(self, port: int | None = None, timeout: float = 90) -> float:
        """Seconds from the last worker's start until its ``/healthz`` answers 200."""
        url = f"http://127.0.0.1:{port or self.web_port}/healthz"

        async def healthy() -> bool:
            for proc in self.workers:
                if proc.poll() is not None:
                    raise AssertionError(
                        f"worker exited with {proc.returncode}:\n{self.log_tail()}"
                    )
            return await asyncio.to_thread(http_status, url) == 200

        await wait_for(healthy, timeout, f"{url} to answer 200", interval=0.1)
        return time.monotonic() - self.started_at

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL: no shutdown, no commit, nothing flushed."""
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        self.workers.remove(proc)

    def stop_workers(self, timeout: float = 30) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.workers.clear()

    @staticmethod
    def rss_bytes(proc: subprocess.Popen[bytes]) -> int:
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(
            f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
            for log in self.logs
            if log.exists()
        )

    # --- metrics --------------------------------------------------------------------------

    async def samples(
        self, name: str, port: int | None = None
    ) -> list[tuple[dict[str, str], float]]:
        """The samples of ``name`` on a worker's /metrics, with their labels."""
        found = await scrape(f"http://127.0.0.1:{port or self.web_port}/metrics")
        return found.get(name, [])

    async def metric(self, name: str, port: int | None = None, **labels: str) -> float:
        """Sum of the samples of ``name`` with ``labels`` on a worker's /metrics (0 if none)."""
        return sum(
            value
            for sample_labels, value in await self.samples(name, port)
            if all(sample_labels.get(k) == v for k, v in labels.items())
        )

    async def wait_processed(
        self, n: int, timeout: float = 1800, on_progress: Callable[[float], None] | None = None
    ) -> float:
        """Monotonic time when the worker has handled ``n`` postings (processed or duplicate)."""

        async def handled() -> bool:
            done = await self.metric("tiering_events_total", topic=DEPOSIT_TRANSACTIONS)
            if on_progress is not None:
                on_progress(done)
            return done >= n

        await wait_for(handled, timeout, f"the worker to handle {n} postings")
        return time.monotonic()

    # --- Kafka ----------------------------------------------------------------------------

    async def produce(
        self,
        records: Iterable[dict[str, Any]],
        raw: Iterable[tuple[bytes | None, bytes]] = (),
        topic: str = DEPOSIT_TRANSACTIONS,
        schema: str = DEPOSIT_TRANSACTION,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Postings (or, with ``topic``/``schema``, other contract records) and raw messages."""
        return await kafka.produce(self.settings, self.topic(topic), records, schema, raw, progress)

    async def read_to_end(self, name: str) -> list[Any]:
        """Every record of topic ``name`` up to its end offsets now."""
        return await kafka.read_to_end(self.settings, self.topic(name))

    async def read_until(
        self, name: str, until: Callable[[list[Any]], bool], timeout: float = 60
    ) -> list[Any]:
        """Records of topic ``name`` from the beginning, until ``until(records)`` holds."""
        return await kafka.read_until(self.settings, self.topic(name), until, timeout)

    async def wait_settled(self, timeout: float = 60) -> None:
        """Until the worker's group has committed all it reads: every output of the input so far
        is then on its topics (a batch's outputs are sent before it is committed)."""
        t = self.topics
        inputs = (
            self.topic(DEPOSIT_TRANSACTIONS),
            self.topic(ONLINE_BEHAVIOR),
            t.signals,
            t.rates,
            t.policies,
        )

        async def settled() -> bool:
            return not await kafka.unsettled(self.settings, self.name, inputs)

        await wait_for(settled, timeout, f"{self.name} to commit all it reads", interval=0.5)

    # --- PostgreSQL -----------------------------------------------------------------------

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await connect(self.settings, "tiering-tests")
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def drop(self) -> None:
        """Remove this deployment's topics, schema and data directories."""
        release_test_port(self.web_port)
        shutil.rmtree(self.data_dir().parent, ignore_errors=True)
        await delete_deployment_topics(self.settings)
        conn = await connect(self.settings, "tiering-tests")
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{self.settings.db_schema}" CASCADE')
        finally:
            await conn.close()
