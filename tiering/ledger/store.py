"""The customer ledgers of the partitions a worker holds, and beside them, per partition: the
customers and deposits per tier (the ``tiering_customers`` and ``tiering_balance_cny`` gauges),
the stream time, and the pending downgrade deadlines for the sweep (§3's grace period)."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable

from tiering.core.policy import Policy
from tiering.core.tiers import Tier
from tiering.ledger.rules import next_deadline
from tiering.ledger.state import CustomerState, decode_state, encode_state
from tiering.processing import BatchStore


class LedgerStore(BatchStore[CustomerState]):
    """:class:`BatchStore` of the customers' ledgers, with the per-partition bookkeeping."""

    def __init__(self, read: Callable[[bytes], bytes | None], policy: Policy) -> None:
        super().__init__(read, encode_state, decode_state)
        self._policy = policy
        #: tier and total of each customer the batch changed, before the batch
        self._before: dict[bytes, tuple[Tier | None, int]] = {}
        self.counts: dict[int, list[int]] = {}
        self.balances: dict[int, list[int]] = {}
        #: per partition, the newest event time applied: the sweep's "now"
        self.stream_time: dict[int, int] = {}
        self._deadlines: dict[int, list[tuple[int, bytes]]] = {}
        self._scheduled: dict[bytes, int] = {}

    def get(self, key: bytes) -> CustomerState | None:
        state = super().get(key)
        if key not in self._before and key not in self._dirty:
            self._before[key] = (None, 0) if state is None else (state.tier, state.total_fen)
        return state

    def put(self, key: bytes, state: CustomerState, partition: int | None = None) -> None:
        super().put(key, state, state.partition if partition is None else partition)

    def discard(self) -> None:
        super().discard()
        self._before.clear()

    def commit(self) -> None:
        """The batch's states are stored: count them and watch their deadlines."""
        for key, (state, _) in self._dirty.items():
            old_tier, old_total = self._before[key]
            self._count(state.partition, old_tier, old_total, -1)
            self._count(state.partition, state.tier, state.total_fen, +1)
            self._schedule(key, state)
        self.discard()

    def advance(self, partition: int, event_time_ms: int) -> None:
        """A posting of ``event_time_ms`` was applied on ``partition``."""
        if event_time_ms > self.stream_time.get(partition, 0):
            self.stream_time[partition] = event_time_ms

    def _count(self, partition: int, tier: Tier | None, total: int, sign: int) -> None:
        if tier is None:
            return
        self.counts.setdefault(partition, [0, 0, 0, 0])[tier] += sign
        self.balances.setdefault(partition, [0, 0, 0, 0])[tier] += sign * max(total, 0)

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

    def rebuild(self, items: Iterable[tuple[bytes, bytes]], partitions: set[int]) -> int:
        """After a rebalance: recount the partitions this worker now holds, from the table."""
        self.counts = {p: [0, 0, 0, 0] for p in partitions}
        self.balances = {p: [0, 0, 0, 0] for p in partitions}
        self._deadlines.clear()
        self._scheduled.clear()
        self.stream_time = {p: t for p, t in self.stream_time.items() if p in partitions}
        customers = 0
        for key, raw in items:
            state = decode_state(raw)
            if state.partition not in partitions:
                continue
            customers += 1
            self._count(state.partition, state.tier, state.total_fen, +1)
            self._schedule(key, state)
            self.advance(state.partition, state.clock_ms)
        return customers

    def tier_totals(self) -> tuple[list[int], list[int]]:
        """Customers and balance (fen) per tier, over the partitions held."""
        counts = [sum(c[t] for c in self.counts.values()) for t in Tier]
        balances = [sum(b[t] for b in self.balances.values()) for t in Tier]
        return counts, balances
