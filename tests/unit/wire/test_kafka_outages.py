"""aiokafka's line per failed attempt becomes one outage; every other line passes."""

from __future__ import annotations

import logging

import pytest
from aiokafka.errors import KafkaConnectionError, NodeNotReadyError, UnknownTopicOrPartitionError

from tiering.outages import Dependency
from tiering.wire.kafka_outages import UnreachableToOutage, is_unreachable


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def record(msg: str, *args: object, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord("aiokafka.client", level, __file__, 1, msg, args, None)


@pytest.mark.parametrize(
    "line",
    [
        record("Unable connect to node with id %s: %s", 1, ConnectionRefusedError(111, "refused")),
        record("Unable to update metadata from %s", [1]),
        record("Failed fetch messages from %s: %s", 1, NodeNotReadyError("not ready")),
        record("Group Coordinator Request failed: %s", KafkaConnectionError("closed")),
        record("Error sending %s to node %s [%s]", "Heartbeat", 1, TimeoutError()),
    ],
    ids=lambda r: r.msg[:30],
)
def test_failed_attempts_to_reach_a_broker_are_recognised(line: logging.LogRecord) -> None:
    assert is_unreachable(line)


@pytest.mark.parametrize(
    "line",
    [
        record("Discovered coordinator %s for group %s", 1, "g", level=logging.INFO),
        record("Topic %s not found: %s", "t", UnknownTopicOrPartitionError()),
        record("OffsetCommit failed for group %s due to group error (%s)", "g", "unknown"),
    ],
    ids=lambda r: r.msg[:30],
)
def test_other_lines_are_not(line: logging.LogRecord) -> None:
    assert not is_unreachable(line)


def test_an_outage_of_thousands_of_attempts_is_told_once(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    kafka = Dependency("unit-kafka-filter", "Kafka at 10.1.1.1:9093", 2, clock=clock, settle=3)
    quiet = UnreachableToOutage(kafka)
    refused = record("Unable connect to node with id %s: %s", 1, ConnectionRefusedError(111, "no"))
    caplog.set_level(logging.INFO, logger="tiering.outages")

    kafka.answered()
    clock.now += 1
    # a straggling failure a moment after a success starts no outage
    assert quiet.filter(refused) is False
    assert kafka.up
    clock.now += 3
    for _ in range(3000):
        assert quiet.filter(refused) is False
        clock.now += 0.005
    assert not kafka.up
    assert quiet.filter(record("Discovered coordinator %s", 1, level=logging.INFO)) is True
    kafka.answered()
    told = [r.getMessage() for r in caplog.records]
    assert told == [
        "Kafka at 10.1.1.1:9093 unreachable: Unable connect to node with id 1: [Errno 111] no;"
        " retrying every 2 s",
        "Kafka at 10.1.1.1:9093 reachable again after 15 s (2999 retries)",
    ]
