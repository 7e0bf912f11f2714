"""Kafka being away, told in a few lines (:mod:`tiering.outages`) instead of a line per attempt.

While a broker is away every aiokafka client of a process (Faust's consumer and producer, the
output producer, the lag monitor, delivery's consumer and producer) retries every 100 ms
(``retry_backoff_ms``) and writes an error line for each attempt: a 15-second outage wrote
about 3,000 lines from one worker, most of them "Unable connect to node", "Unable to update
metadata", "Failed fetch messages" and "Group Coordinator Request failed". :func:`watch_kafka`
puts a filter on aiokafka's loggers that takes such a line for what it is, an attempt that
failed because the broker cannot be reached, hands it to the process's Kafka
:class:`~tiering.outages.Dependency` and drops it; other lines pass.

Kafka counts as unreachable when the clients' attempts fail and none has succeeded for
``SETTLE`` seconds (with several brokers, one broker away while the others serve is not an
outage: the clients' successes keep it up). It is reachable again at the next success: a batch
fetched, produced and committed, or a metadata request (:func:`probe`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka.errors import (
    CoordinatorNotAvailableError,
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    NotCoordinatorError,
    RequestTimedOutError,
)

from tiering.outages import Dependency, dependency, reason_of
from tiering.settings import Settings

#: the loggers of aiokafka that write a line per failed attempt
LOGGERS = (
    "aiokafka",
    "aiokafka.client",
    "aiokafka.conn",
    "aiokafka.cluster",
    "aiokafka.consumer.consumer",
    "aiokafka.consumer.fetcher",
    "aiokafka.consumer.group_coordinator",
    "aiokafka.producer.producer",
    "aiokafka.producer.sender",
    "aiokafka.admin.client",
)
#: the one such line that carries no error object
METADATA_FAILED = "Unable to update metadata from %s"
#: errors that mean a broker cannot be reached (or its coordinator moved while it restarts)
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
#: seconds without a success before failures count as an outage (stragglers after one ends)
SETTLE = 3.0
#: seconds between attempts of aiokafka's clients (their ``retry_backoff_ms``, 100 by default)
RETRY_EVERY = 0.1


def kafka_dependency(settings: Settings) -> Dependency:
    """This process's Kafka, named by its bootstrap servers."""
    away = dependency("kafka", f"Kafka at {settings.kafka_bootstrap_servers}", RETRY_EVERY)
    away.settle = SETTLE
    return away


def is_unreachable(record: logging.LogRecord) -> bool:
    """Whether an aiokafka log line reports an attempt that failed to reach a broker."""
    if record.levelno < logging.WARNING:
        return False
    if record.msg == METADATA_FAILED:
        return True
    args = record.args if isinstance(record.args, tuple) else ()
    exc = record.exc_info[1] if record.exc_info else None
    return any(isinstance(value, UNREACHABLE) for value in (*args, exc))


class UnreachableToOutage(logging.Filter):
    """Drops the lines of failed attempts, telling the :class:`Dependency` instead."""

    def __init__(self, away: Dependency) -> None:
        super().__init__()
        self.away = away

    def filter(self, record: logging.LogRecord) -> bool:
        if not is_unreachable(record):
            return True
        self.away.failed(record.getMessage().strip()[:160])
        return False


def watch_kafka(settings: Settings) -> Dependency:
    """Install the filter on aiokafka's loggers (once per process); the Kafka dependency."""
    away = kafka_dependency(settings)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, UnreachableToOutage) for f in logger.filters):
            logger.addFilter(UnreachableToOutage(away))
    return away


async def probe(away: Dependency, client: Any) -> None:
    """While Kafka is away, ask ``client`` (an aiokafka consumer) for the cluster's topics: a
    success ends the outage. Nothing while Kafka answers."""
    if away.up:
        return
    try:
        await client.topics()
    except Exception as exc:  # the broker still away: told by the filter, or here
        away.failed(reason_of(exc))
    else:
        away.answered()
