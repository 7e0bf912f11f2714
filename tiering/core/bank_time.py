"""Event time as the rules see it: integer milliseconds since the epoch, and the bank's calendar
day, which runs on China Standard Time (UTC+8) whatever the machine's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from tiering.core.bad_input import BadInput

MINUTE_MS = 60_000
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


def day_start_ms(day: int) -> int:
    """The first millisecond of a bank day (00:00 China Standard Time): :func:`bank_day`'s
    inverse."""
    return day * DAY_MS - _DAY_OFFSET_MS


def refuse_future(event_time_ms: int, now_ms: int, max_lead_ms: int) -> None:
    """Raise :class:`BadInput` (``event_time_in_future``) for an event time more than
    ``max_lead_ms`` ahead of ``now_ms``, the worker's clock.

    Stream time follows the newest event time applied, and the grace-period sweep (§3)
    downgrades whoever's deadline stream time has passed: one posting dated years ahead would
    end every pending grace period of its partition at once. The clock only guards; it decides
    nothing.
    """
    lead = event_time_ms - now_ms
    if lead > max_lead_ms:
        raise BadInput(
            "event_time_in_future",
            f"event_time is {lead // 1000} s ahead of the worker's clock "
            f"(at most {max_lead_ms // 1000} s allowed)",
        )
