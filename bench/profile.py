"""The worker's profile during the pipeline run: py-spy samples it without pausing it, and the
collapsed stacks become the top costs."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any


def profile_start(pid: int, out: Path, seconds: int) -> subprocess.Popen[bytes]:
    """py-spy, sampling without pausing the worker, collapsed stacks for the top costs."""
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(seconds),
            "--rate",
            "50",
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def top_costs(collapsed: Path, limit_to: int = 15) -> list[dict[str, Any]]:
    """Self time and total time per function from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    return [
        {
            "function": frame,
            "self_share": round(n / total, 3),
            "total_share": round(inclusive[frame] / total, 3),
        }
        for frame, n in own.most_common(limit_to)
    ]
