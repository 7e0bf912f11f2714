"""A PostgreSQL 15 cluster of the tests' own (``initdb`` and ``pg_ctl`` from Debian's
packages): to stop and start again in fault tests without touching the shared server, and to
reach over TLS with ``sslmode=verify-full``.

Who may connect (``pg_hba.conf``): the ``tiering`` role with its password (SCRAM-SHA-256),
over TLS (:attr:`PrivatePostgres.tls_url`) or in clear (:attr:`PrivatePostgres.url`, for fault
tests that need no TLS); the superuser only through the cluster's own Unix socket. It owns
the database ``tiering``, so migrations can create a deployment's schema there."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlencode

from tests.harness.private.process import free_ports, port_open, tail, wait_until
from tests.harness.private.tls import TestCA

#: Debian's PostgreSQL 15 (the version of the shared server and of docker-compose.yml)
BIN_DIRS = (Path("/usr/lib/postgresql/15/bin"),)
START_TIMEOUT = 90.0

_HBA = """\
# the tests' own cluster (tests/harness/private/postgres.py)
local     all  all                  trust
hostssl   all  tiering  127.0.0.1/32  scram-sha-256
hostnossl all  tiering  127.0.0.1/32  scram-sha-256
"""


def _bin_dir() -> Path:
    for folder in BIN_DIRS:
        if (folder / "initdb").exists():
            return folder
    raise RuntimeError(
        "PostgreSQL 15's initdb not found in /usr/lib/postgresql/15/bin: "
        "install Debian's postgresql-15 (`make up` does)"
    )


class PrivatePostgres:
    """One cluster in a temporary directory of its own (readable by the ``postgres`` user,
    which runs it when the tests run as root), on a port chosen once: started again after
    :meth:`stop`, it is where it was, with its data."""

    def __init__(self, ca: TestCA, database: str = "tiering", user: str = "tiering") -> None:
        self.bin = _bin_dir()
        # not under pytest's own temporary directory: only its owner may enter that one
        self.directory = Path(tempfile.mkdtemp(prefix="tiering-pg-"))
        self.data_dir = self.directory / "data"
        self.log_file = self.directory / "postgres.log"
        self.database = database
        self.user = user
        self.password = secrets.token_urlsafe(16)
        self.ca_file = ca.ca_file
        (self.port,) = free_ports(1)
        self._as_postgres = os.geteuid() == 0
        server = ca.server("postgres-server")
        shutil.copy(server.cert_file, self.directory / "server.crt")
        shutil.copy(server.key_file, self.directory / "server.key")
        os.chmod(self.directory / "server.key", 0o600)
        if self._as_postgres:
            account = pwd.getpwnam("postgres")
            for path in (
                self.directory,
                self.directory / "server.crt",
                self.directory / "server.key",
            ):
                os.chown(path, account.pw_uid, account.pw_gid)
        self._initialised = False

    # --- where clients find it ------------------------------------------------------------

    def _url(self, **params: str) -> str:
        return (
            f"postgresql://{quote(self.user)}:{quote(self.password)}@127.0.0.1:{self.port}/"
            f"{quote(self.database)}?{urlencode(params)}"
        )

    @property
    def url(self) -> str:
        """Password authentication in clear (``sslmode=disable``)."""
        return self._url(sslmode="disable")

    @property
    def tls_url(self) -> str:
        """Password authentication over TLS, the server's certificate checked against the test
        CA and its name against the host (``sslmode=verify-full``)."""
        return self.verify_full_url(self.ca_file)

    def verify_full_url(self, ca_file: Path) -> str:
        """:attr:`tls_url` with the server's certificate checked against ``ca_file``."""
        return self._url(sslmode="verify-full", sslrootcert=str(ca_file))

    def env(self, tls: bool = True) -> dict[str, str]:
        """``TIERING_DATABASE_URL`` of a service that uses this cluster, over TLS
        (:attr:`tls_url`) or in clear (:attr:`url`)."""
        return {"TIERING_DATABASE_URL": self.tls_url if tls else self.url}

    @property
    def running(self) -> bool:
        return port_open(self.port) and (self.data_dir / "postmaster.pid").exists()

    # --- running its programs -------------------------------------------------------------

    def _run(self, program: str, *args: str, timeout: float = START_TIMEOUT) -> str:
        command = [str(self.bin / program), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{program} {' '.join(args[:2])} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}\n{tail(self.log_file)}"
            )
        return result.stdout

    def _psql(self, sql: str) -> None:
        """Run ``sql`` as the superuser through the cluster's Unix socket."""
        self._run(
            "psql", "-h", str(self.directory), "-p", str(self.port), "-U", "postgres",
            "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql,
        )  # fmt: skip

    def _initdb(self) -> None:
        self._run(
            "initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# the tests' own cluster\n"
                "listen_addresses = '127.0.0.1'\n"
                f"port = {self.port}\n"
                f"unix_socket_directories = '{self.directory}'\n"
                "ssl = on\n"
                f"ssl_cert_file = '{self.directory / 'server.crt'}'\n"
                f"ssl_key_file = '{self.directory / 'server.key'}'\n"
                "password_encryption = 'scram-sha-256'\n"
                "shared_buffers = 32MB\n"
                # durability against power loss is no concern here; crashes are still survived
                "fsync = off\n"
            )
        (self.data_dir / "pg_hba.conf").write_text(_HBA)

    # --- life cycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the cluster (made at the first start: ``initdb``, the role, the database) and
        wait until it accepts connections."""
        if self.running:
            return
        first = not self._initialised
        if first:
            self._initdb()
            self._initialised = True
        self._run(
            "pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file),
            "-w", "-t", str(int(START_TIMEOUT)),
        )  # fmt: skip
        wait_until(lambda: port_open(self.port), START_TIMEOUT, "the test PostgreSQL to listen")
        if first:
            password = self.password.replace("'", "''")
            self._psql(f"CREATE ROLE {self.user} LOGIN PASSWORD '{password}'")
            self._psql(f"CREATE DATABASE {self.database} OWNER {self.user}")

    def stop(self, mode: Literal["fast", "immediate"] = "fast") -> None:
        """``fast``: clients disconnected, a clean shutdown; ``immediate``: every server
        process quits at once, as in a crash (recovery from the WAL at the next start)."""
        if not (self.data_dir / "postmaster.pid").exists():
            return
        self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60")

    def log_tail(self, lines: int = 60) -> str:
        return tail(self.log_file, lines)

    def close(self) -> None:
        """Stop the cluster at once and delete its directory."""
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __repr__(self) -> str:
        return f"PrivatePostgres(127.0.0.1:{self.port}, database={self.database})"
