"""Backoff between aiokafka's attempts to connect to a broker that did not answer.

``AIOKafkaClient._get_conn`` is the one way aiokafka 0.14's consumers, producers, admin
clients and metadata refreshes reach a broker. After a failure it connects again at the next
call, and every request loop calls again after ``retry_backoff_ms`` (100 ms, fixed), the
producer and the metadata refresh with no wait at all when they wake each other: no setting
adds a backoff (aio-libs/aiokafka#1014 would). :func:`back_off_reconnects` wraps that method
once for every client of the process: a broker that did not answer is tried again only when
its :class:`~tiering.wire.kafka_outages.ReconnectBackoff` allows, one attempt at a time, and
each attempt is told to :class:`~tiering.wire.kafka_outages.KafkaReachability`.

A request for a broker in backoff waits for it when every broker the client knows is failing
(so no loop spins through an outage), and fails at once, as aiokafka's own does for a broker
it cannot reach, while another broker answers (so the metadata refresh asks that one, and
requests move to the partitions' new leaders).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka.client import AIOKafkaClient

from tiering.wire.kafka_outages import KafkaReachability, ReconnectBackoff

_MARK = "_tiering_backs_off_reconnects"
#: the per-broker state a client keeps (an attribute of our own on each client)
_BROKERS = "_tiering_brokers"


@dataclass
class _Broker:
    """One broker as one client sees it."""

    backoff: ReconnectBackoff = field(default_factory=ReconnectBackoff)
    #: held by the one request that waits out the backoff and tries again
    attempt: asyncio.Lock = field(default_factory=asyncio.Lock)


def back_off_reconnects(
    reachability: KafkaReachability, client_class: type[AIOKafkaClient] = AIOKafkaClient
) -> None:
    """Wrap ``_get_conn`` of ``client_class`` (once): aiokafka's own class, for every client
    of the process; a subclass of it in tests."""
    if client_class.__dict__.get(_MARK, False):
        return
    setattr(client_class, _MARK, True)
    get_conn = client_class._get_conn

    async def attempt(client: Any, node_id: Hashable, **kwargs: Any) -> Any:
        brokers = _brokers(client)
        conn = await get_conn(client, node_id, **kwargs)
        if conn is None:
            brokers.setdefault(node_id, _Broker()).backoff.failed(time.monotonic())
            every_broker = not _another_answers(client, brokers, node_id)
            reachability.failed(node_id, every_broker, _address(client, node_id))
            return None
        broker = brokers.get(node_id)
        if broker is not None and broker.backoff.failures:
            broker.backoff.answered()
        reachability.answered(node_id)
        return conn

    async def _get_conn(self: Any, node_id: Hashable, **kwargs: Any) -> Any:
        broker = _brokers(self).get(node_id)
        if broker is None or not broker.backoff.failures:
            return await attempt(self, node_id, **kwargs)
        async with broker.attempt:
            while (wait := broker.backoff.wait(time.monotonic())) > 0:
                if _another_answers(self, _brokers(self), node_id):
                    return None
                await asyncio.sleep(wait)
            return await attempt(self, node_id, **kwargs)

    client_class._get_conn = _get_conn


def _brokers(client: Any) -> MutableMapping[Hashable, _Broker]:
    found: MutableMapping[Hashable, _Broker] | None = getattr(client, _BROKERS, None)
    if found is None:
        found = {}
        setattr(client, _BROKERS, found)
    return found


def _another_answers(
    client: Any, brokers: MutableMapping[Hashable, _Broker], node_id: Hashable
) -> bool:
    """Whether a broker of the client's cluster other than ``node_id`` is not known to fail."""
    for other in client.cluster.brokers():
        if other.nodeId == node_id:
            continue
        known = brokers.get(other.nodeId)
        if known is None or not known.backoff.failures:
            return True
    return False


def _address(client: Any, node_id: Hashable) -> str:
    found = client.cluster.broker_metadata(node_id)
    return f"{found.host}:{found.port}" if found is not None else ""
