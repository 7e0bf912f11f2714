"""What the batch cycle (:mod:`tiering.runtime.checkpoint`) and a domain's processor say to each
other. A processor is pure: a batch of inbound messages in, :class:`Decisions` out: the rows to
write, the records to produce, the new customer states (staged in its :class:`BatchStore`), and
what to count once all of it is stored. It never sees offsets, Faust or a connection.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from tiering import metrics
from tiering.wire.inbound import DeadLetter, Inbound, set_aside

S = TypeVar("S")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One record to produce, on the customer's own partition."""

    topic: str
    key: bytes | None
    value: bytes | None
    partition: int
    headers: list[tuple[str, bytes]] | None = None


@dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement and its arguments: rows to write, or a lookup."""

    sql: str
    args: tuple[object, ...]


@dataclass(frozen=True, slots=True)
class BatchContext:
    """What a processor gets besides the batch."""

    #: the wall clock: stamps ``decided_at`` and measures lag, never decides anything
    now_ms: int
    #: the rows of the processor's :meth:`Processor.lookup`, if it asked for any
    found: Sequence[Mapping[str, Any]] = ()


@dataclass(slots=True)
class Decisions:
    """What one batch decided, for the batch cycle to write out in its order."""

    #: PostgreSQL statements, written in one transaction
    rows: list[Statement] = field(default_factory=list)
    #: records to produce (outputs, signals, dead letters)
    records: list[Outgoing] = field(default_factory=list)
    #: adds the batch to the metrics; called only once the batch is stored
    count: Callable[[], None] = lambda: None


@dataclass(slots=True)
class InputTally:
    """What a batch of input events came to, as every input topic counts it."""

    dead_letters: list[DeadLetter] = field(default_factory=list)
    #: processed, duplicate, dead_letter → events
    outcomes: Counter[str] = field(default_factory=Counter)
    #: processing time minus event time, per applied event
    lags_ms: list[int] = field(default_factory=list)

    def set_aside(self, letter: DeadLetter) -> None:
        self.dead_letters.append(letter)
        self.outcomes["dead_letter"] += 1

    def dead_letter_records(self, dlq_topic: str, failed_at_ms: int) -> list[Outgoing]:
        """The dead letters for ``dlq_topic``: the original key and bytes, headers saying why."""
        for letter in self.dead_letters:
            letter.log()
        return [
            Outgoing(
                dlq_topic, d.source.key, d.source.value, d.source.partition, d.headers(failed_at_ms)
            )
            for d in self.dead_letters
        ]

    def count(self, topic: str) -> None:
        """``tiering_events_total``, ``tiering_dead_letters_total``, ``tiering_event_lag_seconds``
        for the input topic (its contract name)."""
        for outcome, n in self.outcomes.items():
            metrics.EVENTS.labels(topic, outcome).inc(n)
        for letter in self.dead_letters:
            metrics.DEAD_LETTERS.labels(topic, letter.reason).inc()
        lag = metrics.EVENT_LAG.labels(topic)
        for ms in self.lags_ms:
            lag.observe(ms / 1000)


class BatchStore(Generic[S]):
    """Per-customer state for one batch, over a table of encoded states.

    Reads go to the table; the batch's new states are staged here until the batch cycle has
    delivered the batch's outputs and written the states to the table (changelog first), and
    then :meth:`commit` is called. :meth:`discard` drops them when the batch fails.
    """

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

    # --- bookkeeping: what a store keeps beside the states, per partition ---------------------
    #
    # A store may keep, per partition, entries derived from its states (totals, an index of
    # deadlines): :meth:`kept_staged` says what a batch changes in them, and the batch cycle
    # writes that together with the states. After a rebalance the store starts again from
    # :meth:`hold`, then takes each partition's entries back (:meth:`restore`) or, where
    # none are kept or they no longer match the states, counts them again from the states
    # (:meth:`recount`) and hands them over to be kept (:meth:`kept`).

    #: whether this store keeps anything beside its states
    keeps_bookkeeping = False

    def kept_staged(self) -> dict[int, list[tuple[bytes, bytes | None]]]:
        """Per partition the batch changed: ``(name, value)`` to keep, None to drop the name."""
        return {}

    def hold(self, partitions: set[int]) -> None:
        """After a rebalance: the bookkeeping of ``partitions`` starts again from nothing."""

    def restore(self, partition: int, kept: Iterable[tuple[bytes, bytes]]) -> bool:
        """Take ``partition``'s bookkeeping back from what was kept; False if it cannot be."""
        return True

    def recount(self, items: Iterable[tuple[bytes, bytes]], partitions: set[int]) -> int:
        """Count the bookkeeping of ``partitions`` again from the table's ``(key, state)``
        items (which may hold other partitions too); the number of customers counted."""
        return 0

    def kept(self, partition: int) -> list[tuple[bytes, bytes]]:
        """Everything to keep for ``partition`` now: after :meth:`recount`."""
        return []


class Processor(Protocol):
    """A domain's batch processor, as the batch cycle drives it."""

    @property
    def store(self) -> BatchStore[Any]: ...

    def lookup(self, batch: Sequence[Inbound]) -> Statement | None:
        """What to read from PostgreSQL before deciding (the answer comes in
        :attr:`BatchContext.found`), or None."""
        ...

    def process(self, batch: Sequence[Inbound], context: BatchContext) -> Decisions: ...


def apply_each(
    batch: Iterable[Inbound], apply: Callable[[Inbound], T]
) -> Iterator[tuple[Inbound, T | DeadLetter]]:
    """``apply`` each message (decode, check, apply the rules); a message it raises on is set
    aside as a :class:`DeadLetter` with its reason, and the batch goes on."""
    for message in batch:
        try:
            result: T | DeadLetter = apply(message)
        except Exception as exc:  # bad input, or a bug that met this message: set it aside
            result = set_aside(message, exc)
        yield message, result
