"""A single-node KRaft Apache Kafka of the tests' own, run from the checkout's
``.local/kafka/libs`` (where ``make up`` fetches the broker's jars): to stop, kill and start
again in fault tests without touching the shared broker, and to speak TLS and SASL to."""

from __future__ import annotations

import base64
import secrets
import shutil
import signal
import subprocess
import uuid
from pathlib import Path
from typing import Literal

from tests.harness.private.process import free_ports, port_open, tail, wait_until
from tests.harness.private.tls import KeyPair, TestCA

ROOT = Path(__file__).resolve().parents[3]
#: where ``make up`` (deploy/local/kafka.sh) puts the broker's jars
LIBS = ROOT / ".local" / "kafka" / "libs"
#: the launcher's log configurations: log4j2 for Kafka 4, reload4j (log4j 1.x) for Kafka 3
LOG_CONFIGS = ROOT / "deploy" / "local" / "kafka"

#: the SASL mechanisms the SASL_SSL listener accepts, each for every user
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
#: how long a start may take on a busy two-core machine before it counts as failed
START_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0


def _log_config(libs: Path) -> str:
    """The JVM option that points the broker found in ``libs`` at the launcher's log
    configuration of its major version (so its log says "Kafka Server started" in
    ``kafka.log``): Kafka 4 logs through log4j2, Kafka 3 through reload4j."""
    jars = sorted(libs.glob("kafka_2.13-*.jar"))
    major = jars[0].name.removeprefix("kafka_2.13-").partition(".")[0] if jars else ""
    if major.isdigit() and int(major) >= 4:
        return f"-Dlog4j2.configurationFile=file:{LOG_CONFIGS / 'log4j2.yaml'}"
    return f"-Dlog4j.configuration=file:{LOG_CONFIGS / 'log4j.properties'}"


def _jaas_plain(users: dict[str, str]) -> str:
    entries = " ".join(f'user_{name}="{password}"' for name, password in users.items())
    return f"org.apache.kafka.common.security.plain.PlainLoginModule required {entries};"


