"""The customer ledgers of the partitions a worker holds, and beside them, per partition: the
customers and deposits per tier (the ``tiering_customers`` and ``tiering_balance_cny`` gauges),
the stream time, and the pending deadlines for the sweep (§3's grace period, §5 idle funds).

That bookkeeping is kept beside the states (:meth:`kept_staged`, written with each batch), so a
worker that starts again with its local tables takes it back in milliseconds
(:meth:`restore`) instead of reading every customer (:meth:`recount`)."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import Any

import msgpack

from tiering.core.policy import Policy
from tiering.core.tiers import Tier
from tiering.ledger.departure import spell_end
from tiering.ledger.idle import spell_deadline
from tiering.ledger.rules import earliest, grace_deadline, next_deadline
from tiering.ledger.state import CustomerState, decode_standing, decode_state, encode_state
from tiering.processing import BatchStore

#: the kept entries: the partition's summary, and one deadline per customer with one pending:
#: the earliest of their downgrade (§3), their idle-funds signal (§5) and their departure (§7.3)
_SUMMARY = b"s"
_DEADLINE = b"d"
#: the summary's layout: [format, grace ms, customers per tier, fen per tier, stream time,
#: idle ms, departure ms]. 2: fen per tier sums the customers' deposit balances with overdrawn
#: accounts at zero (§3). 3: the deadlines include idle funds, and the idle days are kept. 4: the
#: deadlines include departures (§7.3), and their days are kept. A summary of an older format,
#: or of other grace, idle or departure days, is not kept on: recounted.
SUMMARY_FORMAT = 4

Tally = dict[int, list[int]]


class LedgerStore(BatchStore[CustomerState]):
    """:class:`BatchStore` of the customers' ledgers, with the per-partition bookkeeping."""

    keeps_bookkeeping = True

    def __init__(self, read: Callable[[bytes], bytes | None], policy: Policy) -> None:
        super().__init__(read, encode_state, decode_state)
        self._policy = policy
        #: tier, total and downgrade deadline of each customer the batch read, before the batch
        self._before: dict[bytes, tuple[Tier | None, int, int | None]] = {}
        self.counts: Tally = {}
        self.balances: Tally = {}
        #: per partition, the newest event time applied: the sweep's "now"
        self.stream_time: dict[int, int] = {}
        self._deadlines: dict[int, list[tuple[int, bytes]]] = {}
        self._scheduled: dict[bytes, int] = {}

    def get(self, key: bytes) -> CustomerState | None:
        state = super().get(key)
        if key not in self._before and key not in self._dirty:
            self._before[key] = (
                (None, 0, None)
                if state is None
                else (state.tier, state.total_fen, next_deadline(state, self._policy))
            )
        return state

    def put(self, key: bytes, state: CustomerState, partition: int | None = None) -> None:
        super().put(key, state, state.partition if partition is None else partition)

    def discard(self) -> None:
        super().discard()
        self._before.clear()

    def commit(self) -> None:
        """The batch's states are stored: count them and watch their deadlines."""
        self._count_batch(self.counts, self.balances)
        for key, (state, _) in self._dirty.items():
            self._schedule(key, state)
        self.discard()

    def _count_batch(self, counts: Tally, balances: Tally) -> None:
        """Move the batch's customers from their tier before the batch to their tier now."""
        for key, (state, _) in self._dirty.items():
            old_tier, old_total, _ = self._before[key]
            _count(counts, balances, state.partition, old_tier, old_total, -1)
            _count(counts, balances, state.partition, state.tier, state.total_fen, +1)

    def advance(self, partition: int, event_time_ms: int) -> None:
        """A posting of ``event_time_ms`` was applied on ``partition``."""
        if event_time_ms > self.stream_time.get(partition, 0):
            self.stream_time[partition] = event_time_ms

    def _schedule(self, key: bytes, state: CustomerState) -> None:
        deadline = next_deadline(state, self._policy)
        if deadline is None:
            self._scheduled.pop(key, None)
        elif self._scheduled.get(key) != deadline:
            self._scheduled[key] = deadline
            heapq.heappush(self._deadlines.setdefault(state.partition, []), (deadline, key))

    def due(self, partition: int, now_ms: int) -> list[bytes]:
        """Customers of ``partition`` whose downgrade deadline is at or before ``now_ms``,
        including deadlines set earlier in this very batch."""
        for key, (state, p) in self._dirty.items():
            if p == partition:
                self._schedule(key, state)
        heap = self._deadlines.get(partition)
        keys: list[bytes] = []
        while heap and heap[0][0] <= now_ms:
            deadline, key = heapq.heappop(heap)
            if self._scheduled.get(key) == deadline:  # else superseded by a later schedule
                del self._scheduled[key]
                keys.append(key)
        return keys

    def tier_totals(self) -> tuple[list[int], list[int]]:
        """Customers and balance (fen) per tier, over the partitions held."""
        counts = [sum(c[t] for c in self.counts.values()) for t in Tier]
        balances = [sum(b[t] for b in self.balances.values()) for t in Tier]
        return counts, balances

    # --- the bookkeeping kept beside the states ---------------------------------------------

    def _summary(self, partition: int, counts: list[int], balances: list[int]) -> bytes:
        stream_time = self.stream_time.get(partition, 0)
        grace = self._policy.downgrade_grace_ms
        idle, departure = self._policy.idle_ms, self._policy.departure_ms
        packed: bytes = msgpack.packb(
            [SUMMARY_FORMAT, grace, counts, balances, stream_time, idle, departure]
        )
        return packed

    def kept_staged(self) -> dict[int, list[tuple[bytes, bytes | None]]]:
        touched = {state.partition for state, _ in self._dirty.values()}
        counts = {p: list(self.counts.get(p, _NONE)) for p in touched}
        balances = {p: list(self.balances.get(p, _NONE)) for p in touched}
        self._count_batch(counts, balances)
        kept: dict[int, list[tuple[bytes, bytes | None]]] = {
            p: [(_SUMMARY, self._summary(p, counts[p], balances[p]))] for p in touched
        }
        for key, (state, _) in self._dirty.items():
            deadline = next_deadline(state, self._policy)
            if deadline != self._before[key][2]:
                value = None if deadline is None else msgpack.packb(deadline)
                kept[state.partition].append((_DEADLINE + key, value))
        return kept

    def hold(self, partitions: set[int]) -> None:
        self.counts = {p: [0, 0, 0, 0] for p in partitions}
        self.balances = {p: [0, 0, 0, 0] for p in partitions}
        self._deadlines.clear()
        self._scheduled.clear()
        self.stream_time = {p: t for p, t in self.stream_time.items() if p in partitions}

    def restore(self, partition: int, kept: Iterable[tuple[bytes, bytes]]) -> bool:
        summary: list[Any] | None = None
        deadlines: list[tuple[int, bytes]] = []
        for name, value in kept:
            if name == _SUMMARY:
                summary = msgpack.unpackb(value)
            elif name.startswith(_DEADLINE):
                deadlines.append((msgpack.unpackb(value), name[len(_DEADLINE) :]))
        policy = self._policy
        if summary is None or summary[:2] + summary[5:] != [
            SUMMARY_FORMAT,
            policy.downgrade_grace_ms,
            policy.idle_ms,
            policy.departure_ms,
        ]:
            return False  # never kept, or another format or period since: recount
        _, _, counts, balances, stream_time, _, _ = summary
        self.counts[partition] = list(counts)
        self.balances[partition] = list(balances)
        self.advance(partition, stream_time)
        for deadline, key in deadlines:
            self._scheduled[key] = deadline
        heapq.heapify(deadlines)
        self._deadlines[partition] = deadlines
        return True

    def recount(self, items: Iterable[tuple[bytes, bytes]], partitions: set[int]) -> int:
        customers = 0
        for key, raw in items:
            held = decode_standing(raw)
            if held.partition not in partitions:
                continue
            customers += 1
            p = held.partition
            _count(self.counts, self.balances, p, held.tier, held.total_fen, +1)
            deadline = earliest(
                grace_deadline(held.tier, held.below_tier_since, self._policy),
                spell_deadline(held.idle_since, held.total_fen, self._policy),
                spell_end(held.empty_since, self._policy),
            )
            if deadline is not None:
                self._scheduled[key] = deadline
                self._deadlines.setdefault(p, []).append((deadline, key))
            self.advance(p, held.clock_ms)
        for heap in self._deadlines.values():
            heapq.heapify(heap)
        return customers

    def kept(self, partition: int) -> list[tuple[bytes, bytes]]:
        counts = self.counts.get(partition, _NONE)
        balances = self.balances.get(partition, _NONE)
        pending = {
            key: deadline
            for deadline, key in self._deadlines.get(partition, [])
            if self._scheduled.get(key) == deadline
        }
        kept = [(_DEADLINE + key, msgpack.packb(deadline)) for key, deadline in pending.items()]
        return [(_SUMMARY, self._summary(partition, counts, balances)), *kept]


_NONE = [0, 0, 0, 0]


def _count(
    counts: Tally, balances: Tally, partition: int, tier: Tier | None, total: int, sign: int
) -> None:
    if tier is None:
        return
    counts.setdefault(partition, [0, 0, 0, 0])[tier] += sign
    balances.setdefault(partition, [0, 0, 0, 0])[tier] += sign * total  # never negative (§3)
