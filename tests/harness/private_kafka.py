"""An Apache Kafka broker of the tests' own, for the tests that stop the broker: the shared one
(``make up``) is never stopped. The same jars and settings as the local launcher
(``deploy/local/kafka.sh``), a temporary data directory and free loopback ports."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: the broker's jars, fetched by ``make up``
LIBS = ROOT / ".local" / "kafka" / "libs"
CONFIG = ROOT / "deploy" / "local" / "kafka"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateKafka:
    """One KRaft broker: ``start()`` formats it the first time; ``stop()`` (SIGTERM, a clean
    shutdown) and ``start()`` again keep its data and port."""

    def __init__(self) -> None:
        if not any(LIBS.glob("kafka_*.jar")):
            raise RuntimeError(f"no Kafka jars in {LIBS}: run `make up` (it fetches them)")
        self.root = Path(tempfile.mkdtemp(prefix="tiering-kafka-"))
        self.port = free_port()
        self.controller_port = free_port()
        self.log = self.root / "kafka.out"
        self._process: subprocess.Popen[bytes] | None = None
        properties = (CONFIG / "server.properties").read_text()
        properties = (
            properties.replace("@DATA@", str(self.root / "data"))
            .replace("127.0.0.1:9093", f"127.0.0.1:{self.controller_port}")
            .replace("127.0.0.1:9092", f"127.0.0.1:{self.port}")
        )
        self.properties = self.root / "server.properties"
        self.properties.write_text(properties)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _java(self, *args: str) -> list[str]:
        return ["java", "-Xms128m", "-Xmx512m", "-cp", f"{LIBS}/*", *args]

    def start(self, timeout: float = 90) -> None:
        if not (self.root / "data" / "meta.properties").exists():
            cluster = subprocess.run(
                self._java("kafka.tools.StorageTool", "random-uuid"),
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
            ).stdout.split()[-1]
            subprocess.run(
                self._java(
                    "kafka.tools.StorageTool", "format", "-t", cluster, "-c", str(self.properties)
                ),
                capture_output=True,
                check=True,
                timeout=120,
            )
        with self.log.open("ab") as out:
            self._process = subprocess.Popen(
                [
                    *self._java(
                        f"-Dlog4j.configuration=file:{CONFIG / 'log4j.properties'}",
                        f"-Dkafka.logs.dir={self.root}",
                        "kafka.Kafka",
                        str(self.properties),
                    )
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        started = self.root / "kafka.log"  # log4j's file
        while not self._answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the test broker did not start:\n{started.read_text()[-3000:]}")
            time.sleep(0.2)

    def _answers(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self, timeout: float = 60) -> None:
        """A clean shutdown (SIGTERM), waited for."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def remove(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        shutil.rmtree(self.root, ignore_errors=True)
