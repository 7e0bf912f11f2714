from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import Deployment, new_deployment

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session", autouse=True)
def _services_are_up() -> None:
    for name, port in (("Kafka", 9092), ("PostgreSQL", 5432), ("Prometheus", 9090)):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                pytest.fail(f"{name} is not answering on 127.0.0.1:{port}: run `make up` first")


@pytest.fixture
async def deployment(
    tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Callable[..., Awaitable[Deployment]]]:
    """Make isolated deployments (own app id, topic prefix, schema, web port); workers are
    stopped and schemas dropped afterwards; worker logs are shown when the test fails."""
    made: list[Deployment] = []

    async def make(label: str = "d", **kwargs: Any) -> Deployment:
        d = new_deployment(label, **kwargs)
        made.append(d)
        await d.prepare()
        return d

    yield make
    for d in made:
        d.stop_workers()
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        for d in made:
            print(d.log_tail(80))
    for d in made:
        await d.drop()
