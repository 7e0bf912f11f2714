"""Faust's internals behind one door: stream partitions resume only once Faust has emptied its
stream buffers (against mode's real queues), and every private attribute the door relies on is
still there in the installed release."""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from aiokafka import TopicPartition as TP
from mode.utils.queues import FlowControlEvent, FlowControlQueue

from tiering.runtime.faust_internals import (
    RELIED_ON,
    RESUME_STREAMS_ORDER,
    resume_after_buffers_emptied,
    seek_committed_or_start,
    seek_uncommitted_to_start,
)


@dataclass
class Consumer:
    """The two consumer methods the fix touches, recording when partitions resume."""

    assigned: set[str]
    buffer: FlowControlQueue[str]
    resumed: list[tuple[set[str], int]] = field(default_factory=list)

    def resume_partitions(self, tps: Any) -> None:
        # what was still buffered when fetching resumed
        self.resumed.append((set(tps), self.buffer.qsize()))

    def assignment(self) -> set[str]:
        return self.assigned


@dataclass
class App:
    consumer: Consumer
    flow_control: FlowControlEvent
    rebalancing: bool = True


def app_with_buffer() -> App:
    flow = FlowControlEvent()
    buffer: FlowControlQueue[str] = FlowControlQueue(flow_control=flow, clear_on_resume=True)
    return App(Consumer({"t-0", "t-1"}, buffer), flow)


def test_during_a_rebalance_partitions_resume_after_the_buffers_are_emptied() -> None:
    app = app_with_buffer()
    resume_after_buffers_emptied(app)
    app.consumer.resume_partitions({"t-0", "t-1"})
    # the fetcher keeps handing over messages while Faust seeks to the committed offsets
    app.consumer.buffer.put_nowait("message fetched before the seek")
    assert app.consumer.resumed == []

    app.flow_control.resume()

    assert app.consumer.resumed == [({"t-0", "t-1"}, 0)]
    assert app.consumer.buffer.empty()
    app.flow_control.resume()  # a later resume has nothing left to resume
    assert len(app.consumer.resumed) == 1


def test_a_partition_revoked_meanwhile_is_not_resumed() -> None:
    app = app_with_buffer()
    resume_after_buffers_emptied(app)
    app.consumer.resume_partitions({"t-0", "t-1"})
    app.consumer.assigned = {"t-1"}
    app.flow_control.resume()
    assert app.consumer.resumed == [({"t-1"}, 0)]


def test_outside_a_rebalance_partitions_resume_at_once() -> None:
    app = app_with_buffer()
    app.rebalancing = False
    resume_after_buffers_emptied(app)
    app.consumer.resume_partitions({"t-0"})
    assert app.consumer.resumed == [({"t-0"}, 0)]


def test_installing_twice_wraps_once() -> None:
    app = app_with_buffer()
    resume_after_buffers_emptied(app)
    resume_after_buffers_emptied(app)
    app.consumer.resume_partitions({"t-0"})
    app.flow_control.resume()
    assert app.consumer.resumed == [({"t-0"}, 0)]


# --- partitions with no commit go back to their start ---------------------------------------


@dataclass
class AIOKafkaConsumer:
    """aiokafka's seeks and its pause, recording what was sought where and held."""

    committed: dict[TP, int | None]
    to_start: list[TP] = field(default_factory=list)
    paused: list[TP] = field(default_factory=list)

    def assignment(self) -> set[TP]:
        return set(self.committed)

    def pause(self, *tps: TP) -> None:
        self.paused.extend(tps)

    async def seek_to_committed(self) -> dict[TP, int | None]:
        return dict(self.committed)

    async def beginning_offsets(self, tps: list[TP]) -> dict[TP, int]:
        return dict.fromkeys(tps, 0)

    def seek(self, tp: TP, offset: int) -> None:
        assert offset == 0
        self.to_start.append(tp)


@dataclass
class ConsumerThread:
    consumer: AIOKafkaConsumer
    calls: int = 0

    def _ensure_consumer(self) -> AIOKafkaConsumer:
        return self.consumer

    async def call_thread(self, fun: Any, *args: Any) -> Any:
        self.calls += 1
        return await fun(*args)

    async def seek_to_committed(self) -> dict[TP, int | None]:
        raise AssertionError("replaced")


@dataclass
class SeekingApp:
    consumer: Any
    tables: Any


def seeking_app(committed: dict[TP, int | None]) -> tuple[SeekingApp, ConsumerThread]:
    thread = ConsumerThread(AIOKafkaConsumer(committed))
    consumer = type("Consumer", (), {"_thread": thread})()
    tables = type("Tables", (), {"changelog_topics": {"app-ledger-changelog"}})()
    return SeekingApp(consumer, tables), thread


async def test_stream_partitions_with_no_commit_or_at_0_go_to_their_start() -> None:
    postings0, postings1, postings2 = (TP("postings", p) for p in range(3))
    changelog = TP("app-ledger-changelog", 0)
    committed = {postings0: None, postings1: 0, postings2: 7, changelog: None}
    consumer = AIOKafkaConsumer(committed)
    found = await seek_committed_or_start(consumer, {"app-ledger-changelog"}, [postings2])
    assert found == committed
    assert consumer.to_start == [postings0, postings1]
    assert consumer.paused == [postings2]  # held paused in aiokafka while Faust holds it


async def test_the_thread_seeks_in_its_own_loop_once_installed_once() -> None:
    app, thread = seeking_app({TP("postings", 0): None, TP("app-ledger-changelog", 0): None})
    seek_uncommitted_to_start(app)
    seek_uncommitted_to_start(app)
    await thread.seek_to_committed()
    assert thread.calls == 1
    assert thread.consumer.to_start == [TP("postings", 0)]


# --- the guard: what faust_internals relies on is still there ---------------------------------


def _class(dotted: str) -> type:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def _has(cls: type, attribute: str) -> bool:
    """On the class, or set on every instance as it is made (``__init__``, or mode's
    ``__post_init__``)."""
    if hasattr(cls, attribute):
        return True
    makers = [
        maker
        for k in cls.__mro__
        for name in ("__init__", "__post_init__")
        if inspect.isfunction(maker := vars(k).get(name))
    ]
    return any(f"self.{attribute}" in inspect.getsource(maker) for maker in makers)


@pytest.mark.parametrize(("where", "attribute"), RELIED_ON, ids=[f"{w}.{a}" for w, a in RELIED_ON])
def test_every_attribute_relied_on_is_still_there(where: str, attribute: str) -> None:
    assert _has(_class(where), attribute), (
        f"{where}.{attribute} is gone in faust-streaming {version('faust-streaming')}: "
        "re-check tiering/runtime/faust_internals/ before upgrading"
    )


def test_faust_still_resumes_the_partitions_before_it_empties_the_buffers() -> None:
    """The fix reorders exactly this sequence; if Faust changes it, the fix must be re-checked
    (and may no longer be needed)."""
    source = inspect.getsource(_class("faust.tables.recovery.Recovery")._resume_streams)
    positions = [source.find(call) for call in RESUME_STREAMS_ORDER]
    missing = [call for call, at in zip(RESUME_STREAMS_ORDER, positions, strict=True) if at < 0]
    assert not missing, f"Recovery._resume_streams no longer calls {missing}"
    assert positions == sorted(positions), (
        f"Recovery._resume_streams calls {RESUME_STREAMS_ORDER} in another order now"
    )


def test_the_tested_release_is_installed_and_pinned() -> None:
    pyproject = (Path(__file__).resolve().parents[3] / "pyproject.toml").read_text()
    assert f'"faust-streaming=={version("faust-streaming")}"' in pyproject
