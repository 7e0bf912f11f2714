"""aiokafka's client, with the backoff of ``back_off_reconnects``, against brokers that refuse
connections (loopback ports nothing listens on): a request loop no longer knocks every time,
and a broker away while another may answer does not hold requests up."""

from __future__ import annotations

import socket
import time

from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.metadata import MetadataResponse_v0

from tiering.outages import FIRST_RETRY, Dependency
from tiering.runtime.faust_internals import back_off_reconnects
from tiering.wire.kafka_outages import KafkaReachability


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def client_of(brokers: dict[int, int], label: str) -> tuple[AIOKafkaClient, Dependency]:
    """A client that knows ``brokers`` (node id: port) as its cluster, as after a metadata
    response, and the Kafka dependency its attempts are told to."""
    kafka = Dependency(label, "Kafka at test", 5.0)
    # aiokafka's client, its ``_get_conn`` wrapped for this test only
    backing_off = type("BackingOffClient", (AIOKafkaClient,), {})
    back_off_reconnects(KafkaReachability(kafka), backing_off)
    client = backing_off(bootstrap_servers="127.0.0.1:1", request_timeout_ms=2_000)
    brokers_metadata = [(node, "127.0.0.1", port) for node, port in brokers.items()]
    client.cluster.update_metadata(MetadataResponse_v0(brokers_metadata, []))
    return client, kafka


async def test_a_loop_asking_for_an_unreachable_broker_waits_out_the_backoff() -> None:
    client, kafka = client_of({1: closed_port()}, "unit-reconnect-one")
    started = time.monotonic()
    for _ in range(5):  # a request loop that asks again at once, as aiokafka's metadata does
        assert await client._get_conn(1) is None
    # each ask an attempt, after waiting at least half of 0.1, 0.2, 0.4, 0.8 s in turn
    assert time.monotonic() - started >= (FIRST_RETRY / 2) * (1 + 2 + 4 + 8)
    assert not kafka.up
    assert kafka.retries + 1 == 5
    await client.close()


async def test_a_broker_away_does_not_hold_requests_up_while_another_may_answer() -> None:
    client, kafka = client_of({1: closed_port(), 2: closed_port()}, "unit-reconnect-two")
    assert await client._get_conn(1) is None
    # broker 2 has not failed yet: a request for broker 1 fails at once instead of waiting,
    # without another attempt, and Kafka as a whole is not away
    started = time.monotonic()
    assert await client._get_conn(1) is None
    assert time.monotonic() - started < FIRST_RETRY / 2
    assert kafka.up
    assert await client._get_conn(2) is None
    # now every broker fails: Kafka is away, and the next request waits for broker 1's turn
    assert not kafka.up
    assert await client._get_conn(1) is None
    assert kafka.retries == 1
    await client.close()
