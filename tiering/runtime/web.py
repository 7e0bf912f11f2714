"""The worker's HTTP pages: ``/metrics`` for Prometheus and ``/healthz`` (200 once the worker
holds its partitions and consumes). Faust's own pages stay off (see ``faust_app``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest


def add_pages(app: faust.App, ready: Callable[[], bool]) -> None:
    # Faust binds a page function to its view, so these are plain closures.
    @app.page("/metrics")
    async def metrics_page(view: Any, request: Any) -> Any:
        return view.bytes(generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/healthz")
    async def health_page(view: Any, request: Any) -> Any:
        if ready():
            return view.json({"status": "ok"})
        return view.json({"status": "starting"}, status=503)
