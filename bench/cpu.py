"""What a process costs in CPU seconds, from ``/proc``: the benchmark's measure of efficiency,
comparable across the worker and its peer in one run."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of process ``pid`` so far, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # after "pid (comm)": state is field 3, utime 14 and stime 15 (1-based)
    return (int(fields[11]) + int(fields[12])) / _TICKS


class CpuWindow:
    """CPU seconds of some processes between :meth:`start` and :meth:`stop`."""

    def __init__(self, procs: list[subprocess.Popen[bytes]]) -> None:
        self._procs = procs
        self._started: float | None = None
        self.seconds = 0.0

    def _now(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self._procs)

    def start(self) -> None:
        if self._started is None:
            self._started = self._now()

    def stop(self) -> float:
        self.seconds = round(self._now() - (self._started or 0.0), 2)
        return self.seconds
