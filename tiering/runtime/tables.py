"""A Faust table as the batch cycle uses it: the customers' encoded states, read by key, and
written once per batch, changelog first."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tiering.processing import BatchStore, Outgoing
from tiering.runtime import faust_internals
from tiering.runtime.faust_internals import Kept
from tiering.runtime.producer import BatchProducer


class StateTable:
    """One Faust table of ``bytes`` keys and values, and its changelog topic."""

    def __init__(self, table: Any, producer: BatchProducer) -> None:
        self._table = table
        self._producer = producer

    def get(self, key: bytes) -> bytes | None:
        return faust_internals.read_local(self._table, key)

    def scan(self, partition: int) -> Iterator[tuple[bytes, bytes]]:
        """Every stored ``(key, state)`` of ``partition`` (with the memory store, of every
        partition held: the caller tells them apart)."""
        return faust_internals.scan_local(self._table, (partition,))

    async def store(
        self, states: Sequence[tuple[bytes, bytes, int]], kept: Kept | None = None
    ) -> None:
        """``(key, encoded state, partition)``: to the changelog, waiting until Kafka has them,
        then to the local store, each partition's states together with the changelog offset
        they reach (a restart replays the changelog only after it) and the changes to the
        bookkeeping kept beside them (``kept``, local only).

        Not through Faust's ``table[key] = value``: that buffers the changelog record behind
        the batch's acknowledgement, and takes its partition from whichever event Faust thinks
        is current, while a batch spans many partitions and customers.
        """
        changelog = self._table.changelog_topic.get_topic_name()
        written = await self._producer.send_all(
            [Outgoing(changelog, key, value, partition) for key, value, partition in states]
        )
        offsets = {p: offset for (_, p), offset in written.items()}
        faust_internals.write_local(self._table, states, offsets, kept)

    def take_back(self, store: BatchStore[Any], held: set[int]) -> Recount:
        """After a rebalance: ``store``'s bookkeeping of the partitions ``held``, taken back
        from what each partition's database keeps beside the states where that still matches
        them, else counted again from the states and kept for the next start. Reads the whole
        of a partition only in the second case (a first start, a partition that was another
        worker's, a database Faust's recovery wrote)."""
        store.hold(held)
        stale = set()
        for partition in sorted(held):
            kept = faust_internals.read_kept(self._table, partition)
            if kept is None or not store.restore(partition, kept):
                stale.add(partition)
        customers = store.recount(faust_internals.scan_local(self._table, stale), stale)
        for partition in stale:
            faust_internals.replace_kept(self._table, partition, store.kept(partition))
        return Recount(restored=len(held) - len(stale), recounted=len(stale), customers=customers)


@dataclass(frozen=True, slots=True)
class Recount:
    """What :meth:`StateTable.take_back` did: partitions restored and recounted, and the
    customers read to recount."""

    restored: int
    recounted: int
    customers: int
