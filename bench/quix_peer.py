"""``make bench``'s peer: the Quix Streams application of :mod:`bench.peer.quix_app` on the
worker's pre-loaded postings, in its own virtual environment (``.venv/peer``, made by
``make bench``), with its state in a temporary directory and its balances in a table dropped
afterwards."""

from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
import uuid
from typing import Any
from urllib.parse import urlsplit

from aiokafka.admin import AIOKafkaAdminClient

from tests.harness.deployment import ROOT, Deployment
from tiering.sinks.postgres.connection import connect

PEER_PYTHON = ROOT / ".venv" / "peer" / "bin" / "python"


def quix_peer(d: Deployment, n: int) -> dict[str, Any]:
    """Run the peer on ``d``'s postings until it has handled ``n``; its result line."""
    s = d.settings
    url = urlsplit(s.database_url.get_secret_value())
    run = uuid.uuid4().hex[:8]
    table = f"quix_balances_{run}"
    out_topic, group = f"{d.name}-quix-changes", f"{d.name}-quix-{run}"
    with tempfile.TemporaryDirectory(prefix="quix-peer-") as state_dir:
        args = {
            "bootstrap": ",".join(s.bootstrap_servers),
            "topic": d.topics.transactions,
            "out": out_topic,
            "group": group,
            "state_dir": state_dir,
            "n": n,
            "bounds_fen": list(s.policy.lower_bounds_fen),
            "table": table,
            "pg": {
                "host": url.hostname or "localhost",
                "port": url.port or 5432,
                "dbname": url.path.lstrip("/") or "postgres",
                "user": url.username or "postgres",
                "password": url.password or "",
            },
        }
        try:
            out = subprocess.run(
                [str(PEER_PYTHON), "-m", "bench.peer.quix_app", json.dumps(args)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=1800,
                check=False,
            )
        finally:
            asyncio.run(_drop(d, table, (out_topic, group)))
    line = next((x for x in out.stdout.splitlines() if x.startswith("{")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(
            f"the Quix Streams peer failed ({out.returncode}):\n{out.stderr[-3000:]}"
        )
    result: dict[str, Any] = json.loads(line)
    return result


async def _drop(d: Deployment, table: str, names: tuple[str, ...]) -> None:
    """The peer's table, and its topics: the changes and Quix's changelogs (named after the
    consumer group)."""
    conn = await connect(d.settings, "tiering-bench")
    try:
        await conn.execute(f'DROP TABLE IF EXISTS public."{table}"')
    finally:
        await conn.close()
    admin = AIOKafkaAdminClient(bootstrap_servers=d.settings.bootstrap_servers)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if any(x in t for x in names)]
        if topics:
            await admin.delete_topics(topics)
    finally:
        await admin.close()
