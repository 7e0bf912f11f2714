"""``tiering_consumer_lag_messages``: for each partition this worker holds, how many messages
lie between the partition's end and its consumer group's committed offset.

Measured from the broker (end offsets, committed offsets), not from Faust's internals, so it
is what an operator would see with kafka-consumer-groups. Each worker reports only the
partitions it holds, and drops the ones it loses, so ``sum()`` over workers is the whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import Gauge

from tiering.wire.kafka_clients import KafkaClientOptions

log = logging.getLogger(__name__)

CONSUMER_LAG = Gauge(
    "tiering_consumer_lag_messages",
    "Messages between the end of a partition this worker holds and its group's committed offset.",
    ["group", "topic", "partition"],
)

#: (role label, Kafka group id, the partitions it holds now)
Holding = tuple[str, str, Callable[[], Iterable[TopicPartition]]]


class LagMonitor:
    def __init__(self, kafka: KafkaClientOptions, label_of: Callable[[str], str]) -> None:
        self._kafka = kafka
        self._label_of = label_of
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: AIOKafkaConsumer | None = None
        self._reported: set[tuple[str, str, str]] = set()

    async def start(self) -> None:
        self._admin = AIOKafkaAdminClient(**self._kafka)
        await self._admin.start()
        self._offsets = AIOKafkaConsumer(**self._kafka, enable_auto_commit=False)
        await self._offsets.start()

    async def stop(self) -> None:
        if self._offsets is not None:
            await self._offsets.stop()
        if self._admin is not None:
            await self._admin.close()

    async def measure(self, holdings: Iterable[Holding]) -> None:
        if self._admin is None or self._offsets is None:
            raise RuntimeError("LagMonitor.measure before start")
        seen: set[tuple[str, str, str]] = set()
        for role, group, held in holdings:
            tps = sorted(held())
            if not tps:
                continue
            ends = await self._offsets.end_offsets(tps)
            committed = await self._admin.list_consumer_group_offsets(group, partitions=tps)
            for tp in tps:
                done = committed.get(tp)
                position = done.offset if done is not None and done.offset >= 0 else 0
                labels = (role, self._label_of(tp.topic), str(tp.partition))
                CONSUMER_LAG.labels(*labels).set(max(ends[tp] - position, 0))
                seen.add(labels)
        for labels in self._reported - seen:  # partitions this worker no longer holds
            CONSUMER_LAG.remove(*labels)
        self._reported = seen
