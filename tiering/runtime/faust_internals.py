"""Every place the service relies on faust-streaming's private attributes or undocumented
behaviour, in one module. ``pyproject.toml`` pins the release they were checked against
(0.15.3); ``tests/unit/runtime/test_faust_internals.py`` fails, naming the attribute, when an
upgrade changes one of them. Nothing else in the service reaches into Faust's internals.

1. **Resume order at the end of a rebalance.** Faust 0.15 (``Recovery._resume_streams``)

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

2. **Partitions nobody has committed yet are read from their start again.** Faust drops what
   the fetcher hands over for a partition it holds paused (while a rebalance ends, an empty set of
   active partitions even fetches *every* partition), trusting the seek to the committed offsets
   that follows to fetch it again. aiokafka's ``seek_to_committed`` leaves a partition with no
   committed offset where the fetcher left it, past what was dropped: a worker killed before its
   first commit and started again lost those messages for good (seen in 3 of 14 restarts of the
   exactly-once test). :func:`seek_uncommitted_to_start` seeks such stream partitions to their
   beginning, which is where ``consumer_auto_offset_reset="earliest"`` starts them anyway.
   Changelog partitions are left to Faust's recovery, which seeks them itself.

3. **A batch's states into a table's local store.** The batch cycle writes the changelog
   itself (a batch spans partitions; Faust's ``table[key] = value`` takes the partition from
   the event it believes current) and then the local store, ``Table.data``. The memory store
   remembers each key's partition in ``_key_partition`` so that it can drop the key when the
   partition is reassigned; :func:`write_local` fills it as Faust would.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from typing import Any

log = logging.getLogger(__name__)

#: ``(dotted class, attribute)`` this module relies on; the guard test checks each one
RELIED_ON = (
    ("faust.stores.memory.Store", "_key_partition"),
    ("faust.tables.recovery.Recovery", "_resume_streams"),
    ("faust.transport.consumer.Consumer", "resume_partitions"),
    ("faust.transport.consumer.Consumer", "assignment"),
    ("faust.App", "flow_control"),
    ("faust.App", "rebalancing"),
    ("faust.App", "on_rebalance_complete"),
    ("mode.utils.queues.FlowControlEvent", "resume"),
    ("faust.transport.consumer.ThreadDelegateConsumer", "_thread"),
    ("faust.transport.drivers.aiokafka.AIOKafkaConsumerThread", "seek_to_committed"),
    ("faust.transport.drivers.aiokafka.AIOKafkaConsumerThread", "_ensure_consumer"),
    ("faust.transport.drivers.aiokafka.AIOKafkaConsumerThread", "call_thread"),
    ("faust.tables.manager.TableManager", "changelog_topics"),
)

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
            resume_partitions({tp for tp in deferred if tp in held})
            deferred.clear()

    consumer.resume_partitions = deferring_resume_partitions
    flow_control.resume = resume_then_partitions


async def seek_committed_or_start(consumer: Any, changelogs: Collection[str]) -> dict[Any, Any]:
    """On aiokafka's ``consumer``: every assigned partition to its committed offset, and each
    stream partition without one (or at 0) to its beginning. Returns the committed offsets."""
    committed: dict[Any, Any] = await consumer.seek_to_committed()
    fresh = [
        tp
        for tp, offset in committed.items()
        if (offset is None or offset <= 0) and tp.topic not in changelogs
    ]
    if fresh:
        await consumer.seek_to_beginning(*fresh)
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
        result: dict[Any, Any] = await thread.call_thread(
            seek_committed_or_start, consumer, changelogs
        )
        return result

    thread.seek_to_committed = seek_to_committed


def write_local(table: Any, states: Iterable[tuple[bytes, bytes, int]]) -> None:
    """``(key, value, partition)`` into the table's local store, with each key's partition."""
    data = table.data
    key_partition = getattr(data, "_key_partition", None)
    for key, value, partition in states:
        data[key] = value
        if key_partition is not None:  # lets the memory store drop it when the partition goes
            key_partition[key] = partition
