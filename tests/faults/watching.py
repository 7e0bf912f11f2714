"""What a fault test reads off a worker: its ``/healthz``, and its log since a mark."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from tests.harness.prometheus import http_get


def lines_after(log: Path, mark: int) -> list[str]:
    """The worker's log lines after the first ``mark`` (a Faust table spans lines: only those
    that start a record count)."""
    return [line for line in log.read_text(errors="replace").splitlines()[mark:] if line]


def line_count(log: Path) -> int:
    return len(log.read_text(errors="replace").splitlines())


async def health(d: Any) -> dict[str, Any]:
    url = f"http://127.0.0.1:{d.web_port}/healthz"
    return dict(json.loads(await asyncio.to_thread(http_get, url)))
