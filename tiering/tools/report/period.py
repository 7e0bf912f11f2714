"""The period a report covers, in the bank's calendar (China Standard Time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tiering.core.bank_time import CHINA_STANDARD_TIME as CST


@dataclass(frozen=True)
class Period:
    """From the first day's midnight to the end of the last day, China Standard Time."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"the period ends ({self.last}) before it starts ({self.first})")

    @classmethod
    def parse(cls, first: str, last: str) -> Period:
        """``--from`` and ``--to`` as YYYY-MM-DD."""
        days = []
        for option, text in (("--from", first), ("--to", last)):
            try:
                days.append(datetime.strptime(text, "%Y-%m-%d").date())
            except ValueError:
                raise ValueError(f"{option}: expected a day as YYYY-MM-DD, not {text!r}") from None
        return cls(days[0], days[1])

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, datetime.min.time(), CST)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), datetime.min.time(), CST)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def __str__(self) -> str:
        return f"{self.first:%Y-%m-%d} to {self.last:%Y-%m-%d}"
