"""A Faust table as the batch cycle uses it: the customers' encoded states, read by key, and
written once per batch, changelog first."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from tiering.processing import Outgoing
from tiering.runtime import faust_internals
from tiering.runtime.producer import BatchProducer


class StateTable:
    """One Faust table of ``bytes`` keys and values, and its changelog topic."""

    def __init__(self, table: Any, producer: BatchProducer) -> None:
        self._table = table
        self._producer = producer

    def get(self, key: bytes) -> bytes | None:
        return faust_internals.read_local(self._table, key)

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        """Every ``(key, state)`` held, read as iterated (to be consumed without awaiting)."""
        yield from self._table.data.items()

    async def store(self, states: Sequence[tuple[bytes, bytes, int]]) -> None:
        """``(key, encoded state, partition)``: to the changelog, waiting until Kafka has them,
        then to the local store, each partition's states together with the changelog offset
        they reach (a restart replays the changelog only after it).

        Not through Faust's ``table[key] = value``: that buffers the changelog record behind
        the batch's acknowledgement, and takes its partition from whichever event Faust thinks
        is current, while a batch spans many partitions and customers.
        """
        changelog = self._table.changelog_topic.get_topic_name()
        written = await self._producer.send_all(
            [Outgoing(changelog, key, value, partition) for key, value, partition in states]
        )
        offsets = {p: offset for (_, p), offset in written.items()}
        faust_internals.write_local(self._table, states, offsets)
