"""Stream partitions resume only once Faust has emptied its stream buffers (against mode's real
queues)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mode.utils.queues import FlowControlEvent, FlowControlQueue

from tiering.runtime.faust_internals import resume_after_buffers_emptied


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
