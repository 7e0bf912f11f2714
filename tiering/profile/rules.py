"""A customer's profile from mobile and internet banking (POLICY §6, §7.1).

Pure, in event time: login frequency, the channels and business types used, which product
categories the customer keeps looking at (with a decaying interest score), and their last
satisfaction ratings. The product-interest rule fires when the customer looks at one category
often enough within the window; the notifier turns that into a §5 proposal.
"""

from __future__ import annotations

from dataclasses import dataclass

from tiering.core.bank_time import bank_day
from tiering.core.dedup import EventOutcome, fingerprint
from tiering.core.policy import Policy
from tiering.profile.events import BehaviorType, OnlineEvent
from tiering.profile.state import ProfileState

#: bank days (China Standard Time) of login counts kept
LOGIN_DAYS = 30
#: view times kept per category: the interest rule needs the last few, views_7d counts them
MAX_VIEWS = 20
MAX_RATINGS = 5
#: business types counted per customer; more are folded into OTHER
MAX_BUSINESS_TYPES = 20


@dataclass(slots=True)
class ProfileApplied:
    outcome: EventOutcome
    #: §6: the category the customer keeps looking at, when this view makes it a signal
    interest: str | None = None


def apply_event(
    state: ProfileState | None, event: OnlineEvent, policy: Policy, partition: int
) -> tuple[ProfileState, ProfileApplied]:
    """Apply one event; a re-sent one (same event_id) changes nothing."""
    if state is None:
        state = ProfileState(partition=partition)
    fp = fingerprint(event.event_id)
    if state.seen.is_duplicate(fp, event.event_time_ms):
        return state, ProfileApplied(EventOutcome.DUPLICATE)
    state.clock_ms = max(state.clock_ms, event.event_time_ms)
    state.version += 1
    state.seen.remember(
        fp, event.event_time_ms, state.clock_ms, policy.dedup_horizon_ms, policy.dedup_max_ids
    )
    state.channels[event.channel] = state.channels.get(event.channel, 0) + 1
    applied = ProfileApplied(EventOutcome.PROCESSED)
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
