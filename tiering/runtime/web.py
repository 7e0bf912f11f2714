"""The worker's HTTP pages: ``/metrics`` for Prometheus and ``/healthz``. Faust's own pages
stay off (see ``faust_app``).

``/healthz`` answers 503 ``starting`` until the worker holds its partitions, then 200: ``ok``,
or ``degraded`` with the reason while PostgreSQL or Kafka is away. A degraded worker is alive
and resumes by itself once the dependency is back (restarting it would not help), so a liveness
probe must not fail on it; the outage shows in the body and on ``tiering_dependency_up``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from tiering.outages import outages


def add_pages(app: faust.App, ready: Callable[[], bool]) -> None:
    # Faust binds a page function to its view, so these are plain closures.
    @app.page("/metrics")
    async def metrics_page(view: Any, request: Any) -> Any:
        return view.bytes(generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/healthz")
    async def health_page(view: Any, request: Any) -> Any:
        away = outages()
        if not ready():
            return view.json({"status": "starting", "outages": away}, status=503)
        if away:
            return view.json({"status": "degraded", "outages": away})
        return view.json({"status": "ok"})
