"""A worker seeks the stream partitions nobody has committed yet back to their start
(``tiering.runtime.faust_internals``), checked against the real broker: Faust drops what it
fetched for a paused partition and counts on that seek to fetch it again. And the control:
aiokafka's own ``seek_to_committed`` leaves such a partition past what was fetched."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from tiering.runtime.faust_internals import seek_committed_or_start
from tiering.wire.topics import DEPOSIT_TRANSACTIONS, ONLINE_BEHAVIOR


@asynccontextmanager
async def fetched_everything(d: Any) -> AsyncIterator[tuple[AIOKafkaConsumer, dict[str, Any]]]:
    """A consumer of a new group, holding the partition of each input topic that has records,
    which has fetched them all (what Faust would drop) and committed nothing."""
    postings, events = d.topic(DEPOSIT_TRANSACTIONS), d.topic(ONLINE_BEHAVIOR)
    # one key: 6 records in one partition of the postings' topic, 4 in one of the events'
    await d.produce([], raw=[(b"C1", b"posting")] * 6)
    await d.produce([], raw=[(b"C1", b"event")] * 4, topic=ONLINE_BEHAVIOR)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=d.settings.bootstrap_servers,
        group_id=f"seek-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        every = [TopicPartition(t, p) for t in (postings, events) for p in range(d.partitions)]
        ends = await consumer.end_offsets(every)
        tps = {tp.topic: tp for tp in every if ends[tp]}
        consumer.assign(list(tps.values()))

        async def behind() -> bool:
            return any([await consumer.position(tp) < ends[tp] for tp in tps.values()])

        while await behind():
            await consumer.getmany(timeout_ms=500)
        yield consumer, tps
    finally:
        await consumer.stop()


async def test_a_stream_partition_with_no_commit_goes_back_to_its_start(deployment) -> None:
    d = await deployment("seek")
    postings, events = d.topic(DEPOSIT_TRANSACTIONS), d.topic(ONLINE_BEHAVIOR)
    async with fetched_everything(d) as (consumer, tps):
        # the events' partition stands for a changelog: Faust's recovery seeks those itself
        committed = await seek_committed_or_start(consumer, changelogs={events})
        assert committed == {tps[postings]: None, tps[events]: None}
        assert await consumer.position(tps[postings]) == 0
        assert await consumer.position(tps[events]) == 4


async def test_a_committed_partition_goes_back_to_its_commit(deployment) -> None:
    d = await deployment("seekc")
    async with fetched_everything(d) as (consumer, tps):
        postings = tps[d.topic(DEPOSIT_TRANSACTIONS)]
        await consumer.commit({postings: OffsetAndMetadata(3, "")})
        await seek_committed_or_start(consumer, changelogs=set())
        assert await consumer.position(postings) == 3


async def test_without_the_fix_aiokafka_leaves_it_past_what_was_fetched(deployment) -> None:
    d = await deployment("noseek")
    async with fetched_everything(d) as (consumer, tps):
        postings = tps[d.topic(DEPOSIT_TRANSACTIONS)]
        assert await consumer.seek_to_committed() == dict.fromkeys(tps.values())
        assert await consumer.position(postings) == 6, (
            "aiokafka now seeks a partition with no commit to its start: "
            "faust_internals.seek_uncommitted_to_start may no longer be needed"
        )
