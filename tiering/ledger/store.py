"""The customer ledgers of the partitions a worker holds, and beside them, per partition: the
customers and deposits per tier (the ``tiering_customers`` and ``tiering_balance_cny`` gauges),
the stream time, the pending deadlines for the sweep (§3's grace period, §5 idle funds), and
the customers holding each foreign currency (revalued when a new rate is in force).

The partition's dated exchange rates (:class:`~tiering.ledger.fx.RateTable`) are not derived
from the states, so they are no bookkeeping: they are stored in the table itself, changelog and
all, under a key of their own per partition (:func:`rates_key`), and move with the partition.

That bookkeeping is kept beside the states (:meth:`kept_staged`, written with each batch), so a
worker that starts again with its local tables takes it back in milliseconds
(:meth:`restore`) instead of reading every customer (:meth:`recount`)."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import Any

import msgpack

from tiering.core.policy import Policy
from tiering.core.policy_versions import PolicyVersions
from tiering.core.tiers import Tier
from tiering.ledger.deadlines import earliest, grace_deadline, next_deadline
from tiering.ledger.departure import spell_end
from tiering.ledger.fx import RateTable, foreign_currencies
from tiering.ledger.idle import spell_deadline
from tiering.ledger.state import CustomerState, decode_standing, decode_state, encode_state
from tiering.ledger.versions_table import RESERVED, policies_key, stored_versions
from tiering.processing import BatchStore

#: the kept entries: the partition's summary, and one deadline per customer with one pending:
#: the earliest of their downgrade (§3), their idle-funds signal (§5) and their departure (§7.3)
_SUMMARY = b"s"
_DEADLINE = b"d"
#: one entry per customer and foreign currency they hold: ``h`` + the ISO code + the key
_HOLDER = b"h"
#: the summary's layout: [format, grace ms, customers per tier, fen per tier, stream time,
#: idle ms, departure ms]. 2: fen per tier sums the customers' deposit balances with overdrawn
#: accounts at zero (§3). 3: the deadlines include idle funds, and the idle days are kept. 4: the
#: deadlines include departures (§7.3), and their days are kept. 5: the holders of foreign
#: currencies are kept. A summary of an older format, or of other grace, idle or departure
#: days, is not kept on: recounted.
SUMMARY_FORMAT = 5

Tally = dict[int, list[int]]
#: per partition, currency → the keys of the customers holding an account in it
Holders = dict[int, dict[str, set[bytes]]]


def rates_key(partition: int) -> bytes:
    """The key of a partition's dated exchange rates in the ledger's table."""
    return RESERVED + b"fx-rates:" + str(partition).encode()


class LedgerStore(BatchStore[CustomerState]):
    """:class:`BatchStore` of the customers' ledgers, with the per-partition bookkeeping."""

    keeps_bookkeeping = True

    def __init__(
        self,
        read: Callable[[bytes], bytes | None],
        policy: Policy,
        scan: Callable[[int], Iterable[tuple[bytes, bytes]]] = lambda partition: (),
    ) -> None:
        super().__init__(read, encode_state, decode_state)
        self._policy = policy
        #: every stored ``(key, state)`` of a partition (a policy switch re-places them all)
        self._scan = scan
        #: tier, total, downgrade deadline and foreign currencies of each customer the batch
        #: read, before the batch
        self._before: dict[bytes, tuple[Tier | None, int, int | None, frozenset[str]]] = {}
        self.counts: Tally = {}
        self.balances: Tally = {}
        #: per partition, the newest event time applied: the sweep's "now"
        self.stream_time: dict[int, int] = {}
        self._deadlines: dict[int, list[tuple[int, bytes]]] = {}
        self._scheduled: dict[bytes, int] = {}
        self.holders: Holders = {}
        #: the rate tables read, per partition; those this batch changed
        self._rates: dict[int, RateTable] = {}
        self._rates_changed: set[int] = set()
        #: the policy versions read, per partition; those this batch changed
        self._versions: dict[int, PolicyVersions] = {}
        self._versions_changed: set[int] = set()

    def get(self, key: bytes) -> CustomerState | None:
        state = super().get(key)
        if key not in self._before and key not in self._dirty:
            self._before[key] = (
                (None, 0, None, frozenset())
                if state is None
                else (
                    state.tier,
                    state.total_fen,
                    next_deadline(state, self.policy_of(state.partition)),
                    foreign_currencies(state),
                )
            )
        return state

    # --- the partition's dated exchange rates (tiering.ledger.fx) ------------------------------

    def rates(self, partition: int) -> RateTable:
        """``partition``'s rates, as stored (with this batch's new ones)."""
        table = self._rates.get(partition)
        if table is None:
            raw = self._read(rates_key(partition))
            fields = None if raw is None else msgpack.unpackb(raw)
            table = self._rates[partition] = RateTable.decode(fields, self._policy.rates)
        return table

    def rates_changed(self, partition: int) -> None:
        """``partition``'s rates (or what is pending of them) changed: store them with the batch."""
        self._rates_changed.add(partition)

    # --- the partition's policy versions (tiering.core.policy_versions) -------------------------

    def policies(self, partition: int) -> PolicyVersions:
        """``partition``'s policy versions, as stored (with this batch's new ones)."""
        versions = self._versions.get(partition)
        if versions is None:
            versions = stored_versions(self._read, partition, self._policy)
            self._versions[partition] = versions
        return versions

    def policies_changed(self, partition: int) -> None:
        """``partition``'s versions (or how far it switched) changed: store them with the batch."""
        self._versions_changed.add(partition)

    def policy_of(self, partition: int) -> Policy:
        """The policy in force on ``partition`` at its stream time."""
        return self.policies(partition).in_force(self.stream_time.get(partition, 0))

    def customers(self, partition: int) -> list[tuple[bytes, CustomerState]]:
        """Every customer of ``partition`` (key and state, read as :meth:`get` reads them, this
        batch's included), in key order; each state decoded once."""
        keys = {key for key, (_, p) in self._dirty.items() if p == partition}
        keys.update(key for key, _ in self._scan(partition) if not key.startswith(RESERVED))
        found = []
        for key in sorted(keys):
            state = self.get(key)  # the memory store scans every partition held: tell them apart
            if state is not None and state.partition == partition:
                found.append((key, state))
        return found

    def holding(self, partition: int, currency: str) -> list[bytes]:
        """The customers of ``partition`` holding an account in ``currency``, this batch's
        included, in key order."""
        keys = set(self.holders.get(partition, {}).get(currency, ()))
        for key, (state, p) in self._dirty.items():
            if p == partition and currency in foreign_currencies(state):
                keys.add(key)
        return sorted(keys)

    def staged(self) -> list[tuple[bytes, bytes, int]]:
        staged = super().staged()
        for p in sorted(self._rates_changed):
            staged.append((rates_key(p), msgpack.packb(self._rates[p].encode()), p))
        for p in sorted(self._versions_changed):
            staged.append((policies_key(p), msgpack.packb(self._versions[p].encode()), p))
        return staged

    def put(self, key: bytes, state: CustomerState, partition: int | None = None) -> None:
        super().put(key, state, state.partition if partition is None else partition)

    def discard(self) -> None:
        super().discard()
        self._before.clear()
        for p in self._rates_changed:  # read again as stored
            self._rates.pop(p, None)
        self._rates_changed.clear()
        for p in self._versions_changed:
            self._versions.pop(p, None)
        self._versions_changed.clear()

    def commit(self) -> None:
        """The batch's states are stored: count them, watch their deadlines, index them."""
        self._count_batch(self.counts, self.balances)
        for key, (state, _) in self._dirty.items():
            self._schedule(key, state)
            before, now = self._before[key][3], foreign_currencies(state)
            held = self.holders.setdefault(state.partition, {})
            for currency in before - now:
                held.get(currency, set()).discard(key)
            for currency in now - before:
                held.setdefault(currency, set()).add(key)
        self._rates_changed.clear()
        self._versions_changed.clear()
        self.discard()

    def _count_batch(self, counts: Tally, balances: Tally) -> None:
        """Move the batch's customers from their tier before the batch to their tier now."""
        for key, (state, _) in self._dirty.items():
            old_tier, old_total, _, _ = self._before[key]
            _count(counts, balances, state.partition, old_tier, old_total, -1)
            _count(counts, balances, state.partition, state.tier, state.total_fen, +1)

    def advance(self, partition: int, event_time_ms: int) -> None:
        """A posting of ``event_time_ms`` was applied on ``partition``."""
        if event_time_ms > self.stream_time.get(partition, 0):
            self.stream_time[partition] = event_time_ms

    def _schedule(self, key: bytes, state: CustomerState) -> None:
        deadline = next_deadline(state, self.policy_of(state.partition))
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

    def versions_in_force(self) -> dict[str, int]:
        """policy_version → the partitions held on which it is in force now."""
        held: dict[str, int] = {}
        for partition in self.counts:
            version = self.policy_of(partition).version
            held[version] = held.get(version, 0) + 1
        return held

    def tier_totals(self) -> tuple[list[int], list[int]]:
        """Customers and balance (fen) per tier, over the partitions held."""
        counts = [sum(c[t] for c in self.counts.values()) for t in Tier]
        balances = [sum(b[t] for b in self.balances.values()) for t in Tier]
        return counts, balances

    # --- the bookkeeping kept beside the states ---------------------------------------------

    def _summary(self, partition: int, counts: list[int], balances: list[int]) -> bytes:
        stream_time = self.stream_time.get(partition, 0)
        policy = self.policy_of(partition)
        grace, idle, departure = policy.downgrade_grace_ms, policy.idle_ms, policy.departure_ms
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
            deadline = next_deadline(state, self.policy_of(state.partition))
            if deadline != self._before[key][2]:
                value = None if deadline is None else msgpack.packb(deadline)
                kept[state.partition].append((_DEADLINE + key, value))
            before, now = self._before[key][3], foreign_currencies(state)
            for currency in before ^ now:
                name = _holder(currency, key)
                kept[state.partition].append((name, b"" if currency in now else None))
        return kept

    def hold(self, partitions: set[int]) -> None:
        self.counts = {p: [0, 0, 0, 0] for p in partitions}
        self.balances = {p: [0, 0, 0, 0] for p in partitions}
        self._deadlines.clear()
        self._scheduled.clear()
        self.stream_time = {p: t for p, t in self.stream_time.items() if p in partitions}
        self.holders = {p: {} for p in partitions}
        self._rates.clear()  # a partition's rates come with its table (the changelog)
        self._versions.clear()  # and so do its policy versions

    def restore(self, partition: int, kept: Iterable[tuple[bytes, bytes]]) -> bool:
        summary: list[Any] | None = None
        deadlines: list[tuple[int, bytes]] = []
        holders: dict[str, set[bytes]] = {}
        for name, value in kept:
            if name == _SUMMARY:
                summary = msgpack.unpackb(value)
            elif name.startswith(_DEADLINE):
                deadlines.append((msgpack.unpackb(value), name[len(_DEADLINE) :]))
            elif name.startswith(_HOLDER):
                currency, key = name[1:4].decode(), name[4:]
                holders.setdefault(currency, set()).add(key)
        if summary is None:
            return False  # never kept: recount
        self.advance(partition, summary[4])  # the versions in force are those of its time
        policy = self.policy_of(partition)
        if summary[:2] + summary[5:] != [
            SUMMARY_FORMAT,
            policy.downgrade_grace_ms,
            policy.idle_ms,
            policy.departure_ms,
        ]:
            return False  # another format or period since: recount
        _, _, counts, balances, _, _, _ = summary
        self.counts[partition] = list(counts)
        self.balances[partition] = list(balances)
        for deadline, key in deadlines:
            self._scheduled[key] = deadline
        heapq.heapify(deadlines)
        self._deadlines[partition] = deadlines
        self.holders[partition] = holders
        return True

    def recount(self, items: Iterable[tuple[bytes, bytes]], partitions: set[int]) -> int:
        customers = 0
        for key, raw in items:
            if key.startswith(RESERVED):
                continue  # the partition's rates, no customer
            held = decode_standing(raw)
            if held.partition not in partitions:
                continue
            customers += 1
            p = held.partition
            _count(self.counts, self.balances, p, held.tier, held.total_fen, +1)
            policy = self.policies(p).in_force(held.clock_ms)
            if policy.basis.averaged:  # an average's crossing needs the whole history
                deadline = next_deadline(decode_state(raw), policy)
            else:
                deadline = earliest(
                    grace_deadline(held.tier, held.below_tier_since, policy),
                    spell_deadline(held.idle_since, held.total_fen, policy),
                    spell_end(held.empty_since, policy),
                )
            if deadline is not None:
                self._scheduled[key] = deadline
                self._deadlines.setdefault(p, []).append((deadline, key))
            self.advance(p, held.clock_ms)
            for currency in held.currencies:
                self.holders.setdefault(p, {}).setdefault(currency, set()).add(key)
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
        kept += [
            (_holder(currency, key), b"")
            for currency, keys in self.holders.get(partition, {}).items()
            for key in keys
        ]
        return [(_SUMMARY, self._summary(partition, counts, balances)), *kept]


_NONE = [0, 0, 0, 0]


def _holder(currency: str, key: bytes) -> bytes:
    return _HOLDER + currency.encode() + key


def _count(
    counts: Tally, balances: Tally, partition: int, tier: Tier | None, total: int, sign: int
) -> None:
    if tier is None:
        return
    counts.setdefault(partition, [0, 0, 0, 0])[tier] += sign
    balances.setdefault(partition, [0, 0, 0, 0])[tier] += sign * total  # never negative (§3)
