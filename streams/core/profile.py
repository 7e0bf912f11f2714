"""A customer's profile from mobile and internet banking (POLICY §6, §7.1).

Pure, in event time: login frequency, the channels and business types used, which product
categories the customer keeps looking at (with a decaying interest score), and their last
satisfaction ratings. The product-interest rule fires when the customer looks at one category
often enough within the window; the notifier turns that into a §5 proposal.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from streams.core.dedup import SeenIds, fingerprint
from streams.core.ledger import Outcome
from streams.core.policy import DAY_MS, Policy
from streams.core.postings import BadInput, epoch_ms

#: bank days (China Standard Time) of login counts kept
LOGIN_DAYS = 30
#: view times kept per category: the interest rule needs the last few, views_7d counts them
MAX_VIEWS = 20
MAX_RATINGS = 5
#: business types counted per customer; more are folded into OTHER
MAX_BUSINESS_TYPES = 20
_DAY_OFFSET_MS = 8 * 3_600_000


class BehaviorType(enum.Enum):
    LOGIN = "LOGIN"
    PRODUCT_VIEW = "PRODUCT_VIEW"
    BUSINESS = "BUSINESS"
    FEEDBACK = "FEEDBACK"
    OTHER = "OTHER"


@dataclass(frozen=True, slots=True)
class OnlineEvent:
    """One thing a customer did online, checked. The free-text comment is never kept (§9)."""

    event_id: str
    customer_id: str
    event_type: BehaviorType
    channel: str
    event_time_ms: int
    category: str | None = None  #: PRODUCT_VIEW
    business_type: str | None = None  #: BUSINESS
    rating: int | None = None  #: FEEDBACK, 1-5


def event_from_record(
    record: dict[str, Any], policy: Policy, key: str | None = None
) -> OnlineEvent:
    """Check a decoded OnlineBehaviorEvent; raise :class:`BadInput` with the reason."""
    for name in ("event_id", "customer_id"):
        if not record.get(name):
            raise BadInput("missing_field", f"{name} is empty")
    if key is not None and key != record["customer_id"]:
        raise BadInput("key_mismatch", "the message key is not the event's customer_id")
    event_type = BehaviorType(record.get("event_type") or "OTHER")
    event_time = record["event_time"]
    event_time_ms = epoch_ms(event_time) if isinstance(event_time, datetime | int) else 0
    if event_time_ms <= 0:
        raise BadInput("invalid_event_time", f"event_time {event_time_ms} is not after 1970")
    category = None
    if event_type is BehaviorType.PRODUCT_VIEW:
        category = record.get("product_category") or (
            policy.category_of(record["product_code"]) if record.get("product_code") else None
        )
        if not category:
            raise BadInput("missing_field", "a PRODUCT_VIEW needs product_category or product_code")
        category = category.upper()
    rating = record.get("rating")
    if event_type is BehaviorType.FEEDBACK and (
        rating is None or isinstance(rating, bool) or not 1 <= rating <= 5
    ):
        raise BadInput("invalid_rating", f"a FEEDBACK rating must be 1 to 5, got {rating!r}")
    business = record.get("business_type") if event_type is BehaviorType.BUSINESS else None
    return OnlineEvent(
        event_id=record["event_id"],
        customer_id=record["customer_id"],
        event_type=event_type,
        channel=record.get("channel") or "OTHER",
        event_time_ms=event_time_ms,
        category=category,
        business_type=(business or "OTHER").upper()
        if event_type is BehaviorType.BUSINESS
        else None,
        rating=rating if event_type is BehaviorType.FEEDBACK else None,
    )


@dataclass(slots=True)
class ProfileState:
    """What the profile remembers of one customer."""

    partition: int
    clock_ms: int = 0  #: newest event time seen (last seen)
    version: int = 0  #: events applied; orders the rows written to PostgreSQL
    seen: SeenIds = field(default_factory=SeenIds)
    #: (bank day, logins that day), oldest first, the last LOGIN_DAYS days
    logins: list[tuple[int, int]] = field(default_factory=list)
    channels: dict[str, int] = field(default_factory=dict)
    business: dict[str, int] = field(default_factory=dict)
    #: category → the times of its last MAX_VIEWS views, oldest first
    views: dict[str, list[int]] = field(default_factory=dict)
    #: category → (interest score, event time it was last updated)
    interest: dict[str, tuple[float, int]] = field(default_factory=dict)
    ratings: list[int] = field(default_factory=list)


@dataclass(slots=True)
class ProfileApplied:
    outcome: Outcome
    #: §6: the category the customer keeps looking at, when this view makes it a signal
    interest: str | None = None


def bank_day(ms: int) -> int:
    return (ms + _DAY_OFFSET_MS) // DAY_MS


def apply_event(
    state: ProfileState | None, event: OnlineEvent, policy: Policy, partition: int
) -> tuple[ProfileState, ProfileApplied]:
    """Apply one event; a re-sent one (same event_id) changes nothing."""
    if state is None:
        state = ProfileState(partition=partition)
    fp = fingerprint(event.event_id)
    if state.seen.is_duplicate(fp, event.event_time_ms):
        return state, ProfileApplied(Outcome.DUPLICATE)
    state.clock_ms = max(state.clock_ms, event.event_time_ms)
    state.version += 1
    state.seen.remember(
        fp, event.event_time_ms, state.clock_ms, policy.dedup_horizon_ms, policy.dedup_max_ids
    )
    state.channels[event.channel] = state.channels.get(event.channel, 0) + 1
    applied = ProfileApplied(Outcome.PROCESSED)
    if event.event_type is BehaviorType.LOGIN:
        _count_login(state, event.event_time_ms)
    elif event.event_type is BehaviorType.BUSINESS and event.business_type:
        kind = event.business_type
        if kind not in state.business and len(state.business) >= MAX_BUSINESS_TYPES:
            kind = "OTHER"
        state.business[kind] = state.business.get(kind, 0) + 1
    elif event.event_type is BehaviorType.FEEDBACK and event.rating is not None:
        state.ratings = [*state.ratings, event.rating][-MAX_RATINGS:]
    elif event.event_type is BehaviorType.PRODUCT_VIEW and event.category:
        keeps_looking = _viewed(state, event.category, event.event_time_ms, policy)
        applied.interest = event.category if keeps_looking else None
    return state, applied


def _count_login(state: ProfileState, at: int) -> None:
    day = bank_day(at)
    counts = dict(state.logins)
    counts[day] = counts.get(day, 0) + 1
    oldest = bank_day(state.clock_ms) - LOGIN_DAYS + 1
    state.logins = sorted((d, n) for d, n in counts.items() if d >= oldest)


def _viewed(state: ProfileState, category: str, at: int, policy: Policy) -> bool:
    """§6: record a view; True when the last ``interest_views`` views of the category fall
    within ``interest_window`` (inclusive) and this view is one of them."""
    times = sorted([*state.views.get(category, []), at])[-MAX_VIEWS:]
    state.views[category] = times
    score, since = state.interest.get(category, (0.0, at))
    state.interest[category] = (decayed(score, since, at, policy.interest_half_life_ms) + 1.0, at)
    recent = times[-policy.interest_views :]
    return (
        len(recent) == policy.interest_views
        and at in recent
        and recent[-1] - recent[0] <= policy.interest_window_ms
    )


def decayed(score: float, since_ms: int, now_ms: int, half_life_ms: int) -> float:
    """An interest score halves every half-life (never grows when time runs backwards)."""
    elapsed = max(now_ms - since_ms, 0)
    return score * 0.5 ** (elapsed / half_life_ms)


def logins_within(state: ProfileState, days: int) -> int:
    """Logins in the last ``days`` bank days up to the customer's last-seen day."""
    first = bank_day(state.clock_ms) - days + 1
    return sum(n for d, n in state.logins if d >= first)


def views_within(state: ProfileState, window_ms: int) -> dict[str, int]:
    """Views per category in the window up to last seen (at most MAX_VIEWS each)."""
    since = state.clock_ms - window_ms
    return {c: n for c, times in state.views.items() if (n := sum(t >= since for t in times))}


def interest_now(state: ProfileState, half_life_ms: int) -> dict[str, float]:
    """Interest scores as of last seen, rounded for people to read."""
    return {
        c: round(decayed(score, since, state.clock_ms, half_life_ms), 3)
        for c, (score, since) in state.interest.items()
    }
