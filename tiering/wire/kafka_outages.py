"""Kafka being away, told in a few lines and retried with backoff.

aiokafka (0.14) connects again to a broker it lost whenever a request needs it, with no
backoff between attempts (aio-libs/aiokafka#1014 would add one; faust-streaming#624 asks for
it), and every client of a process logs every failed attempt and every request that found the
broker away: a worker wrote about 200 lines a second while its broker was stopped. Here:

- :class:`ReconnectBackoff`: when a broker that did not answer may be tried again;
  ``tiering.runtime.faust_internals.back_off_reconnects`` applies it to every client;
- :class:`KafkaReachability`: what the clients' connection attempts say about Kafka as a
  whole, told through the process's ``kafka`` :class:`~tiering.outages.Dependency` (the outage
  lines, ``tiering_dependency_up{dependency="kafka"}``, ``/healthz``);
- :class:`QuietKafkaLog`: the filter on aiokafka's loggers that drops what the outage lines
  already say, and lets a retried condition through once a minute.

**Kafka is unreachable** when a client of this process has tried every broker of the cluster
it knows, and none answered. One broker away while the others answer is Kafka's own failover
(its partitions' leaders move to the others within seconds): one warning line names the
broker, and the gauge and ``/healthz`` stay up.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from aiokafka.errors import (
    CoordinatorNotAvailableError,
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    NotCoordinatorError,
    RequestTimedOutError,
)

from tiering.outages import (
    SUMMARY_EVERY,
    Backoff,
    Dependency,
    dependency,
    reason_of,
)
from tiering.settings import Settings

log = logging.getLogger(__name__)

#: seconds between attempts at most while a broker is away
RETRY_EVERY = 5.0
#: seconds after Kafka answered in which a failed attempt does not start an outage (one
#: client's attempt that failed just before the broker came back, told just after)
SETTLE = 3.0
#: aiokafka's line for a connection attempt that failed (the error is its last argument)
CONNECT_FAILED = ("aiokafka", "Unable connect to node with id %s: %s")
#: aiokafka's line for a metadata refresh that no broker answered
METADATA_FAILED = ("aiokafka", "Unable to update metadata from %s")
#: a client's first connection, as it starts: not an outage of a running process, and its
#: error (a name that does not resolve, a certificate refused) is worth reading
BOOTSTRAP_FAILED = ("aiokafka", 'Unable connect to "%s:%s": %s')
_CLIENT = "aiokafka"
_FETCHER = "aiokafka.consumer.fetcher"
_COORDINATOR = "aiokafka.consumer.group_coordinator"
_SENDER = "aiokafka.producer.sender"
#: what aiokafka logs, by logger and message template, when a broker does not answer or answers
#: that it cannot serve yet (a group coordinator or a partition leader moving): conditions
#: aiokafka retries by itself. ``tests/unit/wire/test_kafka_outages.py`` checks that each is
#: still in the installed aiokafka.
RETRIED: frozenset[tuple[str, str]] = frozenset(
    {
        CONNECT_FAILED,
        BOOTSTRAP_FAILED,
        METADATA_FAILED,
        (_CLIENT, "Unable to request metadata from node with id %s: %r"),
        (_FETCHER, "Failed fetch messages from %s: %s"),
        (_FETCHER, "Failed fetch offsets from %s: %s"),
        (_COORDINATOR, "Group Coordinator Request failed: %s"),
        (_COORDINATOR, "Error sending %s to node %s [%s] -- marking coordinator dead"),
        (_COORDINATOR, "Heartbeat send request failed: %s. Will retry."),
        (_COORDINATOR, "Marking the coordinator dead (node %s)for group %s."),
        (_COORDINATOR, "Heartbeat session expired - marking coordinator dead"),
        (
            _COORDINATOR,
            "Heartbeat failed for group %s: coordinator (node %s) is either not started or"
            " not valid",
        ),
        (
            _COORDINATOR,
            "OffsetCommit failed for group %s due to a coordinator error (%s), will find new"
            " coordinator and retry",
        ),
        (_SENDER, "Got error produce response: %s"),
        (_SENDER, "Got error produce response on topic-partition %s, retrying. Error: %s"),
        (_SENDER, "Cannot send %r to %s: %r"),
    }
)
#: errors that mean a broker was not reached (refused, reset, timed out, not connected yet):
#: aiokafka's lines that name one are dropped, the outage lines tell it
_NOT_REACHED = (OSError, KafkaConnectionError, NodeNotReadyError)
#: errors a request fails with while a broker cannot be reached or its group coordinator moves
#: as it restarts: what was asked is asked again once Kafka answers
UNREACHABLE = (
    OSError,
    asyncio.TimeoutError,
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    RequestTimedOutError,
    CoordinatorNotAvailableError,
    NotCoordinatorError,
)


@dataclass
class ReconnectBackoff(Backoff):
    """When one broker may be tried again (:class:`~tiering.outages.Backoff`, up to
    ``RETRY_EVERY``)."""

    ceiling: float = RETRY_EVERY
    #: monotonic time before which the broker is not tried again
    not_before: float = 0.0

    def failed(self, now: float, draw: Callable[[float, float], float] = random.uniform) -> None:
        self.not_before = now + self.next_wait(draw)

    def answered(self) -> None:
        self.failures, self.not_before = 0, 0.0

    def wait(self, now: float) -> float:
        """Seconds until the broker may be tried again (0: now)."""
        return max(0.0, self.not_before - now)


class KafkaReachability:
    """Whether this process reaches Kafka, from the connection attempts of all its clients (in
    any thread: Faust's consumer has its own). A failed attempt with every broker of the
    client's cluster failing is a Kafka outage; any successful one ends it."""

    def __init__(self, kafka: Dependency, clock: Callable[[], float] = time.monotonic) -> None:
        self.kafka = kafka
        self._clock = clock
        self._lock = threading.Lock()
        #: brokers whose last attempt failed, and since when
        self._away: dict[Hashable, float] = {}
        #: brokers away while others answered, whose absence was told
        self._told: set[Hashable] = set()
        #: what the last failed attempt said (aiokafka logs it: :class:`QuietKafkaLog`)
        self.last_error = "no connection"

    def failed(self, broker: Hashable, every_broker: bool, address: str = "") -> None:
        """An attempt to connect to ``broker`` (a node id; at ``address``) failed;
        ``every_broker``: the client's other brokers are failing too."""
        with self._lock:
            self._away.setdefault(broker, self._clock())
            if every_broker:
                self.kafka.failed(self.last_error)
            elif self.kafka.up and broker not in self._told:
                self._told.add(broker)
                log.warning(
                    "Kafka broker %s%s unreachable: %s; the other brokers answer",
                    broker,
                    f" at {address}" if address else "",
                    self.last_error,
                )

    def answered(self, broker: Hashable) -> None:
        """An attempt to connect to ``broker`` succeeded, or found its connection open: called
        for every request, so the usual case (nothing away) takes no lock."""
        if broker not in self._away and self.kafka.up:
            return
        with self._lock:
            since = self._away.pop(broker, None)
            if broker in self._told:
                self._told.discard(broker)
                away_for = self._clock() - since if since is not None else 0.0
                log.warning("Kafka broker %s reachable again after %.0f s", broker, away_for)
            self.kafka.answered()


class QuietKafkaLog(logging.Filter):
    """On aiokafka's loggers: the lines of :data:`RETRIED` about a broker that was not reached
    are dropped (:class:`KafkaReachability` tells the outage; a failed attempt's error becomes
    its reason), the others are dropped while Kafka is away and let through once a minute per
    template otherwise, the next one saying how many were left out. Every other line passes
    untouched."""

    def __init__(
        self,
        reachability: KafkaReachability,
        clock: Callable[[], float] = time.monotonic,
        every: float = SUMMARY_EVERY,
    ) -> None:
        super().__init__()
        self._reachability = reachability
        self._clock = clock
        self._every = every
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str], float] = {}
        self._left_out: dict[tuple[str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        if key not in RETRIED:
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        if key == CONNECT_FAILED and args:
            error = args[-1]
            self._reachability.last_error = (
                reason_of(error) if isinstance(error, BaseException) else str(error)
            )
        if key in (CONNECT_FAILED, METADATA_FAILED) or (
            key != BOOTSTRAP_FAILED and any(isinstance(a, _NOT_REACHED) for a in args)
        ):
            return False  # a broker not reached: the outage lines tell it
        with self._lock:
            if not self._reachability.kafka.up:
                self._left_out[key] = self._left_out.get(key, 0) + 1
                return False
            now = self._clock()
            last = self._last.get(key)
            if last is not None and now - last < self._every:
                self._left_out[key] = self._left_out.get(key, 0) + 1
                return False
            self._last[key] = now
            left_out = self._left_out.pop(key, 0)
        if left_out:
            record.msg = f"{record.getMessage()} (and {left_out} more like it, not logged)"
            record.args = ()  # formatted: mode's formatter turns None into (None,)
        return True


_installed: KafkaReachability | None = None


def watch_kafka(settings: Settings) -> KafkaReachability:
    """This process's :class:`KafkaReachability` for the settings' brokers, its filter on
    aiokafka's loggers (once per process)."""
    global _installed
    kafka = dependency("kafka", f"Kafka at {settings.kafka_bootstrap_servers}", RETRY_EVERY)
    kafka.settle = SETTLE
    if _installed is None:
        _installed = KafkaReachability(kafka)
        quiet = QuietKafkaLog(_installed)
        # a logger's filters see only the records logged on it, not those of its children
        for name in {name for name, _ in RETRIED}:
            logging.getLogger(name).addFilter(quiet)
    return _installed
