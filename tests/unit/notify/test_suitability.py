"""§9 auditable suitability: a risk assessment counts only while it is within the policy's
validity before the event time of what a notification answers (the bank's day, China time,
never the clock); otherwise the tolerance is unknown and only the lowest-risk products are
named. Each notification records the level and the assessment date it used."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from tests.unit.notify.test_rules import POLICY, T0, T0_DAY, change, interest, known
from tiering.core.bank_time import CHINA_STANDARD_TIME, from_epoch_ms
from tiering.core.policy import Policy
from tiering.core.signals import Signal
from tiering.core.tiers import Tier
from tiering.notify.context import Assessment, CustomerContext
from tiering.notify.lookup import contexts
from tiering.notify.notification import Notification
from tiering.notify.rules import assessment_in_force, decide, expired_assessment
from tiering.notify.state import NotifierState

UPGRADE = change(Tier.PREMIUM, Tier.HIGH_END, "UPGRADE")  # at T0, bank day 2025-11-25


def notify(
    assessments: tuple[Assessment, ...], sent: Signal = UPGRADE, policy: Policy = POLICY
) -> Notification:
    n = decide(sent, NotifierState(), policy, None, assessments).notification
    assert n is not None
    return n


def test_an_assessment_exactly_12_months_before_the_event_counts_a_day_more_does_not() -> None:
    assert from_epoch_ms(T0).astimezone(CHINA_STANDARD_TIME).date() == date(2025, 11, 25)
    on_the_day = notify(known(5, date(2024, 11, 25)))
    assert (on_the_day.risk_level, on_the_day.risk_assessed_on) == (5, date(2024, 11, 25))
    assert any("private equity" in a for a in on_the_day.actions)  # risk 5 within 5
    a_day_more = notify(known(5, date(2024, 11, 24)))
    assert (a_day_more.risk_level, a_day_more.risk_assessed_on) == (None, None)
    assert (on_the_day.risk_expired_on, a_day_more.risk_expired_on) == (None, date(2024, 11, 24))
    assert not any("private equity" in a for a in a_day_more.actions)


def test_an_expired_assessment_counts_as_none_but_is_recorded_as_expired() -> None:
    """The same products as for a customer never assessed; the audit trail tells them apart:
    the expired assessment's day, or nothing at all."""
    expired = notify(known(5, date(2023, 6, 1)))
    never = notify(())
    assert (expired.actions, expired.texts) == (never.actions, never.texts)
    assert "treasury bonds" not in " ".join(never.actions)  # only level-1 products
    assert (expired.risk_level, expired.risk_expired_on) == (None, date(2023, 6, 1))
    assert (never.risk_level, never.risk_expired_on) == (None, None)
    # made after the event: not expired, not yet made
    assert notify(known(5, date(2025, 12, 1))).risk_expired_on is None


def test_the_event_time_decides_not_the_clock_and_on_the_banks_day() -> None:
    """The same assessment is valid for an event at T0 and expired for one a year later; an
    assessment made after the event (here: the next bank day, China time) is not used."""
    assessment = known(4, date(2024, 11, 25))
    later = change(Tier.PREMIUM, Tier.HIGH_END, "UPGRADE", at=T0 + 365 * 86_400_000)
    assert notify(assessment).risk_level == 4
    assert notify(assessment, later).risk_level is None
    # T0 - 1 ms is 23:59:59.999 on 2025-11-24 in China: an assessment of 11-25 came after it
    just_before = change(Tier.PREMIUM, Tier.HIGH_END, "UPGRADE", at=T0 - 1)
    assert notify(known(4), just_before).risk_level is None
    assert notify(known(4), UPGRADE).risk_level == 4


def test_the_newest_assessment_made_by_the_event_wins_older_ones_are_history() -> None:
    history = (
        Assessment(5, date(2025, 12, 1)),  # after the event: not yet made
        Assessment(2, date(2025, 6, 1)),  # the newest by the event
        Assessment(4, date(2025, 1, 1)),
    )
    n = notify(history)
    assert (n.risk_level, n.risk_assessed_on) == (2, date(2025, 6, 1))
    assert not any("fund" in a for a in n.actions)  # kept within level 2, not the older 4
    # a newest one that has expired is not replaced by an older (even more expired) one
    assert assessment_in_force(history[1:], T0 + 400 * 86_400_000, 12) is None
    assert expired_assessment(history[1:], T0 + 400 * 86_400_000, 12) == date(2025, 6, 1)


def test_the_validity_is_the_policys() -> None:
    half_year = dataclasses.replace(POLICY, assessment_valid_months=6)
    assert notify(known(3, date(2025, 5, 25)), policy=half_year).risk_level == 3
    assert notify(known(3, date(2025, 5, 24)), policy=half_year).risk_level is None


@pytest.mark.parametrize(
    ("event_day", "months", "first_valid"),
    [
        (date(2025, 3, 31), 1, date(2025, 2, 28)),  # a shorter month: its last day
        (date(2024, 2, 29), 12, date(2023, 2, 28)),
        (date(2025, 1, 15), 12, date(2024, 1, 15)),
        (date(2025, 1, 15), 13, date(2023, 12, 15)),
    ],
)
def test_months_are_calendar_months(event_day: date, months: int, first_valid: date) -> None:
    # noon in China on event_day
    at = ((event_day - date(1970, 1, 1)).days * 24 + 4) * 3_600_000
    assert assessment_in_force((Assessment(1, first_valid),), at, months) is not None
    assert (
        assessment_in_force(
            (Assessment(1, date.fromordinal(first_valid.toordinal() - 1)),), at, months
        )
        is None
    )


def test_every_notification_of_a_signal_records_what_it_used() -> None:
    """A downgrade's win-back and hand-over, and a product-interest proposal, each carry it."""
    decision = decide(
        change(Tier.PREMIUM, Tier.POTENTIAL, "DOWNGRADE"), NotifierState(), POLICY, None, known(2)
    )
    assert [(n.risk_level, n.risk_assessed_on) for n in decision.notifications] == [
        (2, T0_DAY),
        (2, T0_DAY),
    ]
    proposal = notify(known(2), interest("SHORT_TERM_WEALTH"))
    assert (proposal.risk_level, proposal.risk_assessed_on) == (2, T0_DAY)
    assert "short-term wealth product" in proposal.actions[-1]


def test_the_lookup_reads_every_assessment_of_the_customer() -> None:
    rows = [
        {
            "customer_id": "C1",
            "manager_id": None,
            "team": None,
            "branch_id": None,
            "levels": [2, 4],
            "days": [date(2025, 6, 1), date(2025, 1, 1)],
        },
        {
            "customer_id": "C2",
            "manager_id": "M1",
            "team": "WEALTH_TEAM",
            "branch_id": "BR1",
            "levels": None,
            "days": None,
        },
    ]
    found = contexts(rows)
    assert found["C1"] == CustomerContext(
        None, (Assessment(2, date(2025, 6, 1)), Assessment(4, date(2025, 1, 1)))
    )
    assert found["C2"].assessments == ()
