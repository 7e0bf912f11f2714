"""A Kafka outage is told in a few lines however many clients retry, one broker away while the
others answer is not an outage, and what aiokafka logs about it is quieted, not lost."""

from __future__ import annotations

import ast
import importlib
import inspect
import io
import logging
from collections.abc import Iterator

import pytest
from aiokafka.errors import KafkaConnectionError, NodeNotReadyError, RequestTimedOutError
from mode.utils.logging import ExtensionFormatter

from tests.harness.outages import Clock, gauge
from tiering.outages import FIRST_RETRY, Dependency
from tiering.wire.kafka_outages import (
    RETRIED,
    RETRY_EVERY,
    SETTLE,
    KafkaReachability,
    QuietKafkaLog,
    ReconnectBackoff,
)


def test_reconnects_back_off_exponentially_with_jitter_up_to_the_cap() -> None:
    backoff = ReconnectBackoff()
    assert backoff.wait(0.0) == 0.0
    ceilings, waits = [], []
    for _ in range(10):
        backoff.failed(0.0, draw=lambda low, high: ceilings.append((low, high)) or high)
        waits.append(backoff.wait(0.0))
    assert [high for _, high in ceilings] == pytest.approx(
        [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0, 5.0]
    )
    # each wait drawn from the upper half of its ceiling
    assert all(low == pytest.approx(high / 2) for low, high in ceilings)
    assert waits[0] == pytest.approx(FIRST_RETRY)
    assert max(waits) == RETRY_EVERY
    assert backoff.wait(4.0) == pytest.approx(1.0)
    backoff.answered()
    assert backoff.failures == 0
    assert backoff.wait(0.0) == 0.0


def test_a_retry_count_beyond_any_float_still_waits_the_cap() -> None:
    backoff = ReconnectBackoff(failures=100_000)
    backoff.failed(0.0)
    assert RETRY_EVERY / 2 <= backoff.wait(0.0) <= RETRY_EVERY


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


