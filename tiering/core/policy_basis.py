"""``[basis]`` of the policy file (POLICY §3 tiers by deposit balance): what each decision
compares with the lower bounds, the balance at the moment (``balance``, the default) or the
average daily balance over a window (``adb``, 日均余额): the calendar month to date (China time)
or the last N days. Chinese retail banks commonly tier on the month's average and alert on the
instant balance, so a one-day deposit neither lifts a customer at once nor holds them up
through the grace period (:mod:`tiering.ledger.average`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tiering.core.policy_checks import Collector

BALANCE = "balance"
ADB = "adb"
#: the roles a basis is chosen for: upgrades, downgrades (with the §3 grace) and the §5
#: near-upgrade alert
ROLES = ("upgrade", "downgrade", "alert")
CALENDAR_MONTH = "calendar_month"
DAYS = "days"


@dataclass(frozen=True, slots=True)
class Basis:
    """Per role, ``balance`` or ``adb``; the average's window when any role uses it."""

    upgrade: str = BALANCE
    downgrade: str = BALANCE
    alert: str = BALANCE
    #: ``calendar_month`` (the month to date, China time) or ``days`` (the last ``days`` days)
    window: str = CALENDAR_MONTH
    days: int = 0

    @property
    def averaged(self) -> bool:
        """Some role uses the average: the ledger keeps each customer's balance history."""
        return ADB in (self.upgrade, self.downgrade, self.alert)

    def of(self, role: str) -> str:
        value: str = getattr(self, role)
        return value

    def describe(self) -> str:
        window = (
            "calendar month to date" if self.window == CALENDAR_MONTH else f"last {self.days} days"
        )
        roles = ", ".join(f"{r} on {self.of(r)}" for r in ROLES)
        return f"{roles}" + (f" (average over the {window})" if self.averaged else "")


def parse_basis(c: Collector, doc: Any) -> Basis:
    """``[basis]``, optional: every role on the balance when absent."""
    if not isinstance(doc, Mapping):
        c.problems.append("[basis]: must be a table")
        return Basis()
    c.unknown("basis.", doc, {*ROLES, "adb"})
    chosen = {}
    for role in ROLES:
        value = doc.get(role, BALANCE)
        if value not in (BALANCE, ADB):
            c.problems.append(f'basis.{role}: {value!r} is neither "balance" nor "adb"')
            value = BALANCE
        chosen[role] = value
    adb = doc.get("adb")
    if adb is None:
        if ADB in chosen.values():
            c.problems.append(
                '[basis.adb]: missing; "adb" needs its window, e.g. window = "calendar_month"'
            )
        return Basis(**chosen)
    if not isinstance(adb, Mapping):
        c.problems.append("[basis.adb]: must be a table")
        return Basis(**chosen)
    c.unknown("basis.adb.", adb, {"window", "days"})
    window = adb.get("window")
    if window not in (CALENDAR_MONTH, DAYS):
        c.problems.append(f'basis.adb.window: {window!r} is neither "calendar_month" nor "days"')
        return Basis(**chosen)
    days = 0
    if window == DAYS:
        if "days" not in adb:
            c.problems.append('basis.adb.days: missing; window = "days" needs how many, e.g. 30')
        else:
            days = c.whole("basis.adb.days", adb["days"], 1)
    elif "days" in adb:
        c.problems.append('basis.adb.days: only with window = "days"')
    return Basis(**chosen, window=window, days=days)
