"""A downgrade tells two teams (§4): the team the customer left, to win them back, and the new
tier's team, which takes them over, each in a notification of its own with its own id, its
own §5 actions and a text saying what the customer had, in every language."""

from __future__ import annotations

import re

import pytest

from tests.unit.notify.test_rules import POLICY, change, known
from tests.unit.notify.test_wording import LATIN_WORD, MASKED, SIMPLIFIED_ONLY, TRADITIONAL_ONLY
from tiering.core.ids import deterministic_id
from tiering.core.kinds import Priority
from tiering.core.policy import HANDOVER
from tiering.core.teams import TEAM_OF, Team
from tiering.core.tiers import Tier
from tiering.i18n import LANGUAGES, format_money
from tiering.i18n.terms import tier_name
from tiering.notify.context import Assignment
from tiering.notify.notification import Notification
from tiering.notify.rules import NotificationOutcome, decide
from tiering.notify.state import NotifierState

DOWNGRADES = [
    (Tier.POTENTIAL, Tier.ORDINARY),
    (Tier.PREMIUM, Tier.POTENTIAL),
    (Tier.HIGH_END, Tier.PREMIUM),
    (Tier.HIGH_END, Tier.ORDINARY),  # several tiers at once: still the two teams concerned
]


def downgrade(
    previous: Tier,
    new: Tier,
    assignment: Assignment | None = None,
    tolerance: int | None = 5,
    state: NotifierState | None = None,
) -> tuple[Notification, Notification]:
    decision = decide(
        change(previous, new, "DOWNGRADE"),
        state or NotifierState(),
        POLICY,
        assignment,
        known(tolerance),
    )
    assert decision.outcome is NotificationOutcome.EMITTED
    win_back, hand_over = decision.notifications
    assert decision.notification == win_back
    assert decision.routed == (
        ("TIER_DOWNGRADE", TEAM_OF[previous]),
        ("TIER_DOWNGRADE", TEAM_OF[new]),
    )
    return win_back, hand_over


@pytest.mark.parametrize(("previous", "new"), DOWNGRADES)
def test_the_team_left_and_the_new_team_each_get_one(previous: Tier, new: Tier) -> None:
    win_back, hand_over = downgrade(previous, new)
    assert (win_back.team, hand_over.team) == (TEAM_OF[previous], TEAM_OF[new])
    for n in (win_back, hand_over):
        assert n.kind == "TIER_DOWNGRADE"  # the Avro enum is unchanged: the texts tell them apart
        assert n.tier is new
        assert n.priority is Priority.NORMAL
        assert n.source_event_id == win_back.source_event_id
        assert (n.branch_id, n.manager_id) == ("BR001", None)
    # Each its own deterministic id; the win-back keeps the id it always had (replays and
    # the inbox recognise it), the hand-over's names its cause.
    signal_id = win_back.source_event_id
    assert win_back.notification_id == deterministic_id("notification", signal_id, "TIER_DOWNGRADE")
    assert hand_over.notification_id == deterministic_id(
        "notification", signal_id, "TIER_DOWNGRADE", HANDOVER
    )
    assert win_back.notification_id != hand_over.notification_id
    again = downgrade(previous, new)
    assert [n.notification_id for n in again] == [
        win_back.notification_id,
        hand_over.notification_id,
    ]


@pytest.mark.parametrize(("previous", "new"), DOWNGRADES)
def test_each_carries_its_own_teams_actions(previous: Tier, new: Tier) -> None:
    win_back, hand_over = downgrade(previous, new)
    for language in LANGUAGES:
        assert win_back.texts[language].actions == tuple(
            a.in_language(language) for a in POLICY.actions_for(previous, "TIER_DOWNGRADE")
        )
        assert hand_over.texts[language].actions == tuple(
            a.in_language(language) for a in POLICY.actions_for(new, HANDOVER)
        )
    assert hand_over.actions == tuple(str(a) for a in POLICY.actions_for(new, HANDOVER))
    # the policy has hand-over actions for every tier a downgrade can reach
    assert POLICY.actions[new][HANDOVER]


