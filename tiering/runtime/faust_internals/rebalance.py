"""Two fixes to how Faust 0.15 ends a rebalance.

**Resume order at the end of a rebalance.** Faust 0.15 (``Recovery._resume_streams``)

a. resumes fetching the stream partitions (``consumer.resume_partitions``),
b. seeks them to their committed offsets and resets its read offsets (``perform_seek``,
   which waits on the broker), then
c. resumes flow control, which empties every stream buffer (``flow_control.resume()``).

While (b) waits, the fetcher already hands messages of the resumed partitions to the
streams and raises Faust's read offset past them; (c) then throws those messages away, and
when they are fetched again Faust drops them as already read. They are never processed nor
acknowledged: the partition's committed offset stops there for good, or Faust's gap
handling commits past them, and their postings never reach the balances (seen in 3 of 83
restarts of a worker killed mid-stream; none in 61 with this fix).

:func:`resume_after_buffers_emptied` keeps the stream partitions paused through (b) and (c)
and resumes them right after the buffers are emptied, in the same synchronous call, so
every message Faust hands over comes from the committed offset with a read offset that
agrees. Outside a rebalance nothing changes. It is installed from the
``on_rebalance_complete`` signal, which ``_resume_streams`` sends before (a).

**Partitions nobody has committed yet are read from their start again.** Faust drops what
the fetcher hands over for a partition it holds paused (while a rebalance ends, an empty set of
active partitions even fetches *every* partition), trusting the seek to the committed offsets
that follows to fetch it again. aiokafka's ``seek_to_committed`` leaves a partition with no
committed offset where the fetcher left it, past what was dropped: a worker killed before its
first commit and started again lost those messages for good (seen in 3 of 14 restarts of the
exactly-once test). :func:`seek_uncommitted_to_start` seeks such stream partitions to their
beginning, which is where ``consumer_auto_offset_reset="earliest"`` starts them anyway.
Changelog partitions are left to Faust's recovery, which seeks them itself. And since fix 1
holds the stream partitions paused in Faust until after that seek, what the fetcher handed
over *after* the seek was dropped too (postings sent as a restored worker became healthy
were lost): the seek pauses them in aiokafka as well, which then neither fetches nor hands
them over, and fix 1 resumes them in both.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from typing import Any

from aiokafka import TopicPartition

log = logging.getLogger(__name__)

#: the order of the calls in ``Recovery._resume_streams`` that the fix reorders
RESUME_STREAMS_ORDER = (
    "on_rebalance_complete.send()",
    "consumer.resume_partitions(",
    "consumer.perform_seek()",
    "app.flow_control.resume()",
)

_MARK = "_tiering_resume_deferred"
_SEEK_MARK = "_tiering_seeks_uncommitted_to_start"


def resume_after_buffers_emptied(app: Any) -> None:
    """Wrap ``app.consumer.resume_partitions`` and ``app.flow_control.resume`` (once)."""
    consumer, flow_control = app.consumer, app.flow_control
    if getattr(consumer, _MARK, None) is not None:
        return
    resume_partitions = consumer.resume_partitions
    resume_flow = flow_control.resume
    deferred: set[Any] = set()
    setattr(consumer, _MARK, deferred)

    def deferring_resume_partitions(tps: Any) -> None:
        if not app.rebalancing:
            resume_partitions(tps)
            return
        deferred.clear()
        deferred.update(tps)
        log.debug("resuming %d partitions once the stream buffers are emptied", len(deferred))

    def resume_then_partitions() -> None:
        resume_flow()  # empties the stream buffers
        if deferred:
            held = set(consumer.assignment())
            resuming = {tp for tp in deferred if tp in held}
            resume_partitions(resuming)
            _resume_fetching(consumer, resuming)
            deferred.clear()

    consumer.resume_partitions = deferring_resume_partitions
    flow_control.resume = resume_then_partitions


def _aiokafka_tps(consumer: Any, tps: Iterable[Any]) -> list[TopicPartition]:
    """Faust's ``TP``s as aiokafka's, those ``consumer`` (aiokafka's) holds."""
    assigned = consumer.assignment()
    found = (TopicPartition(tp.topic, tp.partition) for tp in tps)
    return [tp for tp in found if tp in assigned]


def _resume_fetching(consumer: Any, tps: set[Any]) -> None:
    """Resume ``tps`` in aiokafka too, in the consumer thread's loop (its futures live there);
    no-op without Faust's consumer thread."""
    thread: Any = getattr(consumer, "_thread", None)
    fetching = getattr(thread, "_consumer", None)
    if fetching is None or not tps:
        return
    thread.thread_loop.call_soon_threadsafe(lambda: fetching.resume(*_aiokafka_tps(fetching, tps)))


async def seek_committed_or_start(
    consumer: Any, changelogs: Collection[str], held: Iterable[Any] = ()
) -> dict[Any, Any]:
    """On aiokafka's ``consumer``: hold the stream partitions Faust holds paused (``held``)
    paused in aiokafka too, then every assigned partition to its committed offset, and each
    stream partition without one (or at 0) to its beginning. Returns the committed offsets."""
    holding = _aiokafka_tps(consumer, held)
    if holding:
        consumer.pause(*holding)
    committed: dict[Any, Any] = await consumer.seek_to_committed()
    fresh = [
        tp
        for tp, offset in committed.items()
        if (offset is None or offset <= 0) and tp.topic not in changelogs
    ]
    if fresh:
        # to an offset at once: seek_to_beginning would leave the position unset while it
        # resets, and Faust's livelock detector asserts on an unset position
        starts = await consumer.beginning_offsets(fresh)
        for tp in fresh:
            consumer.seek(tp, starts[tp])
    return committed


def seek_uncommitted_to_start(app: Any) -> None:
    """Replace the consumer thread's ``seek_to_committed`` with
    :func:`seek_committed_or_start` (once)."""
    thread = app.consumer._thread
    if getattr(thread, _SEEK_MARK, False):
        return
    setattr(thread, _SEEK_MARK, True)

    async def seek_to_committed() -> dict[Any, Any]:
        consumer = thread._ensure_consumer()
        changelogs = app.tables.changelog_topics
        held = set(getattr(app.consumer, _MARK, None) or ())  # waiting for the resume fix
        result: dict[Any, Any] = await thread.call_thread(
            seek_committed_or_start, consumer, changelogs, held
        )
        return result

    thread.seek_to_committed = seek_to_committed
