"""The customers as they stand, read in bulk from the ledger table's changelog: the durable copy
of every worker's state store, readable while the workers run. Compacted, so each partition is
read from its beginning to the end offset it has when the reading starts, the last value of
each key kept."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from aiokafka import AIOKafkaConsumer, TopicPartition

from tiering.core.policy import Policy
from tiering.ledger.state import CustomerState, decode_state
from tiering.ledger.versions_table import RESERVED, stored_versions
from tiering.runtime.agents import LEDGER_TABLE
from tiering.settings import Settings
from tiering.wire.kafka_clients import kafka_client_options
from tiering.wire.topics import partitions_of

#: per partition, customer key → their encoded state
Stored = dict[int, dict[bytes, bytes]]
#: how many records were read, of how many
Progress = Callable[[int, int], None]


def changelog_topic(settings: Settings) -> str:
    """The ledger table's changelog, as Faust names it after the app id."""
    return f"{settings.app_id}-{LEDGER_TABLE}-changelog"


async def read_states(settings: Settings, progress: Progress = lambda done, total: None) -> Stored:
    """Every customer's newest state, per partition."""
    topic = changelog_topic(settings)
    consumer = AIOKafkaConsumer(
        **kafka_client_options(settings),
        enable_auto_commit=False,
        group_id=None,
        fetch_max_bytes=64 * 1024**2,
        max_partition_fetch_bytes=16 * 1024**2,
    )
    try:  # stopped even when it could not start (no broker answered)
        await consumer.start()
        if topic not in await consumer.topics():  # no worker has stored a customer yet
            return {}
        tps = [TopicPartition(topic, p) for p in await partitions_of(settings, topic)]
        consumer.assign(tps)
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        total = sum(ends[tp] - starts[tp] for tp in tps)
        stored: Stored = {tp.partition: {} for tp in tps}
        done = 0
        open_tps = [tp for tp in tps if ends[tp] > starts[tp]]
        for tp in tps:
            consumer.seek(tp, starts[tp])
        while open_tps:
            fetched = await consumer.getmany(*open_tps, timeout_ms=1000, max_records=100_000)
            for tp, records in fetched.items():
                kept = stored[tp.partition]
                for r in records:
                    if r.offset >= ends[tp] or r.key is None:
                        continue
                    if r.value is None:
                        kept.pop(r.key, None)
                    else:
                        kept[r.key] = r.value
                done += len(records)
            progress(min(done, total), total)
            open_tps = [tp for tp in open_tps if await consumer.position(tp) < ends[tp]]
        return stored
    finally:
        await consumer.stop()


def partitions(
    stored: Stored, progress: Progress = lambda done, total: None
) -> Iterator[tuple[int, Iterator[tuple[str, CustomerState]]]]:
    """Each partition's customers in partition order, decoded one at a time as they are taken
    (the partitions' own entries left out); ``progress`` told every 10,000 customers, of all:
    decoding and re-placing take most of a simulation's time, after the reading."""
    total = sum(1 for states in stored.values() for key in states if not key.startswith(RESERVED))
    taken = 0

    def customers(states: dict[bytes, bytes]) -> Iterator[tuple[str, CustomerState]]:
        nonlocal taken
        for key, raw in states.items():
            if key.startswith(RESERVED):
                continue
            yield key.decode(), decode_state(raw)
            taken += 1
            if taken % 10_000 == 0:
                progress(taken, total)

    progress(0, total)
    for partition, states in sorted(stored.items()):
        yield partition, customers(states)
    progress(total, total)


def switched(stored: Stored, base: Policy) -> dict[int, int | None]:
    """Per partition, the moment of the last policy version its worker re-placed the customers
    under, as the worker keeps it in its table (None: none yet)."""
    moments: dict[int, int | None] = {}
    for partition, states in stored.items():
        moments[partition] = stored_versions(states.get, partition, base).switched_ms
    return moments
