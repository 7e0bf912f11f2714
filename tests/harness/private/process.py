"""What the tests' own servers share: free ports, a log file shown on failure, and waiting for a
process to be ready or gone within a bound."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def free_ports(n: int) -> list[int]:
    """``n`` distinct loopback ports the system hands out now (bound to port 0, then freed):
    two test sessions on one machine never get the same ones."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def tail(path: Path, lines: int = 60) -> str:
    """The last ``lines`` lines of a log file ("" when there is none)."""
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_until(
    ready: Callable[[], bool],
    timeout: float,
    what: str,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    """Poll ``ready`` until it holds; fail naming ``what`` (and showing the log) if ``proc``
    exits first or ``timeout`` seconds pass. For the synchronous start and stop of a server."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"{what}: the process exited with {proc.returncode}\n{tail(log) if log else ''}"
            )
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not done after {timeout:.0f}s\n{tail(log) if log else ''}")
        time.sleep(0.1)
