"""§6 customer profiles: logins, channels, business types, decaying interest, the
product-interest rule at its edges, ratings, and bad input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tiering.core.bad_input import BadInput
from tiering.core.bank_time import DAY_MS
from tiering.core.dedup import EventOutcome as Outcome
from tiering.core.policy_file import load_policy
from tiering.profile.events import BehaviorType, OnlineEvent, event_from_record
from tiering.profile.rules import apply_event, decayed, interest_now, logins_within, views_within
from tiering.profile.state import ProfileState, decode_profile_state, encode_profile_state

POLICY = load_policy()
WEEK = 7 * DAY_MS
# Midnight China Standard Time, so bank days start at T0.
T0 = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp() * 1000) - 8 * 3_600_000


class Customer:
    def __init__(self) -> None:
        self.state: ProfileState | None = None
        self.n = 0

    def do(self, event_type: BehaviorType, at: int, event_id: str | None = None, **kw: object):
        self.n += 1
        event = OnlineEvent(
            event_id=event_id or f"E{self.n}",
            customer_id="C1",
            event_type=event_type,
            channel=str(kw.pop("channel", "MOBILE_APP")),
            event_time_ms=at,
            **kw,  # type: ignore[arg-type]
        )
        state, applied = apply_event(self.state, event, POLICY, partition=0)
        self.state = decode_profile_state(encode_profile_state(state))
        return applied

    def view(self, category: str, at: int) -> str | None:
        return self.do(BehaviorType.PRODUCT_VIEW, at, category=category).interest


def test_two_views_are_not_interest_three_within_the_week_are() -> None:
    c = Customer()
    assert c.view("SHORT_TERM_WEALTH", T0) is None
    assert c.view("SHORT_TERM_WEALTH", T0 + DAY_MS) is None
    assert c.view("SHORT_TERM_WEALTH", T0 + 2 * DAY_MS) == "SHORT_TERM_WEALTH"


@pytest.mark.parametrize(("third", "fires"), [(WEEK - 1, True), (WEEK, True), (WEEK + 1, False)])
def test_the_window_is_seven_days_inclusive(third: int, fires: bool) -> None:
    c = Customer()
    c.view("FUND", T0)
    c.view("FUND", T0 + DAY_MS)
    assert (c.view("FUND", T0 + third) == "FUND") is fires


def test_views_of_other_categories_do_not_add_up() -> None:
    c = Customer()
    c.view("FUND", T0)
    c.view("TIME_DEPOSIT", T0 + 1)
    assert c.view("FUND", T0 + 2) is None
    assert c.view("FUND", T0 + 3) == "FUND"


def test_interest_decays_with_a_seven_day_half_life() -> None:
    assert decayed(1.0, T0, T0 + WEEK, WEEK) == 0.5
    assert decayed(4.0, T0, T0 + 2 * WEEK, WEEK) == 1.0
    assert decayed(1.0, T0 + 5, T0, WEEK) == 1.0  # time never runs backwards for a score
    c = Customer()
    c.view("FUND", T0)
    c.view("FUND", T0 + WEEK)
    assert c.state is not None
    assert interest_now(c.state, POLICY.interest_half_life_ms) == {"FUND": 1.5}


def test_logins_in_the_last_7_and_30_bank_days() -> None:
    c = Customer()
    for day in (0, 10, 23, 24, 29, 29):
        c.do(BehaviorType.LOGIN, T0 + day * DAY_MS + 3_600_000)
    assert c.state is not None
    # last seen on day 29: the last 7 days are days 23-29, the last 30 days 0-29
    assert logins_within(c.state, 7) == 4
    assert logins_within(c.state, 30) == 6
    c.do(BehaviorType.LOGIN, T0 + 30 * DAY_MS)  # day 30: day 0 leaves the 30-day window
    assert logins_within(c.state, 30) == 6
    assert logins_within(c.state, 7) == 4  # day 23 left, day 30 came


def test_channels_business_types_ratings_and_views() -> None:
    c = Customer()
    c.do(BehaviorType.BUSINESS, T0, business_type="TRANSFER", channel="WEB")
    c.do(BehaviorType.BUSINESS, T0 + 1, business_type="TRANSFER")
    c.do(BehaviorType.BUSINESS, T0 + 2, business_type="WEALTH_PURCHASE")
    for i, rating in enumerate([5, 4, 3, 2, 1, 5]):
        c.do(BehaviorType.FEEDBACK, T0 + 10 + i, rating=rating)
    c.view("FUND", T0 - 8 * DAY_MS)  # late, and older than a week before last seen
    c.view("FUND", T0 + 20)
    assert c.state is not None
    assert c.state.channels == {"WEB": 1, "MOBILE_APP": 10}
    assert c.state.business == {"TRANSFER": 2, "WEALTH_PURCHASE": 1}
    assert c.state.ratings == [4, 3, 2, 1, 5]
    assert views_within(c.state, WEEK) == {"FUND": 1}


def test_a_resent_event_changes_nothing() -> None:
    c = Customer()
    c.do(BehaviorType.LOGIN, T0, event_id="X")
    assert c.do(BehaviorType.LOGIN, T0, event_id="X").outcome is Outcome.DUPLICATE
    assert c.state is not None
    assert logins_within(c.state, 7) == 1
    assert c.state.version == 1


def record(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "event_id": "E1",
        "customer_id": "C1",
        "event_type": "PRODUCT_VIEW",
        "channel": "WEB",
        "product_code": None,
        "product_category": "short_term_wealth",
        "business_type": None,
        "rating": None,
        "comment": "call me on 13812345678",
        "event_time": T0,
    }
    base.update(changes)
    return base


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"event_id": ""}, "missing_field"),
        ({"customer_id": ""}, "missing_field"),
        ({"product_category": None}, "missing_field"),
        ({"event_type": "FEEDBACK", "rating": 0}, "invalid_rating"),
        ({"event_type": "FEEDBACK", "rating": 6}, "invalid_rating"),
        ({"event_type": "FEEDBACK", "rating": None}, "invalid_rating"),
        ({"event_time": 0}, "invalid_event_time"),
    ],
)
def test_bad_online_events_are_refused_with_a_reason(
    changes: dict[str, object], reason: str
) -> None:
    with pytest.raises(BadInput) as err:
        event_from_record(record(**changes), POLICY, key="C1")
    assert err.value.reason == reason


def test_a_view_names_its_category_and_the_comment_is_not_kept() -> None:
    event = event_from_record(record(), POLICY, key="C1")
    assert event.category == "SHORT_TERM_WEALTH"
    assert "13812345678" not in repr(event)
    by_code = event_from_record(
        record(product_category=None, product_code="TIME_DEPOSIT_1Y"), POLICY, key="C1"
    )
    assert by_code.category == "TIME_DEPOSIT"
    with pytest.raises(BadInput, match="key_mismatch"):
        event_from_record(record(), POLICY, key="C2")
