"""``tiering_consumer_lag_messages``: per partition a worker holds, the messages between the
partition's end and what its group has committed, measured from the broker."""

from __future__ import annotations

from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import REGISTRY

from tests.harness.records import posting
from tests.harness.waiting import wait_for
from tiering.runtime.lag import LagMonitor
from tiering.wire.kafka_clients import kafka_client_options
from tiering.wire.topics import partitions_of, topic_label

LAG = "tiering_consumer_lag_messages"


def lag(topic: str, partition: int) -> float | None:
    labels = {"group": "ledger", "topic": topic, "partition": str(partition)}
    return REGISTRY.get_sample_value(LAG, labels)


async def test_the_lag_is_what_the_group_has_not_committed(deployment) -> None:
    d = await deployment("lagm")
    await d.produce(posting(f"T{i}", f"C{i % 50}", "10.00") for i in range(400))
    s = d.settings
    topic = d.topics.transactions
    tps = [TopicPartition(topic, p) for p in await partitions_of(s, topic)]
    group = f"{d.name}-measured"
    committer = AIOKafkaConsumer(
        bootstrap_servers=s.bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    await committer.start()
    monitor = LagMonitor(kafka_client_options(s), label_of=lambda t: topic_label(s, t))
    await monitor.start()
    try:
        committer.assign(tps)
        ends = await committer.end_offsets(tps)
        assert sum(ends.values()) == 400
        # the group has done half of partition 0 and all of partition 1; nothing of the rest
        first, second, *rest = tps
        await committer.commit({first: ends[first] // 2, second: ends[second]})

        await monitor.measure([("ledger", group, lambda: tps)])
        assert lag("deposit-transactions", first.partition) == ends[first] - ends[first] // 2
        assert lag("deposit-transactions", second.partition) == 0
        for tp in rest:
            assert lag("deposit-transactions", tp.partition) == ends[tp]

        # The group catches up: the lag falls to zero.
        await committer.commit(ends)
        await monitor.measure([("ledger", group, lambda: tps)])
        assert [lag("deposit-transactions", tp.partition) for tp in tps] == [0] * len(tps)

        # Partitions the worker no longer holds are no longer reported (another worker does).
        await monitor.measure([("ledger", group, lambda: [first])])
        assert lag("deposit-transactions", first.partition) == 0
        assert [lag("deposit-transactions", tp.partition) for tp in tps[1:]] == [None] * 3
    finally:
        await monitor.measure([])  # drop this test's series
        await monitor.stop()
        await committer.stop()


async def test_a_worker_reports_every_partition_it_holds(deployment, tmp_path: Path) -> None:
    d = await deployment("lag")
    await d.produce(posting(f"T{i}", f"C{i % 50}", "10.00") for i in range(400))
    d.start_worker(tmp_path)
    await d.wait_healthy()

    every = {"0", "1", "2", "3"}
    held = {
        ("ledger", "deposit-transactions"),
        ("ledger", "online-behavior"),
        ("ledger", "signals"),
        ("ledger", "fx-rates"),  # read with the postings, co-partitioned
        ("ledger", "policy-versions"),  # likewise
        ("delivery", "manager-notifications"),
    }

    async def reported() -> dict[tuple[str, str], dict[str, float]] | None:
        found: dict[tuple[str, str], dict[str, float]] = {}
        for labels, value in await d.samples(LAG):
            found.setdefault((labels["group"], labels["topic"]), {})[labels["partition"]] = value
        processed = await d.metric("tiering_events_total", outcome="processed")
        done = processed == 400 and set(found) == held
        return found if done and all(v == 0 for p in found.values() for v in p.values()) else None

    # The worker's agents hold all four partitions of each topic they read (the exchange rates,
    # empty here, included); its delivery, of
    # manager-notifications. Once the postings are handled and committed, nothing waits.
    found = await wait_for(reported, 60, "every partition held reported, at zero lag")
    assert {key: set(parts) for key, parts in found.items()} == dict.fromkeys(held, every)
