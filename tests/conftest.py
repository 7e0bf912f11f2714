from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[Any]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(part in str(item.path) for part in ("/integration/", "/faults/", "/e2e/")):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def services() -> None:
    """The real local services, started by `make up`."""
    for name, port in (("Kafka", 9092), ("PostgreSQL", 5432), ("Prometheus", 9090)):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                pytest.fail(f"{name} is not answering on 127.0.0.1:{port}: run `make up` first")


@pytest.fixture
async def deployment(
    services: None, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """Make isolated deployments (own app id, topic prefix, schema, web port); workers are
    stopped and schemas dropped afterwards; worker logs are shown when the test fails."""
    from tests.harness.deployment import Deployment, new_deployment

    made: list[Deployment] = []

    async def make(label: str = "d", **kwargs: Any) -> Deployment:
        d = new_deployment(label, **kwargs)
        made.append(d)
        await d.prepare()
        return d

    yield make
    for d in made:
        d.stop_workers()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for d in made:
            print(d.log_tail(400))
    for d in made:
        await d.drop()
