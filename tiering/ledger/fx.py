"""Foreign-currency accounts valued in CNY from a dated rate table (POLICY §3: the tiers are by
the customer's deposit balance in CNY).

An account keeps its own currency and its balance in hundredths of that currency, exact; its
CNY value is that balance at the rate in force, rounded half up to the fen, and it counts toward
the deposit balance at no less than zero, like any account (:func:`deposit_fen`).

The rate in force for a currency on a bank day (China time) is the newest dated rate whose
effective day is on or before it (``tiering import-rates``, the rates topic); before any dated
rate of the currency is known, the policy's ``[rates]`` are the fallback. When a new rate
becomes effective on a partition (its stream time reaches the rate's day, or has reached it when
the rate arrives), every customer of the partition holding the currency is revalued and their
tier decided by the usual §3 rules: an upgrade at once, a fall below a bound starting the grace
period. Pure: no I/O, no clock.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from tiering.core.bank_time import bank_day
from tiering.core.ids import deterministic_id
from tiering.core.money import convert_to_fen, from_fen
from tiering.ledger.state import CustomerState, deposit_total

CNY = "CNY"
ONE = Decimal(1)
EPOCH_DAY = date(1970, 1, 1)
#: CNY per unit of ``currency`` on a bank day, or None when no rate is known
RateLookup = Callable[[str, int], Decimal | None]
#: the format of an encoded :class:`RateTable`
RATES_FORMAT = 1
#: dated rates older than this many days before the newest one are forgotten, all but the last
#: of them (a posting dated that far back is valued at it): a table of a few thousand entries
KEEP_DAYS = 400


def fallback(rates: Mapping[str, Decimal]) -> RateLookup:
    """The policy's ``[rates]`` as a :data:`RateLookup`: the same rate every day."""
    return lambda currency, _day: rates.get(currency)


def value_fen(balance: int, currency: str, rate: Decimal) -> int:
    """The CNY value of ``balance`` hundredths of ``currency`` at ``rate``, half up to the fen."""
    if currency == CNY:
        return balance
    return convert_to_fen(from_fen(balance), rate)


#: the trigger id of a revaluation at a new rate: ``fx-rate:<rate_id>`` (:func:`rate_trigger`)
FX_RATE_PREFIX = "fx-rate:"


def rate_trigger(currency: str, day: int, rate: Decimal) -> str:
    """What names the tier decisions a new rate makes (their TierChanges' trigger)."""
    return FX_RATE_PREFIX + rate_id(currency, day, rate)


def rate_id(currency: str, day: int, rate: Decimal) -> str:
    """A dated rate's deterministic id: the same rate sent again is recognised."""
    return deterministic_id("fx-rate", currency, str(day), format(rate.normalize(), "f"))


def rate_record(currency: str, day: int, rate: Decimal, published_at_ms: int) -> dict[str, Any]:
    """The FxRate record (``schemas/avro/fx_rate.avsc``) of a dated rate."""
    return {
        "rate_id": rate_id(currency, day, rate),
        "currency": currency,
        "rate": rate,
        "effective_date": EPOCH_DAY + timedelta(days=day),
        "published_at": published_at_ms,
    }


@dataclass(slots=True)
class RateTable:
    """One partition's dated rates, and the rates still to be applied to its holders."""

    fallback: Mapping[str, Decimal]
    #: currency → [(effective bank day, CNY per unit)], oldest first
    dated: dict[str, list[tuple[int, Decimal]]] = field(default_factory=dict)
    #: (currency, effective day) of rates whose holders are still to be revalued
    pending: set[tuple[str, int]] = field(default_factory=set)

    def rate(self, currency: str, day: int) -> Decimal | None:
        """The rate in force on ``day``; the policy's fallback before any dated rate."""
        if currency == CNY:
            return ONE
        rates = self.dated.get(currency)
        if rates:
            at = bisect_right(rates, day, key=_effective)
            if at:
                return rates[at - 1][1]
        return self.fallback.get(currency)

    def add(self, currency: str, day: int, rate: Decimal) -> bool:
        """Record a dated rate; False when it was known already (a re-send changes nothing).
        A new rate is pending until :meth:`due` hands it out."""
        rates = self.dated.setdefault(currency, [])
        if (day, rate) in rates:
            return False
        rates[:] = sorted([r for r in rates if r[0] != day] + [(day, rate)])
        newest = rates[-1][0]
        old = [r for r in rates if r[0] < newest - KEEP_DAYS]
        if len(old) > 1:
            del rates[: len(old) - 1]
        self.pending.add((currency, day))
        return True

    def due(self, now_ms: int) -> list[tuple[str, int, Decimal]]:
        """The pending rates effective at or before ``now_ms`` (a partition's stream time), in
        the order of their days, taken off the pending set."""
        today = bank_day(now_ms)
        found = sorted((d, c) for c, d in self.pending if d <= today)
        self.pending -= {(c, d) for d, c in found}
        known = {(c, d): r for c, rates in self.dated.items() for d, r in rates}
        return [(c, d, known[c, d]) for d, c in found if (c, d) in known]

    def in_force(self, now_ms: int) -> dict[str, Decimal]:
        """Each dated currency's rate on the bank day of ``now_ms``."""
        day = bank_day(now_ms)
        found = {c: self.rate(c, day) for c in self.dated}
        return {c: r for c, r in found.items() if r is not None}

    def encode(self) -> list[Any]:
        """MessagePack-ready: rates as decimal strings, never floats."""
        dated = {c: [[d, str(r)] for d, r in rates] for c, rates in self.dated.items()}
        return [RATES_FORMAT, dated, sorted([c, d] for c, d in self.pending)]

    @classmethod
    def decode(cls, fields: list[Any] | None, fallback: Mapping[str, Decimal]) -> RateTable:
        if not fields:
            return cls(fallback)
        _, dated, pending = fields
        return cls(
            fallback,
            {c: [(d, Decimal(r)) for d, r in rates] for c, rates in dated.items()},
            {(c, d) for c, d in pending},
        )


def _effective(dated: tuple[int, Decimal]) -> int:
    return dated[0]


def foreign_currencies(state: CustomerState) -> frozenset[str]:
    """The currencies other than CNY the customer holds accounts in."""
    return frozenset(a.currency for a in state.accounts.values() if a.currency != CNY)


def revalue(state: CustomerState, now_ms: int, rates: RateLookup, only: Iterable[str] = ()) -> int:
    """Value the customer's foreign accounts (those in ``only``, if given) at the rates in
    force on the bank day of ``now_ms``; set and return the deposit balance (§3)."""
    wanted = set(only)
    day = bank_day(now_ms)
    for account in state.accounts.values():
        if account.currency == CNY or (wanted and account.currency not in wanted):
            continue
        rate = rates(account.currency, day)
        if rate is not None:
            account.value_fen = value_fen(account.balance, account.currency, rate)
    state.total_fen = deposit_total(a.value_fen for a in state.accounts.values())
    return state.total_fen
