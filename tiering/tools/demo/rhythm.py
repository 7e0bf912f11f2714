"""The synthetic bank's rhythm, on event time in China time: working days and weekends, the
payroll days, month end, busy daytime hours and quiet nights.

Weekends are Saturday and Sunday; China's public holidays and their make-up working days (调休)
are left out, so a payroll day never moves for a holiday here.
"""

from __future__ import annotations

import calendar
import enum
import random
from bisect import bisect_right
from datetime import date, datetime, timedelta
from itertools import accumulate

from tiering.core.bank_time import CHINA_STANDARD_TIME as CST
from tiering.core.bank_time import HOUR_MS, epoch_ms, from_epoch_ms

#: how busy each hour of a day is, China time: nights quiet, the branch hours busiest, a lunch
#: dip, and an evening of mobile banking
HOUR_WEIGHTS: tuple[float, ...] = (
    # 00    01    02    03    04    05    06    07   08   09   10   11
    *(0.15, 0.08, 0.05, 0.04, 0.04, 0.08, 0.25, 0.6, 1.0, 1.6, 1.9, 1.8),
    # 12   13   14   15   16   17   18   19   20   21   22   23
    *(1.4, 1.4, 1.7, 1.7, 1.6, 1.4, 1.2, 1.3, 1.4, 1.2, 0.8, 0.4),
)
#: branches open their counters on working days, 09:00 to 17:00
COUNTER_HOURS = range(9, 17)
#: the last days of a month: rent, bills and card repayments
MONTH_END_DAYS = 3


class Payday(enum.Enum):
    """When an employer pays salaries: the 10th, the 15th (each the working day before when it
    falls on a weekend), or the last working day of the month."""

    TENTH = 10
    FIFTEENTH = 15
    LAST_WORKING_DAY = 0


def working_day(day: date) -> bool:
    return day.weekday() < 5


def payday_in(month: date, rule: Payday) -> date:
    """The payroll day of ``month``'s year and month under ``rule``."""
    if rule is Payday.LAST_WORKING_DAY:
        day = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    else:
        day = month.replace(day=rule.value)
    while not working_day(day):
        day -= timedelta(days=1)
    return day


def is_payday(day: date) -> bool:
    return any(payday_in(day, rule) == day for rule in Payday)


def last_day(day: date) -> bool:
    """The month's last calendar day."""
    return day.day == calendar.monthrange(day.year, day.month)[1]


def month_end(day: date) -> bool:
    """One of the month's last ``MONTH_END_DAYS`` days."""
    return calendar.monthrange(day.year, day.month)[1] - day.day < MONTH_END_DAYS


def day_weight(day: date) -> float:
    """How busy a day is: weekends quieter, paydays and month end busier."""
    weight = 1.0 if working_day(day) else (0.75 if day.weekday() == 5 else 0.65)
    if is_payday(day):
        weight *= 1.3  # spending after the salary
    if month_end(day):
        weight *= 1.25
    return weight


def china_time(ms: int) -> datetime:
    return from_epoch_ms(ms).astimezone(CST)


def at(day: date, hour: int, minute: int = 0) -> int:
    """Epoch milliseconds of ``day`` at ``hour:minute`` China time."""
    return epoch_ms(datetime(day.year, day.month, day.day, hour, minute, tzinfo=CST))


def days_between(start_ms: int, end_ms: int) -> list[date]:
    """The China-time calendar days that ``[start_ms, end_ms)`` touches."""
    first, last = china_time(start_ms).date(), china_time(end_ms - 1).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


class Rhythm:
    """Draws event times in ``(start_ms, end_ms)`` as busy as the day and hour are."""

    def __init__(self, start_ms: int, end_ms: int) -> None:
        self.start_ms, self.end_ms = start_ms, end_ms
        self._hours: list[int] = []  # the start of every hour the span touches
        weights: list[float] = []
        for day in days_between(start_ms, end_ms):
            for hour, weight in enumerate(HOUR_WEIGHTS):
                begins = at(day, hour)
                if begins + HOUR_MS > start_ms and begins < end_ms:
                    self._hours.append(begins)
                    weights.append(day_weight(day) * weight)
        self._cumulative = list(accumulate(weights))

    def time(self, rng: random.Random) -> int:
        """One event time, strictly inside the span."""
        while True:
            slot = bisect_right(self._cumulative, rng.random() * self._cumulative[-1])
            moment = self._hours[min(slot, len(self._hours) - 1)] + rng.randrange(HOUR_MS)
            if self.start_ms < moment < self.end_ms:
                return moment

    def times(self, rng: random.Random, n: int) -> list[int]:
        """``n`` event times, in order."""
        return sorted(self.time(rng) for _ in range(n))


def channel_at(rng: random.Random, ms: int) -> str:
    """How a customer would make a posting at ``ms``: at the counter only in branch hours, on
    the phone mostly at night."""
    moment = china_time(ms)
    if working_day(moment.date()) and moment.hour in COUNTER_HOURS:
        return rng.choices(("COUNTER", "ATM", "MOBILE", "ONLINE"), weights=(25, 20, 40, 15))[0]
    if 7 <= moment.hour < 23:
        return rng.choices(("ATM", "MOBILE", "ONLINE"), weights=(20, 60, 20))[0]
    return rng.choices(("ATM", "MOBILE"), weights=(10, 90))[0]
