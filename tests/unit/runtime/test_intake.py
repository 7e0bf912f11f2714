"""The intake's order: a fetched batch split by topic, the agents' parts side by side, the
offsets past the batch committed only once every part is stored, one batch at a time, and a
rebalance waiting for the batch in hand."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from aiokafka import TopicPartition as TP

from tiering.runtime.checkpoint import Checkpoint
from tiering.runtime.intake import Intake
from tiering.wire.inbound import Inbound


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes = b"k"
    value: bytes = b"v"


@dataclass
class Agent:
    """A checkpoint whose runs wait until the test lets them finish."""

    log: list[str]
    name: str
    gates: dict[int, asyncio.Event] = field(default_factory=dict)
    fail_at: int | None = None

    async def run(self, batch: Sequence[Inbound]) -> None:
        first = batch[0].offset
        self.log.append(f"{self.name} start {first} ({len(batch)})")
        await self.gates.setdefault(first, asyncio.Event()).wait()
        if first == self.fail_at:
            raise RuntimeError("PostgreSQL said no")
        self.log.append(f"{self.name} stored {first}")

    def release(self, first: int) -> None:
        self.gates.setdefault(first, asyncio.Event()).set()


def batch(**parts: list[int]) -> dict[TP, list[Record]]:
    return {TP(t, 0): [Record(t, 0, o) for o in offsets] for t, offsets in parts.items()}


class World:
    def __init__(self) -> None:
        self.log: list[str] = []
        self.ledger = Agent(self.log, "ledger")
        self.notifier = Agent(self.log, "notifier")
        self.ready = asyncio.Event()
        self.ready.set()
        checkpoints = cast(
            Mapping[str, Checkpoint],
            {"postings": self.ledger, "rates": self.ledger, "signals": self.notifier},
        )
        self.intake = Intake(checkpoints, self.ready, self.commit)

    async def commit(self, offsets: Mapping[Any, int]) -> None:
        self.log.extend(f"commit {tp.topic}@{offset}" for tp, offset in sorted(offsets.items()))


async def until(condition: Any) -> None:
    """Let the loop run until ``condition`` holds (the intake's tasks take a few turns)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


async def test_parts_run_side_by_side_and_the_commit_follows_every_part_stored() -> None:
    w = World()
    handling = asyncio.create_task(w.intake.handle(batch(postings=[0, 1], signals=[7])))
    await until(lambda: "ledger start 0 (2)" in w.log and "notifier start 7 (1)" in w.log)
    w.ledger.release(0)
    await until(lambda: "ledger stored 0" in w.log)
    assert not any(x.startswith("commit") for x in w.log)  # the notifier's part is not stored
    w.notifier.release(7)
    await handling
    assert w.log[-2:] == ["commit postings@2", "commit signals@8"]


async def test_the_topics_of_one_agent_come_to_it_in_one_part() -> None:
    """The ledger reads the rates beside the postings: one run of its store, never two at
    once."""
    w = World()
    handling = asyncio.create_task(w.intake.handle(batch(rates=[3], postings=[0, 1])))
    await until(lambda: any(x.startswith("ledger start") for x in w.log))
    assert [x for x in w.log if "start" in x] == ["ledger start 3 (3)"]
    w.ledger.release(3)
    await handling
    assert w.log[-2:] == ["commit postings@2", "commit rates@4"]


async def test_a_rebalance_waits_for_the_batch_in_hand() -> None:
    w = World()
    handling = asyncio.create_task(w.intake.handle(batch(postings=[0])))
    await until(lambda: "ledger start 0 (1)" in w.log)
    settled = asyncio.create_task(w.intake.settled())
    await asyncio.sleep(0)
    assert not settled.done()
    w.ledger.release(0)
    await settled
    assert "commit postings@1" in w.log
    await handling


async def test_one_batch_at_a_time() -> None:
    w = World()
    first = asyncio.create_task(w.intake.handle(batch(postings=[0])))
    second = asyncio.create_task(w.intake.handle(batch(postings=[1])))
    await until(lambda: "ledger start 0 (1)" in w.log)
    await asyncio.sleep(0)
    assert "ledger start 1 (1)" not in w.log
    w.ledger.release(0)
    w.ledger.release(1)
    await asyncio.gather(first, second)
    assert [x for x in w.log if not x.startswith("ledger start")] == [
        "ledger stored 0",
        "commit postings@1",
        "ledger stored 1",
        "commit postings@2",
    ]


async def test_a_failed_part_fails_the_batch_and_nothing_is_committed() -> None:
    w = World()
    w.ledger.fail_at = 0
    handling = asyncio.create_task(w.intake.handle(batch(postings=[0], signals=[3])))
    w.ledger.release(0)
    w.notifier.release(3)
    with pytest.raises(RuntimeError, match="PostgreSQL said no"):
        await handling
    assert not any(x.startswith("commit") for x in w.log)


async def test_a_batch_waits_for_the_outputs_to_start() -> None:
    w = World()
    w.ready.clear()
    handling = asyncio.create_task(w.intake.handle(batch(postings=[0])))
    await asyncio.sleep(0)
    assert w.log == []
    w.ready.set()
    w.ledger.release(0)
    await handling
    assert w.log[-1] == "commit postings@1"