class PrivateKafka:
    """One broker (also its own controller) in ``directory`` with three client listeners on
    loopback: PLAINTEXT (``bootstrap``), SASL_SSL with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512
    for every user of ``users`` (``sasl_ssl_bootstrap``), and SSL that requires a client
    certificate signed by the test CA (``ssl_bootstrap``, mutual TLS). Ports are chosen once,
    so a broker started again (after :meth:`stop` or :meth:`kill`) is found where it was, on
    the same data; storage is formatted once, at the first start."""

    def __init__(self, directory: Path, ca: TestCA) -> None:
        if not list(LIBS.glob("kafka_*.jar")):
            raise RuntimeError(
                f"no Kafka broker jars in {LIBS}: run `make up` once in this checkout "
                "(deploy/local/kafka.sh fetches them there)"
            )
        if shutil.which("java") is None:
            raise RuntimeError("java not found: the tests' own Kafka needs a JDK 17 or newer")
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.data_dir = directory / "data"
        self.log_file = directory / "kafka.log"
        self.ca = ca
        self.ca_file = ca.ca_file
        self.server_cert: KeyPair = ca.server("kafka-server")
        #: a client certificate the SSL listener accepts (its key encrypted with its password)
        self.client_cert: KeyPair = ca.client(
            "kafka-client", "tiering", key_password=secrets.token_urlsafe(12)
        )
        self.users = {"tiering": secrets.token_urlsafe(16)}
        self.plaintext_port, self.sasl_ssl_port, self.ssl_port, self.controller_port = free_ports(4)
        self._proc: subprocess.Popen[bytes] | None = None
        self._formatted = False

    # --- where clients find it ------------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        """The PLAINTEXT listener, ``host:port``."""
        return f"127.0.0.1:{self.plaintext_port}"

    @property
    def sasl_ssl_bootstrap(self) -> str:
        """The SASL_SSL listener (server certificate for 127.0.0.1 and localhost)."""
        return f"127.0.0.1:{self.sasl_ssl_port}"

    @property
    def ssl_bootstrap(self) -> str:
        """The SSL listener that requires a client certificate (:attr:`client_cert`)."""
        return f"127.0.0.1:{self.ssl_port}"

    @property
    def username(self) -> str:
        return next(iter(self.users))

    @property
    def password(self) -> str:
        return self.users[self.username]

    def env(
        self,
        listener: Literal["PLAINTEXT", "SASL_SSL", "SSL"] = "PLAINTEXT",
        mechanism: str = "SCRAM-SHA-256",
    ) -> dict[str, str]:
        """The ``TIERING_KAFKA_*`` variables of a service that reaches this broker through
        ``listener`` (SASL_SSL: as :attr:`username` with ``mechanism``; SSL: with
        :attr:`client_cert`), the CA checked in both."""
        if listener == "PLAINTEXT":
            return {"TIERING_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap}
        env = {
            "TIERING_KAFKA_SECURITY_PROTOCOL": listener,
            "TIERING_KAFKA_CA_FILE": str(self.ca_file),
        }
        if listener == "SASL_SSL":
            env.update(
                TIERING_KAFKA_BOOTSTRAP_SERVERS=self.sasl_ssl_bootstrap,
                TIERING_KAFKA_SASL_MECHANISM=mechanism,
                TIERING_KAFKA_SASL_USERNAME=self.username,
                TIERING_KAFKA_SASL_PASSWORD=self.password,
            )
        else:
            env.update(
                TIERING_KAFKA_BOOTSTRAP_SERVERS=self.ssl_bootstrap,
                TIERING_KAFKA_CERT_FILE=str(self.client_cert.cert_file),
                TIERING_KAFKA_KEY_FILE=str(self.client_cert.key_file),
                TIERING_KAFKA_KEY_PASSWORD=self.client_cert.key_password or "",
            )
        return env

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # --- configuration --------------------------------------------------------------------

    def _properties(self) -> dict[str, str]:
        keystore = self.server_cert.combined_pem(self.directory / "kafka-server.pem")
        listeners = {
            "PLAINTEXT": self.plaintext_port,
            "SASL_SSL": self.sasl_ssl_port,
            "SSL": self.ssl_port,
        }
        return {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": ",".join(
                [f"{name}://127.0.0.1:{port}" for name, port in listeners.items()]
                + [f"CONTROLLER://127.0.0.1:{self.controller_port}"]
            ),
            "advertised.listeners": ",".join(
                f"{name}://127.0.0.1:{port}" for name, port in listeners.items()
            ),
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": (
                "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL"
            ),
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.data_dir),
            # TLS: the broker's key and chain, and the CA that signs client certificates
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(keystore),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.ca_file),
            "listener.name.ssl.ssl.client.auth": "required",
            # SASL: every mechanism on the SASL_SSL listener
            "sasl.enabled.mechanisms": ",".join(SASL_MECHANISMS),
            "listener.name.sasl_ssl.plain.sasl.jaas.config": _jaas_plain(self.users),
            "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            ),
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            ),
            # as the shared broker (deploy/local/kafka/server.properties), small
            "auto.create.topics.enable": "false",
            "num.partitions": "4",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "min.insync.replicas": "1",
            "group.initial.rebalance.delay.ms": "0",
            "log.segment.bytes": str(64 * 1024 * 1024),
        }

    def _write_config(self) -> Path:
        config = self.directory / "server.properties"
        config.write_text("".join(f"{key}={value}\n" for key, value in self._properties().items()))
        return config

    def _java(self, main: str, *args: str, heap: str = "-Xmx512m") -> list[str]:
        return [
            "java",
            heap,
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self.directory}",
            _log_config(LIBS),
            "-cp",
            f"{LIBS}/*",
            main,
            *args,
        ]

    def _format(self, config: Path) -> None:
        """Format the storage once, with every user's SCRAM credentials."""
        scram = [
            arg
            for name, password in self.users.items()
            for mechanism in SASL_MECHANISMS
            if mechanism.startswith("SCRAM")
            for arg in ("--add-scram", f"{mechanism}=[name={name},password={password}]")
        ]
        # a random cluster id as Kafka writes one: 16 bytes, URL-safe base64 without padding, and
        # (as Kafka's Uuid.randomUuid) never starting with "-", which the tool reads as an option
        cluster_id = "-"
        while cluster_id.startswith("-"):
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        result = subprocess.run(
            self._java(
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(config),
                *scram,
                heap="-Xmx256m",
            ),
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"formatting the test Kafka failed:\n{result.stdout}{result.stderr}")
        self._formatted = True

    # --- life cycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the broker (formatting its storage at the first start) and wait until it
        says it started and its listeners accept connections."""
        if self.running:
            return
        config = self._write_config()
        if not self._formatted:
            self._format(config)
        offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        out = (self.directory / "kafka.out").open("ab")
        try:
            self._proc = subprocess.Popen(
                self._java("kafka.Kafka", str(config)),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # its own process group: a Ctrl-C of pytest does not reach it before stop()
                start_new_session=True,
            )
        finally:
            out.close()

        def started() -> bool:
            if not self.log_file.exists():
                return False
            with self.log_file.open("rb") as f:
                f.seek(offset)
                if b"Kafka Server started" not in f.read():
                    return False
            return all(
                port_open(p) for p in (self.plaintext_port, self.sasl_ssl_port, self.ssl_port)
            )

        wait_until(started, START_TIMEOUT, "the test Kafka to start", self._proc, self.log_file)

    def stop(self) -> None:
        """SIGTERM (a controlled shutdown), waited for; SIGKILL if it does not end in time."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def kill(self) -> None:
        """SIGKILL: the broker dies at once, as in a crash (recovers its logs at the next
        start)."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def log_tail(self, lines: int = 60) -> str:
        return tail(self.log_file, lines) + "\n" + tail(self.directory / "kafka.out", lines)

    def close(self) -> None:
        """Stop the broker and delete its directory."""
        self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __repr__(self) -> str:
        return f"PrivateKafka({self.bootstrap}, sasl_ssl={self.sasl_ssl_bootstrap})"