def test_private_banking_hands_a_customer_over_to_the_wealth_team() -> None:
    _, hand_over = downgrade(Tier.HIGH_END, Tier.PREMIUM)
    assert (
        "Take the customised solution over from private banking as a personal financial plan"
        in (hand_over.texts["en"].actions)
    )
    assert (
        "承接私人銀行團隊的定制化方案，調整為個性化財務方案" in hand_over.texts["zh_Hant"].actions
    )
    assert (
        "承接私人银行团队的定制化方案，调整为个性化财务方案"
        in hand_over.texts["zh_Hans_CN"].actions
    )


def test_the_hand_over_keeps_to_the_customers_risk_tolerance() -> None:
    """§9: treasury bonds (risk 2) are left out for a customer of unknown tolerance, as in any
    other notification."""
    _, known = downgrade(Tier.PREMIUM, Tier.POTENTIAL, tolerance=5)
    _, unknown = downgrade(Tier.PREMIUM, Tier.POTENTIAL, tolerance=None)
    assert any("treasury bonds" in a for a in known.texts["en"].actions)
    assert not any("treasury bonds" in a for a in unknown.texts["en"].actions)
    assert unknown.texts["en"].actions  # the rest of the hand-over stays


@pytest.mark.parametrize(("previous", "new"), DOWNGRADES)
def test_the_texts_say_hand_over_or_win_back_and_what_the_customer_had(
    previous: Tier, new: Tier
) -> None:
    win_back, hand_over = downgrade(previous, new)
    for language in LANGUAGES:
        mine, theirs = hand_over.texts[language], win_back.texts[language]
        assert mine.title != theirs.title
        # what the customer had: the tier they left, its threshold, and what they hold now
        for fact in (
            tier_name(previous, language),
            tier_name(new, language),
            format_money(POLICY.lower_bound(previous), language),
            format_money(600_000_00, language),
            "****3456",
        ):
            assert fact in mine.body, (language, fact, mine.body)
        assert tier_name(previous, language) in mine.title
        everything = " ".join([mine.title, mine.body, *mine.actions])
        assert "CUST00123456" not in everything
        if language == "en":
            assert not re.search(r"[\u3400-\u9fff]", everything), everything
        else:
            assert LATIN_WORD.findall(MASKED.sub("", everything)) == [], everything
    en = hand_over.texts["en"]
    assert en.title.startswith("Handed over from ")
    assert "Your team takes them over" in en.body
    assert "Win them back." in win_back.texts["en"].body
    assert "移交" in hand_over.texts["zh_Hans_CN"].title
    assert "接手维护" in hand_over.texts["zh_Hans_CN"].body
    assert "接手維護" in hand_over.texts["zh_Hant"].body
    assert "挽回" in win_back.texts["zh_Hans_CN"].body
    assert not TRADITIONAL_ONLY & set(hand_over.texts["zh_Hans_CN"].body)
    assert not SIMPLIFIED_ONLY & set(hand_over.texts["zh_Hant"].body)
    # the contract's English fields say it as well
    assert hand_over.title.startswith(f"Handed over from {previous.name}")
    assert "takes them over" in hand_over.body
    assert "Win them back" in win_back.body


def test_the_customers_manager_is_named_where_they_belong_to_the_team() -> None:
    """A wealth manager's customer handed down from HIGH_END: the hand-over is hers, the
    win-back goes to private banking's queue at her branch."""
    mine = Assignment("M-W1", Team.WEALTH_TEAM, "BR007")
    win_back, hand_over = downgrade(Tier.HIGH_END, Tier.PREMIUM, mine)
    assert (hand_over.manager_id, hand_over.branch_id) == ("M-W1", "BR007")
    assert (win_back.manager_id, win_back.branch_id) == (None, "BR007")


def test_downgrades_are_never_suppressed_and_upgrades_stay_single() -> None:
    state = NotifierState()
    first = downgrade(Tier.HIGH_END, Tier.PREMIUM, state=state)
    second = downgrade(Tier.PREMIUM, Tier.POTENTIAL, state=state)
    assert len({n.notification_id for n in (*first, *second)}) == 4
    up = decide(change(Tier.POTENTIAL, Tier.PREMIUM, "UPGRADE"), state, POLICY, None)
    assert len(up.notifications) == 1
    assert up.routed == (("TIER_UPGRADE", Team.WEALTH_TEAM),)