def test_every_broker_failing_is_one_outage_told_in_two_lines(
    captured: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    kafka = Dependency("unit-kafka-one", "Kafka at k1:9092", RETRY_EVERY, clock=clock)
    reach = KafkaReachability(kafka, clock=clock)
    reach.last_error = "ConnectionRefusedError: [Errno 111] Connection refused"
    # 16 s of a worker's clients failing, each backing off on its own
    for _ in range(231):
        reach.failed(1, every_broker=True, address="k1:9092")
        clock.now += 16 / 231
    assert gauge("unit-kafka-one") == 0
    reach.answered(1)
    reach.answered(1)
    assert gauge("unit-kafka-one") == 1
    assert [r.getMessage() for r in captured.records] == [
        "Kafka at k1:9092 unreachable: ConnectionRefusedError: [Errno 111] Connection refused;"
        " retrying every 5 s",
        "Kafka at k1:9092 reachable again after 16 s (230 retries)",
    ]


def test_one_broker_away_while_the_others_answer_is_not_an_outage(
    captured: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    kafka = Dependency("unit-kafka-part", "Kafka at k1:9092,k2:9092", RETRY_EVERY, clock=clock)
    reach = KafkaReachability(kafka, clock=clock)
    reach.last_error = "ConnectionRefusedError: [Errno 111] Connection refused"
    for _ in range(50):
        reach.failed(2, every_broker=False, address="k2:9092")
        reach.answered(1)
        clock.now += 1
    assert kafka.up
    assert gauge("unit-kafka-part") == 1
    reach.answered(2)
    assert [r.getMessage() for r in captured.records] == [
        "Kafka broker 2 at k2:9092 unreachable: ConnectionRefusedError: [Errno 111] Connection"
        " refused; the other brokers answer",
        "Kafka broker 2 reachable again after 50 s",
    ]


def test_a_failure_straggling_just_after_kafka_answered_starts_no_outage(
    captured: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    kafka = Dependency("unit-kafka-settle", "Kafka at k1:9092", RETRY_EVERY, clock=clock)
    kafka.settle = SETTLE  # as watch_kafka sets it
    reach = KafkaReachability(kafka, clock=clock)
    reach.failed(1, every_broker=True)
    clock.now += SETTLE
    reach.failed(1, every_broker=True)  # still failing SETTLE s later: an outage
    clock.now += 20 - SETTLE
    reach.answered(1)
    # another client's attempt, refused just before the broker came back, told just after
    clock.now += 1
    reach.failed(1, every_broker=True)
    assert kafka.up
    # the broker away again, for good: an outage once the failures have lasted SETTLE s
    clock.now += SETTLE
    reach.failed(1, every_broker=True)
    assert kafka.up
    clock.now += SETTLE
    reach.failed(1, every_broker=True)
    assert not kafka.up
    assert kafka.down_for() == SETTLE
    assert [r.getMessage() for r in captured.records] == [
        "Kafka at k1:9092 unreachable: no connection; retrying every 5 s",
        "Kafka at k1:9092 reachable again after 20 s (0 retries)",
        "Kafka at k1:9092 unreachable: no connection; retrying every 5 s",
    ]


def test_a_failure_beside_other_clients_successes_is_no_outage(
    captured: pytest.LogCaptureFixture,
) -> None:
    """As a broker shuts down, one client is refused while another still gets its answer."""
    clock = Clock()
    kafka = Dependency("unit-kafka-blip", "Kafka at k1:9092", RETRY_EVERY, clock=clock)
    kafka.settle = SETTLE
    reach = KafkaReachability(kafka, clock=clock)
    clock.now += 60
    reach.failed(1, every_broker=True)
    clock.now += 0.001
    reach.answered(1)
    clock.now += SETTLE + 1
    reach.failed(1, every_broker=True)  # a new first failure: not yet an outage
    assert kafka.up
    assert gauge("unit-kafka-blip") == 1
    assert captured.records == []


# --- aiokafka's own lines -----------------------------------------------------------------


@pytest.fixture
def quiet() -> Iterator[tuple[KafkaReachability, Clock]]:
    """A filter on aiokafka's loggers for the test's own Kafka dependency, removed after."""
    clock = Clock()
    reach = KafkaReachability(
        Dependency("unit-kafka-log", "Kafka at k1:9092", RETRY_EVERY, clock=clock), clock=clock
    )
    log_filter = QuietKafkaLog(reach, clock=clock)
    loggers = [logging.getLogger(name) for name in {name for name, _ in RETRIED}]
    for logger in loggers:
        logger.addFilter(log_filter)
    yield reach, clock
    for logger in loggers:
        logger.removeFilter(log_filter)


CLIENT = logging.getLogger("aiokafka")
FETCHER = logging.getLogger("aiokafka.consumer.fetcher")
COORDINATOR = logging.getLogger("aiokafka.consumer.group_coordinator")


def test_a_failed_connection_is_dropped_and_its_error_becomes_the_outage_reason(
    quiet: tuple[KafkaReachability, Clock], captured: pytest.LogCaptureFixture
) -> None:
    reach, _ = quiet
    refused = ConnectionRefusedError(111, "Connection refused")
    # what aiokafka says as the broker goes, before the client knows it cannot come back
    FETCHER.error("Failed fetch messages from %s: %s", 1, KafkaConnectionError("closed"))
    CLIENT.error("Unable to update metadata from %s", [1])
    CLIENT.error("Unable connect to node with id %s: %s", 1, refused)
    reach.failed(1, every_broker=True)
    assert [r.getMessage() for r in captured.records] == [
        "Kafka at k1:9092 unreachable: ConnectionRefusedError: [Errno 111] Connection refused;"
        " retrying every 5 s"
    ]


def test_while_kafka_is_away_its_retries_write_nothing(
    quiet: tuple[KafkaReachability, Clock], captured: pytest.LogCaptureFixture
) -> None:
    reach, clock = quiet
    reach.failed(1, every_broker=True)
    captured.clear()
    not_ready = NodeNotReadyError("Attempt to send a request to node which is not ready (node 1).")
    for _ in range(1000):
        CLIENT.error("Unable to update metadata from %s", [1])
        FETCHER.error("Failed fetch messages from %s: %s", 1, not_ready)
        COORDINATOR.error("Group Coordinator Request failed: %s", not_ready)
        COORDINATOR.error("Heartbeat session expired - marking coordinator dead")
        clock.now += 0.1
    assert captured.records == []


def test_a_retried_condition_is_one_line_a_minute_saying_how_many_were_left_out(
    quiet: tuple[KafkaReachability, Clock], captured: pytest.LogCaptureFixture
) -> None:
    _, clock = quiet
    template = "Marking the coordinator dead (node %s)for group %s."
    for _ in range(90):  # 90 s of a coordinator moving, every 0.5 s
        COORDINATOR.warning(template, 1, "deposit-tiering")
        COORDINATOR.warning(template, 1, "deposit-tiering")
        clock.now += 1
    # as the worker's log writes them (mode's formatter)
    formatter = ExtensionFormatter(stream=io.StringIO(), fmt="%(message)s")
    assert [formatter.format(r) for r in captured.records] == [
        "Marking the coordinator dead (node 1)for group deposit-tiering.",
        "Marking the coordinator dead (node 1)for group deposit-tiering."
        " (and 119 more like it, not logged)",
    ]


def test_what_says_more_than_a_broker_away_is_not_dropped(
    quiet: tuple[KafkaReachability, Clock], captured: pytest.LogCaptureFixture
) -> None:
    # a request that timed out (a broker that accepts but does not answer), a client that
    # cannot start, and everything outside the retried conditions
    FETCHER.error("Failed fetch messages from %s: %s", 1, RequestTimedOutError())
    CLIENT.error('Unable connect to "%s:%s": %s', "k1", 9092, KafkaConnectionError("refused"))
    COORDINATOR.info("Discovered coordinator %s for group %s", 1, "deposit-tiering")
    COORDINATOR.info("Discovered coordinator %s for group %s", 1, "deposit-tiering-delivery")
    assert len(captured.records) == 4


def _logged_templates(module_name: str) -> set[str]:
    """The first argument of every ``log.<level>(...)`` call in an aiokafka module (adjacent
    string literals joined, as Python joins them)."""
    tree = ast.parse(inspect.getsource(importlib.import_module(module_name)))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "log"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


@pytest.mark.parametrize(("logger", "template"), sorted(RETRIED))
def test_every_line_quieted_is_still_what_aiokafka_logs(logger: str, template: str) -> None:
    module = "aiokafka.client" if logger == "aiokafka" else logger
    assert template in _logged_templates(module), (
        f"aiokafka no longer logs {template!r} on {logger}: update RETRIED"
    )


def test_an_aiokafka_error_names_itself_once_in_the_reason(
    quiet: tuple[KafkaReachability, Clock],
) -> None:
    reach, _ = quiet
    closed = KafkaConnectionError("Connection at k1:9092 closed")
    CLIENT.error("Unable connect to node with id %s: %s", 1, closed)
    assert reach.last_error == "KafkaConnectionError: Connection at k1:9092 closed"
