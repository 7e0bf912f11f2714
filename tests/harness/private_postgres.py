"""A PostgreSQL cluster of the tests' own, for the tests that stop the database: the shared
one (``make up``) is never stopped. Made with the server binaries ``make up`` installed
(Debian's ``postgresql-15``) in a temporary directory, on a free loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Literal

#: where Debian's packages put the server binaries (``make up`` installs them)
SERVER_BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
#: the database the service's URL names
DATABASE = "tiering"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivatePostgres:
    """One cluster: ``start()`` makes it the first time, ``stop()`` stops it (``fast``: the
    server ends its sessions and shuts down cleanly; ``immediate``: it dies as in a crash, and
    recovers at the next start), ``start()`` again on the same port and data."""

    def __init__(self) -> None:
        if not SERVER_BINARIES:
            raise RuntimeError("no PostgreSQL server binaries: run `make up` (it installs them)")
        self.bin = SERVER_BINARIES[-1].parent
        #: readable by the server's user, which is not root
        self.root = Path(tempfile.mkdtemp(prefix="tiering-pg-"))
        self.root.chmod(0o755)
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *args: str | Path) -> None:
        command = [str(a) for a in args]
        if os.geteuid() == 0:  # the server refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr}\n{log}")

    def _initialize(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self._run(
            self.bin / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\n"
                "fsync = off\n"  # a test's database: speed over durability of the host
                "max_connections = 50\n"
            )

    def start(self) -> None:
        first = not self.data.exists()
        if first:
            self._initialize()
        self._run(self.bin / "pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "start")
        if first:
            self._run(
                self.bin / "createdb",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                DATABASE,
            )

    def stop(self, mode: Literal["fast", "immediate"] = "fast") -> None:
        self._run(self.bin / "pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")

    def remove(self) -> None:
        """Stop it if it runs, and delete its files."""
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
