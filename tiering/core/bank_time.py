"""Event time as the rules see it: integer milliseconds since the epoch, and the bank's calendar
day, which runs on China Standard Time (UTC+8) whatever the machine's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
#: the bank's calendar (no daylight saving in China)
CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
_DAY_OFFSET_MS = 8 * HOUR_MS


def epoch_ms(value: datetime | int) -> int:
    """fastavro gives timestamp-millis as an aware ``datetime``; the rules use integer ms.
    ``timedelta`` arithmetic keeps the milliseconds exact (``timestamp()`` goes through a
    float)."""
    if isinstance(value, int):
        return value
    return (value - EPOCH) // _ONE_MS


def from_epoch_ms(ms: int) -> datetime:
    """Epoch milliseconds as an aware UTC ``datetime`` (for PostgreSQL and people)."""
    return EPOCH + timedelta(milliseconds=ms)


def bank_day(ms: int) -> int:
    """The bank's calendar day (days since 1970-01-01, China Standard Time) of a moment."""
    return (ms + _DAY_OFFSET_MS) // DAY_MS
