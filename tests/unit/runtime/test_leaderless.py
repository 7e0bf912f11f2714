"""aiokafka's accumulator of an idempotent producer, its batches held: one whose partition has
had no leader for longer than the request timeout (a broker stopped, as the clients last saw
it) keeps waiting instead of failing the batch in hand."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.cluster import ClusterMetadata
from aiokafka.errors import NotLeaderForPartitionError
from aiokafka.producer.message_accumulator import MessageAccumulator
from aiokafka.producer.transaction_manager import TransactionManager

from tiering.runtime.faust_internals import hold_batches_without_leader

TP = TopicPartition("tier-changes", 0)


def idempotent_accumulator(accumulator_class: type[MessageAccumulator]) -> MessageAccumulator:
    """As an idempotent ``AIOKafkaProducer`` makes it, with a request timeout already past."""
    txn_manager = TransactionManager(transactional_id=None, transaction_timeout_ms=60_000)
    txn_manager.set_pid_and_epoch(1, 0)
    return accumulator_class(ClusterMetadata(), 1_048_576, 0, 0.0, txn_manager=txn_manager)


async def batch_without_leader(accumulator: MessageAccumulator) -> asyncio.Future[Any]:
    builder = accumulator.create_builder()
    assert builder.append(key=b"C0001", value=b"change", timestamp=None) is not None
    future: asyncio.Future[Any] = await accumulator.add_batch(builder, TP, timeout=1.0)
    accumulator.drain_by_nodes(ignore_nodes=set())  # the sender's turn: no leader known
    await asyncio.sleep(0)  # one turn of the loop: the batch's callbacks run
    return future


async def test_a_batch_waits_for_its_partitions_leader_beyond_the_request_timeout() -> None:
    held = type("HeldAccumulator", (MessageAccumulator,), {})
    hold_batches_without_leader(held)
    future = await batch_without_leader(idempotent_accumulator(held))
    assert not future.done()
    future.cancel()


async def test_without_the_hold_aiokafka_fails_it() -> None:
    future = await batch_without_leader(idempotent_accumulator(MessageAccumulator))
    with pytest.raises(NotLeaderForPartitionError):
        await future
