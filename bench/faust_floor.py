"""Faust's own floor: an agent that takes batches and acknowledges them, nothing else.

``python -m bench.faust_floor worker`` with BENCH_TOPIC, BENCH_N and BENCH_GROUP set; prints
``FLOOR <events per second>`` and exits once it has acknowledged BENCH_N events."""

from __future__ import annotations

import os
import time
from typing import cast

import faust

TOPIC, N, GROUP = os.environ["BENCH_TOPIC"], int(os.environ["BENCH_N"]), os.environ["BENCH_GROUP"]

app = faust.App(
    GROUP,
    broker="kafka://localhost:9092",
    store="memory://",
    key_serializer="raw",
    value_serializer="raw",
    web_enabled=False,
    consumer_auto_offset_reset="earliest",
)
topic = app.topic(
    TOPIC, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
)
seen = {"n": 0, "started": 0.0}


@app.agent(topic)
async def floor(stream: faust.StreamT) -> None:
    async for events in cast(faust.Stream, stream).noack_take(2000, within=0.05):
        if not seen["n"]:
            seen["started"] = time.monotonic()
        for event in events:
            await stream.ack(event)
        seen["n"] += len(events)
        if seen["n"] >= N:
            print(f"FLOOR {N / (time.monotonic() - seen['started']):.0f}", flush=True)
            os._exit(0)


if __name__ == "__main__":
    worker = faust.Worker(app, loglevel="warning")
    worker.spinner = None
    worker.execute_from_commandline()
