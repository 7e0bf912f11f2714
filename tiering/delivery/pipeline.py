"""The delivery consumer's loop: each fetched batch is handled in a task of its own, side by
side with the batches before it, so notifications queued behind one robot's rate limit do not
hold up the next batch's other channels; and offsets are committed per partition up to the
first record not yet handled, so nothing is acknowledged before it was sent, dead-lettered or
found handled already.

How much is in hand is bounded (``max_pending`` records): beyond it the partitions are paused,
and the consumer keeps polling, so the group does not take a long drain for a dead member.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

log = logging.getLogger(__name__)

Records = list[ConsumerRecord[bytes, bytes]]
#: handles one batch; returns once every notification in it is handled
Handle = Callable[[Records], Awaitable[None]]
#: commits offsets (the next to read, per partition)
Commit = Callable[[dict[TopicPartition, int]], Awaitable[None]]


class PendingOffsets:
    """The offsets fetched and not yet committed, per partition, in order, each with whether
    it is handled: what may be committed is everything before the first one still open."""

    def __init__(self) -> None:
        self._offsets: dict[TopicPartition, dict[int, bool]] = {}

    def __len__(self) -> int:
        return sum(len(offsets) for offsets in self._offsets.values())

    def add(self, tp: TopicPartition, offsets: list[int]) -> None:
        """Offsets just fetched, ascending."""
        known = self._offsets.setdefault(tp, {})
        if known and offsets and offsets[0] <= next(reversed(known)):
            # The consumer went back to the committed offset (the partition came back after
            # a rebalance): start over from there. Batches still running for the old reading
            # go on; the claims keep them from sending anything twice.
            known.clear()
        known.update(dict.fromkeys(offsets, False))

    def done(self, tp: TopicPartition, offsets: Iterable[int]) -> None:
        """Offsets handled; those no longer tracked (a partition given up) are ignored."""
        known = self._offsets.get(tp)
        if known is None:
            return
        for offset in offsets:
            if offset in known:
                known[offset] = True

    def retain(self, assigned: Collection[TopicPartition]) -> None:
        """Forget the partitions this consumer no longer holds: their new owner reads them
        again from the committed offset."""
        for tp in [tp for tp in self._offsets if tp not in assigned]:
            del self._offsets[tp]

    def committable(self) -> dict[TopicPartition, int]:
        """The offset to commit per partition whose oldest records are handled (and forget
        those records)."""
        out: dict[TopicPartition, int] = {}
        for tp, known in self._offsets.items():
            for offset, handled in list(known.items()):
                if not handled:
                    break
                del known[offset]
                out[tp] = offset + 1
        return out


async def consume(
    consumer: AIOKafkaConsumer,
    handle: Handle,
    commit: Commit,
    stopping: asyncio.Event,
    *,
    batch_size: int,
    max_pending: int,
) -> None:
    """Fetch, handle and commit until ``stopping`` is set, then let the batches in hand finish
    and commit them. Cancelled, it cancels the batches in hand (which release what they could
    not finish) and commits what was handled. A batch that fails ends it with its error."""
    pending = PendingOffsets()
    handling: set[asyncio.Task[None]] = set()

    async def handle_batch(batches: dict[TopicPartition, Records]) -> None:
        await handle([r for records in batches.values() for r in records])
        for tp, records in batches.items():
            pending.done(tp, (r.offset for r in records))

    try:
        while not stopping.is_set():
            _raise_a_failure(handling)
            assigned = consumer.assignment()
            pending.retain(assigned)
            if len(pending) >= max_pending:
                consumer.pause(*assigned)
            elif paused := consumer.paused():
                consumer.resume(*paused)
            fetched = await consumer.getmany(timeout_ms=500, max_records=batch_size)
            batches = {tp: records for tp, records in fetched.items() if records}
            if batches:
                for tp, records in batches.items():
                    pending.add(tp, [r.offset for r in records])
                handling.add(asyncio.create_task(handle_batch(batches)))
            await _commit(commit, pending.committable())
        if handling:
            await asyncio.gather(*handling)
        await _commit(commit, pending.committable())
    except BaseException:
        for task in handling:
            task.cancel()
        await asyncio.gather(*handling, return_exceptions=True)
        try:
            await _commit(commit, pending.committable())
        except Exception as exc:
            log.warning("offsets of the handled notifications not committed (%s)", exc)
        raise


def _raise_a_failure(handling: set[asyncio.Task[None]]) -> None:
    for task in [t for t in handling if t.done()]:
        handling.discard(task)
        task.result()  # raises what ended the batch


async def _commit(commit: Commit, offsets: dict[TopicPartition, int]) -> None:
    if offsets:
        await commit(offsets)
