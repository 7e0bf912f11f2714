"""Per-customer state for one batch of an agent, over a Faust table.

Reads go to the table; the batch's new states stay here until the agent has delivered the
batch's outputs, then go to the changelog (see ``TieringApp.store_states``), and only then is
the batch acknowledged. ``commit`` is called once they are stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

S = TypeVar("S")


class BatchStore(Generic[S]):
    def __init__(
        self,
        read: Callable[[bytes], bytes | None],
        encode: Callable[[S], bytes],
        decode: Callable[[bytes], S],
    ) -> None:
        self._read = read
        self._encode = encode
        self._decode = decode
        self._dirty: dict[bytes, tuple[S, int]] = {}

    def get(self, key: bytes) -> S | None:
        staged = self._dirty.get(key)
        if staged is not None:
            return staged[0]
        raw = self._read(key)
        return None if raw is None else self._decode(raw)

    def put(self, key: bytes, state: S, partition: int) -> None:
        """Stage ``state`` (read with :meth:`get` in this batch) for the customer's partition."""
        self._dirty[key] = (state, partition)

    def staged(self) -> list[tuple[bytes, bytes, int]]:
        """``(key, encoded state, partition)`` of every customer the batch changed."""
        return [(key, self._encode(state), p) for key, (state, p) in self._dirty.items()]

    def commit(self) -> None:
        """The staged states are stored."""
        self._dirty.clear()

    def discard(self) -> None:
        self._dirty.clear()
