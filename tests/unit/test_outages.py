"""An outage is told in a few lines and on the gauge, however many retries it takes."""

from __future__ import annotations

import logging

import pytest

from tests.harness.outages import Clock, gauge
from tiering.outages import Dependency, reason_of


def test_a_long_outage_is_one_line_a_minute_and_the_gauge(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    db = Dependency("unit-db", "PostgreSQL at db.bank:5432", retry_every=5, clock=clock)
    assert gauge("unit-db") == 1
    caplog.set_level(logging.INFO, logger="tiering.outages")
    # five minutes of retries every 0.5 s: 600 failures
    for _ in range(600):
        db.failed("write failed with ConnectionRefusedError: [Errno 111] Connection refused")
        clock.now += 0.5
    assert gauge("unit-db") == 0
    assert not db.up
    db.answered()
    db.answered()  # a second success says nothing more
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == (
        "PostgreSQL at db.bank:5432 unreachable: write failed with ConnectionRefusedError:"
        " [Errno 111] Connection refused; retrying every 5 s"
    )
    # one line when it starts, one a minute for five minutes, one when it ends
    assert len(lines) == 1 + 4 + 1, lines
    assert all("still unreachable" in line for line in lines[1:-1])
    assert lines[-1] == "PostgreSQL at db.bank:5432 reachable again after 300 s (599 retries)"
    assert all("PostgreSQL at db.bank:5432" in line for line in lines)
    assert gauge("unit-db") == 1
    assert db.up
    assert db.down_for() == 0


def test_a_new_outage_starts_its_own_count(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    kafka = Dependency("unit-kafka", "Kafka at 10.0.0.7:9093", retry_every=2, clock=clock)
    caplog.set_level(logging.INFO, logger="tiering.outages")
    for _ in range(3):
        kafka.failed("refused")
    kafka.answered()
    clock.now += 3
    kafka.failed("timed out")
    clock.now += 4
    assert kafka.down_for() == 4
    assert kafka.reason == "timed out"
    kafka.answered()
    assert [r.getMessage() for r in caplog.records][-1] == (
        "Kafka at 10.0.0.7:9093 reachable again after 4 s (0 retries)"
    )


def test_a_reason_is_one_short_line() -> None:
    refused = reason_of(OSError(111, "Connection refused"))
    assert refused == "ConnectionRefusedError: [Errno 111] Connection refused"
    assert reason_of(TimeoutError()) == "TimeoutError"
    long = reason_of(RuntimeError("x" * 500 + "\nsecond line"))
    assert len(long) <= len("RuntimeError: ") + 160
    assert "second line" not in long
