"""What the delivery consumer may commit while batches are handled side by side: per partition,
everything before the first record still open, never past it."""

from __future__ import annotations

from aiokafka import TopicPartition

from tiering.delivery.pipeline import PendingOffsets

P0 = TopicPartition("manager-notifications", 0)
P1 = TopicPartition("manager-notifications", 1)


def test_nothing_is_committable_before_it_is_handled() -> None:
    pending = PendingOffsets()
    pending.add(P0, [0, 1, 2])
    assert pending.committable() == {}
    assert len(pending) == 3


def test_a_later_batch_handled_first_waits_for_the_earlier_one() -> None:
    pending = PendingOffsets()
    pending.add(P0, [0, 1, 2])  # a burst queued behind a robot's rate limit
    pending.add(P0, [3, 4])  # another team's, handled at once
    pending.done(P0, [3, 4])
    assert pending.committable() == {}
    pending.done(P0, [0, 1])
    assert pending.committable() == {P0: 2}
    assert pending.committable() == {}  # committed once
    pending.done(P0, [2])
    assert pending.committable() == {P0: 5}
    assert len(pending) == 0


def test_partitions_are_committed_each_on_its_own() -> None:
    pending = PendingOffsets()
    pending.add(P0, [10, 11])
    pending.add(P1, [7])
    pending.done(P1, [7])
    assert pending.committable() == {P1: 8}
    pending.done(P0, [10, 11])
    assert pending.committable() == {P0: 12}


def test_a_partition_given_up_is_forgotten_and_late_news_of_it_ignored() -> None:
    pending = PendingOffsets()
    pending.add(P0, [0, 1])
    pending.add(P1, [0])
    pending.retain({P1})
    pending.done(P0, [0, 1])  # its batch ends after the rebalance
    pending.done(P1, [0])
    assert pending.committable() == {P1: 1}


def test_reading_a_partition_again_from_its_committed_offset_starts_over() -> None:
    pending = PendingOffsets()
    pending.add(P0, [5, 6, 7])
    pending.add(P0, [5, 6])  # the partition came back from a rebalance, read again from 5
    assert len(pending) == 2
    pending.done(P0, [5, 6])
    assert pending.committable() == {P0: 7}
