"""Producing to a deployment's topics and reading them: to their end offsets for exact counts,
and until a condition holds for waiting."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from tests.harness.records import CODEC
from tests.harness.waiting import wait_for
from tiering.settings import Settings
from tiering.wire.kafka_clients import kafka_client_options
from tiering.wire.topics import partitions_of


async def produce(
    settings: Settings,
    topic: str,
    records: Iterable[dict[str, Any]],
    schema: str,
    raw: Iterable[tuple[bytes | None, bytes]] = (),
    progress: Callable[[int], None] | None = None,
) -> int:
    """Contract records (keyed by their customer) and raw messages to ``topic`` (its full
    name); returns how many were sent, once Kafka has them all."""
    producer = AIOKafkaProducer(
        **kafka_client_options(settings),
        acks="all",
        enable_idempotence=True,
        linger_ms=20,
        max_batch_size=1_048_576,
    )
    await producer.start()
    sent = 0
    try:
        for record in records:
            await producer.send(
                topic, key=record["customer_id"].encode(), value=CODEC.encode(schema, record)
            )
            sent += 1
            if progress is not None and sent % 10_000 == 0:
                progress(sent)
        for key, value in raw:
            await producer.send(topic, key=key, value=value)
            sent += 1
        await producer.flush()
    finally:
        await producer.stop()
    return sent


async def _consumer(
    settings: Settings, topic: str
) -> tuple[AIOKafkaConsumer, list[TopicPartition]]:
    consumer = AIOKafkaConsumer(
        **kafka_client_options(settings), enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in await partitions_of(settings, topic)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    return consumer, tps


async def read_to_end(settings: Settings, topic: str, timeout: float = 60) -> list[Any]:
    """Every record of ``topic`` from the beginning to the end offsets it has now: an exact
    count, for after :func:`wait_settled`."""
    consumer, tps = await _consumer(settings, topic)
    records: list[Any] = []
    try:
        ends = await consumer.end_offsets(tps)
        deadline = time.monotonic() + timeout
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic} not read to its end in {timeout:.0f}s")
            for tp, batch in (await consumer.getmany(timeout_ms=200)).items():
                records.extend(r for r in batch if r.offset < ends[tp])
    finally:
        await consumer.stop()
    return records


async def read_until(
    settings: Settings, topic: str, until: Callable[[list[Any]], bool], timeout: float = 60
) -> list[Any]:
    """Every record of ``topic`` from the beginning, read until ``until(records)`` holds: for
    waiting. Count exactly with :func:`read_to_end` once the deployment has settled."""
    consumer, _ = await _consumer(settings, topic)
    records: list[Any] = []
    try:

        async def more() -> bool:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
            return until(records)

        try:
            await wait_for(more, timeout, f"records on {topic}", interval=0)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; read {len(records)} records") from None
    finally:
        await consumer.stop()
    return records


async def unsettled(settings: Settings, group: str, topics: Iterable[str]) -> dict[str, int]:
    """Per ``topic[partition]``, the messages the group has not committed yet (empty when
    settled). Committed offsets are read before the end offsets: a message produced between
    the two reads shows as not committed, never the other way round."""
    admin = AIOKafkaAdminClient(**kafka_client_options(settings))
    await admin.start()
    consumer = AIOKafkaConsumer(**kafka_client_options(settings), group_id=None)
    await consumer.start()
    try:
        tps = [
            TopicPartition(topic, p)
            for topic in topics
            for p in await partitions_of(settings, topic)
        ]
        committed = await admin.list_consumer_group_offsets(group, partitions=tps)
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
        await admin.close()
    behind = {}
    for tp in tps:
        done = committed.get(tp)
        position = done.offset if done is not None and done.offset >= 0 else 0
        if position < ends[tp]:
            behind[f"{tp.topic}[{tp.partition}]"] = ends[tp] - position
    return behind
