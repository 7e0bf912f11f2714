"""A real worker watched as it resumes its partitions at the end of each rebalance.

``python -m tests.integration.resume_probe OUT [--without-fix]``, with a deployment's TIERING_*
environment: runs the worker (:class:`~tiering.runtime.app.TieringApp`: real Faust, real
consumer, real broker) and records, in order, every rebalance's start and end, every call of
the consumer's ``resume_partitions`` (how many stream and how many other partitions), and
every time Faust empties its stream buffers (``flow_control.clear``). Once two rebalances are
over (the first assignment, and the one another worker causes by joining), it writes the
events to OUT as JSON and exits. ``--without-fix`` leaves Faust's own order: the control.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faust

from tiering.runtime import faust_internals
from tiering.runtime.agents import AGENTS
from tiering.runtime.app import TieringApp
from tiering.settings import Settings


def main(out: Path, with_fix: bool) -> None:
    if not with_fix:
        faust_internals.resume_after_buffers_emptied = lambda app: None
    tiering = TieringApp(Settings(), delivery=False)
    app = tiering.app
    streams = {getattr(tiering.topics, a.reads) for a in AGENTS}
    events: list[dict[str, Any]] = []

    def watch(owner: Any, name: str, record: Callable[..., dict[str, Any]]) -> None:
        original = getattr(owner, name)

        def watched(*args: Any) -> Any:
            events.append(record(*args))
            return original(*args)

        setattr(owner, name, watched)

    # Made now, before the worker starts, so that these are the ones it uses.
    consumer, flow_control = app.consumer, app.flow_control
    watch(app, "on_rebalance_start", lambda: {"event": "start"})
    watch(app, "on_rebalance_end", lambda: {"event": "end"})
    watch(flow_control, "clear", lambda: {"event": "clear"})
    watch(
        consumer,
        "resume_partitions",
        lambda tps: {
            "event": "resume",
            "streams": sum(tp.topic in streams for tp in set(tps)),
            "others": sum(tp.topic not in streams for tp in set(tps)),
        },
    )

    @app.timer(0.1)
    async def report() -> None:
        if sum(e["event"] == "end" for e in events) >= 2:
            await asyncio.to_thread(out.write_text, json.dumps(events))
            os._exit(0)

    worker = faust.Worker(app, loglevel="info")
    worker.spinner = None
    worker.execute_from_commandline()


if __name__ == "__main__":
    main(Path(sys.argv[1]), with_fix="--without-fix" not in sys.argv[2:])
