from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.private_kafka import PrivateKafka
from tests.harness.private_postgres import PrivatePostgres


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of the tests' own, which a test may stop and start."""
    pg = PrivatePostgres()
    try:
        pg.start()
        yield pg
    finally:
        pg.remove()


@pytest.fixture(scope="session")
def private_kafka() -> Iterator[PrivateKafka]:
    """A Kafka broker of the tests' own, which a test may stop and start."""
    kafka = PrivateKafka()
    try:
        kafka.start()
        yield kafka
    finally:
        kafka.remove()
