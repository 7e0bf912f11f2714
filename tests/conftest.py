from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.harness.private import PrivateKafka, PrivatePostgres, TestCA


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[Any]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def call_failed(request: pytest.FixtureRequest) -> bool:
    """Whether the test that used a fixture failed (read in the fixture's teardown)."""
    report = getattr(request.node, "rep_call", None)
    return report is not None and bool(report.failed)


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
    if call_failed(request):
        for d in made:
            print(d.log_tail(400))
    for d in made:
        await d.drop()


# --- servers of the tests' own (tests/harness/private/) -----------------------------------
# Started by the first test that asks for one, once per session, and deleted at its end. The
# function-scoped fixtures hand a test the running server: a test that stopped or killed it
# leaves the next one a started server again, and a failed test shows the server's log.


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    """The session's certificate authority: it signs the private servers' certificates."""
    from tests.harness.private import TestCA

    return TestCA(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def private_kafka_server(
    tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA
) -> Iterator[PrivateKafka]:
    from tests.harness.private import PrivateKafka

    broker = PrivateKafka(tmp_path_factory.mktemp("kafka"), test_ca)
    try:
        yield broker
    finally:
        broker.close()


@pytest.fixture(scope="session")
def private_postgres_server(test_ca: TestCA) -> Iterator[PrivatePostgres]:
    from tests.harness.private import PrivatePostgres

    cluster = PrivatePostgres(test_ca)
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def private_kafka(
    private_kafka_server: PrivateKafka, request: pytest.FixtureRequest
) -> Iterator[PrivateKafka]:
    """The tests' own Kafka broker, running (PLAINTEXT, SASL_SSL, and mutual-TLS listeners)."""
    private_kafka_server.start()
    yield private_kafka_server
    if call_failed(request):
        print(f"--- {private_kafka_server!r}\n{private_kafka_server.log_tail()}")


@pytest.fixture
def private_postgres(
    private_postgres_server: PrivatePostgres, request: pytest.FixtureRequest
) -> Iterator[PrivatePostgres]:
    """The tests' own PostgreSQL cluster, running (in clear and with TLS)."""
    private_postgres_server.start()
    yield private_postgres_server
    if call_failed(request):
        print(f"--- {private_postgres_server!r}\n{private_postgres_server.log_tail()}")
