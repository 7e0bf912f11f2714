"""Turns a batch of raw ``deposit-transactions`` messages into decisions and outputs.

The imperative shell around :mod:`streams.core.ledger`: it decodes, calls the core, and says
what to send, what to store and what to set aside; it does no I/O itself. The Faust agent
(:mod:`streams.app`) writes the outputs, then commits the batch's state (see
:meth:`LedgerStore.commit`) and only then acknowledges the messages.
"""

from __future__ import annotations

import heapq
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sinks.postgres import BalanceRow
from streams.codec import DEPOSIT_TRANSACTION, TIER_CHANGE, AvroCodec, CodecError
from streams.core.ledger import (
    CustomerState,
    Outcome,
    Signal,
    TierDecision,
    apply_posting,
    expire_grace,
    next_deadline,
)
from streams.core.money import from_fen
from streams.core.notifier import PURCHASE, Notice
from streams.core.policy import Policy
from streams.core.postings import BadInput, TxnType, posting_from_record
from streams.core.state_codec import decode_state, encode_state
from streams.core.tiers import Tier
from streams.state import BatchStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Inbound:
    """One consumed message, as it came off the wire."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    source: Inbound
    reason: str
    error: str

    def headers(self, failed_at_ms: int) -> list[tuple[str, bytes]]:
        return [
            ("dlq.reason", self.reason.encode()),
            ("dlq.error", self.error.encode()),
            ("dlq.topic", self.source.topic.encode()),
            ("dlq.partition", str(self.source.partition).encode()),
            ("dlq.offset", str(self.source.offset).encode()),
            ("dlq.failed_at", str(failed_at_ms).encode()),
        ]


@dataclass(slots=True)
class BatchOutput:
    """What one batch decided, in the order it must reach the outside."""

    changes: list[tuple[int, TierDecision]] = field(default_factory=list)
    signals: list[tuple[int, Signal]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    balances: dict[str, BalanceRow] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)
    lags_ms: list[int] = field(default_factory=list)
    inflow_fen: Counter[Tier] = field(default_factory=Counter)
    outflow_fen: Counter[Tier] = field(default_factory=Counter)
    #: ORDINARY customers whose accounts all went to zero or below (§7.3)
    emptied: Counter[Tier] = field(default_factory=Counter)
    #: postings into a product, for the notifier to match with what it suggested (§7.4)
    purchases: list[tuple[int, Notice]] = field(default_factory=list)


class LedgerStore(BatchStore[CustomerState]):
    """The customer ledgers of this worker's partitions (see :class:`BatchStore`), and beside
    them, per partition: the per-tier totals for the gauges, the stream time, and the pending
    downgrade deadlines for the sweep."""

    def __init__(self, read: Callable[[bytes], bytes | None], policy: Policy) -> None:
        super().__init__(read, encode_state, decode_state)
        self._policy = policy
        #: tier and total of each customer the batch changed, before the batch
        self._before: dict[bytes, tuple[Tier | None, int]] = {}
        self.counts: dict[int, list[int]] = {}
        self.balances: dict[int, list[int]] = {}
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
            if state.clock_ms > self.stream_time.get(state.partition, 0):
                self.stream_time[state.partition] = state.clock_ms
        return customers

    def tier_totals(self) -> tuple[list[int], list[int]]:
        """Customers and balance (fen) per tier, over the partitions held."""
        counts = [sum(c[t] for c in self.counts.values()) for t in Tier]
        balances = [sum(b[t] for b in self.balances.values()) for t in Tier]
        return counts, balances


class LedgerProcessor:
    """Decode, validate, apply; collect what the batch decided."""

    def __init__(self, policy: Policy, codec: AvroCodec, store: LedgerStore) -> None:
        self.policy = policy
        self.codec = codec
        self.store = store

    def process(self, batch: Sequence[Inbound], now_ms: int) -> BatchOutput:
        out = BatchOutput()
        for message in batch:
            self._process_one(message, now_ms, out)
        for partition in sorted({m.partition for m in batch}):
            self._sweep(partition, out)
        return out

    def _process_one(self, message: Inbound, now_ms: int, out: BatchOutput) -> None:
        try:
            if message.value is None:
                raise BadInput("empty_value", "the message has no value (a tombstone?)")
            _, record = self.codec.decode(message.value, expect=DEPOSIT_TRANSACTION, plain=True)
            posting = posting_from_record(record, self.policy, decode_key(message))
            store_key = posting.customer_id.encode()
            before = self.store.get(store_key)
            previous_total = 0 if before is None else before.total_fen
            state, applied = apply_posting(before, posting, self.policy, message.partition)
        except Exception as exc:  # bad input, or a bug that met this posting: set it aside
            out.dead_letters.append(set_aside(message, exc))
            out.outcomes["dead_letter"] += 1
            return

        out.outcomes[applied.outcome.value] += 1
        if applied.outcome is Outcome.DUPLICATE:
            return
        assert state.tier is not None
        self.store.put(store_key, state)
        partition = message.partition
        if posting.event_time_ms > self.store.stream_time.get(partition, 0):
            self.store.stream_time[partition] = posting.event_time_ms
        out.lags_ms.append(now_ms - posting.event_time_ms)
        out.changes.extend((partition, c) for c in applied.changes)
        out.signals.extend((partition, s) for s in applied.signals)
        out.inflow_fen[state.tier] += applied.inflow_fen
        out.outflow_fen[state.tier] += applied.outflow_fen
        if state.tier is Tier.ORDINARY and previous_total > 0 >= applied.total_fen:
            out.emptied[Tier.ORDINARY] += 1
        out.balances[posting.customer_id] = balance_row(posting.customer_id, state)
        category = self.policy.category_of(posting.product_code) if posting.product_code else None
        if category is not None and posting.txn_type is not TxnType.BALANCE_SNAPSHOT:
            out.purchases.append(
                (
                    partition,
                    Notice(
                        notice_id=posting.txn_id,
                        kind=PURCHASE,
                        customer_id=posting.customer_id,
                        tier=state.tier,
                        event_time_ms=posting.event_time_ms,
                        balance_fen=applied.total_fen,
                        branch_id=state.branch_id,
                        amount_fen=posting.amount_fen,
                        detail=category,
                    ),
                )
            )

    def _sweep(self, partition: int, out: BatchOutput) -> None:
        """§3 downgrades that fell due by the partition's stream time, for customers who have
        not posted since."""
        now = self.store.stream_time.get(partition)
        if now is None:
            return
        for key in self.store.due(partition, now):
            state = self.store.get(key)
            if state is None:
                continue
            customer_id = key.decode()
            changes = expire_grace(state, customer_id, now, self.policy)
            self.store.put(key, state)
            out.changes.extend((partition, c) for c in changes)
            if changes:
                out.balances[customer_id] = balance_row(customer_id, state)


def set_aside(message: Inbound, exc: Exception) -> DeadLetter:
    """The dead letter for an event that could not be applied: bad input keeps its reason; any
    other error is a bug this event met (``processing_error``), logged, and the stream goes on."""
    if isinstance(exc, CodecError | BadInput):
        return DeadLetter(message, exc.reason, exc.detail)
    log.exception(
        "event at %s[%d]@%d could not be processed",
        message.topic,
        message.partition,
        message.offset,
    )
    return DeadLetter(message, "processing_error", type(exc).__name__)


def decode_key(message: Inbound) -> str | None:
    """The message key as text; every topic is keyed by customer_id in UTF-8."""
    try:
        return message.key.decode() if message.key is not None else None
    except UnicodeDecodeError:
        raise BadInput("key_mismatch", "the message key is not UTF-8") from None


def balance_row(customer_id: str, state: CustomerState) -> BalanceRow:
    assert state.tier is not None
    return BalanceRow(
        customer_id=customer_id,
        balance_fen=state.total_fen,
        tier=state.tier.name,
        version=state.version,
        as_of_ms=state.clock_ms,
    )


def tier_change_record(change: TierDecision, decided_at_ms: int) -> dict[str, object]:
    return {
        "change_id": change.change_id,
        "customer_id": change.customer_id,
        "previous_tier": change.previous_tier.name if change.previous_tier is not None else None,
        "new_tier": change.new_tier.name,
        "direction": change.direction.value,
        "balance": from_fen(change.balance_fen),
        "trigger_event_id": change.trigger_event_id,
        "event_time": change.event_time_ms,
        "decided_at": decided_at_ms,
        "policy_version": change.policy_version,
    }


def encode_tier_change(codec: AvroCodec, change: TierDecision, decided_at_ms: int) -> bytes:
    return codec.encode(TIER_CHANGE, tier_change_record(change, decided_at_ms))


def direction_label(change: TierDecision) -> tuple[str, str, str]:
    return (
        change.previous_tier.name if change.previous_tier is not None else "NONE",
        change.new_tier.name,
        change.direction.value,
    )
