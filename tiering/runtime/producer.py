"""The worker's own producer for every record a batch sends: outputs, signals, dead letters and
the state changelog."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError

from tiering.processing import Outgoing
from tiering.wire.kafka_clients import KafkaClientOptions

log = logging.getLogger(__name__)


class BatchProducer:
    """Produces a batch's records as one record batch per topic-partition (aiokafka's
    BatchBuilder), not one awaited send per record: the per-record cost of a Faust or aiokafka
    send was most of the worker's time. Idempotent, all in-sync replicas; through a Kafka
    outage of any length the batch waits for the broker (``faust_internals.leaderless``)."""

    def __init__(self, kafka: KafkaClientOptions, client_id: str) -> None:
        self._kafka = kafka
        self._client_id = client_id
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(  # made here: aiokafka wants the running loop
            **self._kafka,
            client_id=self._client_id,
            acks="all",
            enable_idempotence=True,
            max_batch_size=1_048_576,
            linger_ms=0,
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def send_all(self, outgoing: Sequence[Outgoing]) -> dict[tuple[str, int], int]:
        """Produce every record, in order per topic-partition, and wait until Kafka has them.
        Returns the offset of the last record written to each ``(topic, partition)``."""
        if not outgoing:
            return {}
        producer = self._producer
        if producer is None:
            raise RuntimeError("BatchProducer.send_all before start")
        by_tp: dict[tuple[str, int], list[Outgoing]] = {}
        for o in outgoing:
            by_tp.setdefault((o.topic, o.partition), []).append(o)
        pending: list[tuple[asyncio.Future[Any], int]] = []
        for (topic, partition), records in by_tp.items():
            batch = producer.create_batch()
            appended = 0
            for o in records:
                headers = o.headers or []
                if batch.append(key=o.key, value=o.value, timestamp=None, headers=headers) is None:
                    pending.append((await _queue(producer, batch, topic, partition), appended))
                    batch = producer.create_batch()
                    appended = 0
                    batch.append(key=o.key, value=o.value, timestamp=None, headers=headers)
                appended += 1
            pending.append((await _queue(producer, batch, topic, partition), appended))
        written = await asyncio.gather(*(future for future, _ in pending))
        last: dict[tuple[str, int], int] = {}
        for meta, (_, count) in zip(written, pending, strict=True):
            end = meta.offset + count - 1
            if end > last.get((meta.topic, meta.partition), -1):
                last[(meta.topic, meta.partition)] = end
        return last


async def _queue(producer: AIOKafkaProducer, batch: Any, topic: str, partition: int) -> Any:
    """Queue ``batch`` for ``topic[partition]``; its future is done once Kafka has it. While
    the partition's previous batch waits for a leader (an outage) longer than the request
    timeout, aiokafka refuses the next one for now: it is offered again, the batch in hand
    held rather than failed (``faust_internals.hold_batches_without_leader``)."""
    while True:
        try:
            return await producer.send_batch(batch, topic, partition=partition)
        except KafkaTimeoutError:
            log.warning("outputs for %s[%d] wait for the partition's leader", topic, partition)
