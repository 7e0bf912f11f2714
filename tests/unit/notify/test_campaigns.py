"""§6 campaigns in the notifier: a CAMPAIGN signal becomes one notification to the team of the
customer's tier, with the campaign's combination and action, within the customer's risk
tolerance (§9: the combination whole, or nothing), and never twice within the cooldown."""

from __future__ import annotations

from datetime import date

from tests.unit.notify.test_rules import HOUR, POLICY, T0, T0_DAY, known
from tiering.core.kinds import NotificationKind, Priority, SignalKind
from tiering.core.signals import Signal
from tiering.core.teams import Team
from tiering.core.tiers import Tier
from tiering.notify.rules import NotificationOutcome, decide
from tiering.notify.state import NotifierState

NAME = "SHORT_TERM_COMBINATION"


def campaign(
    at: int = T0, name: str = NAME, tier: Tier = Tier.POTENTIAL, run: str = "r1"
) -> Signal:
    return Signal(
        signal_id=f"campaign:{name}:{run}:C0001234",
        kind=SignalKind.CAMPAIGN,
        customer_id="C0001234",
        tier=tier,
        event_time_ms=at,
        balance_fen=0,
        detail=name,
    )


def test_a_campaign_tells_the_tiers_team_its_combination_and_action() -> None:
    decision = decide(campaign(), NotifierState(), POLICY, None, known(2))
    n = decision.notification
    assert decision.outcome is NotificationOutcome.EMITTED
    assert n is not None
    assert len(decision.notifications) == 1
    assert (n.kind, n.team, n.priority) == (
        NotificationKind.CAMPAIGN,
        Team.CUSTOMER_MANAGER,
        Priority.LOW,
    )
    assert n.actions[-1] == (
        "Propose: short-term wealth product + notice deposit / 推薦：短期理財產品＋通知存款"
    )
    assert "rate preference and the points" in n.actions[0]
    zh = n.texts["zh_Hans_CN"]
    assert zh.title == "营销活动“短期理财产品与通知存款组合”：客户 ****1234"
    assert "短期理财产品" in zh.body
    assert zh.actions[-1] == "推荐：短期理财产品＋通知存款"
    assert "C0001234" not in n.title + n.body
    assert (n.risk_level, n.risk_assessed_on) == (2, T0_DAY)
    assert n.source_event_id == campaign().signal_id


def test_the_cooldown_keeps_a_second_run_from_telling_the_customer_again() -> None:
    state = NotifierState()
    assert decide(campaign(), state, POLICY, None, known(3)).outcome is NotificationOutcome.EMITTED
    again = decide(campaign(T0 + HOUR, run="r2"), state, POLICY, None, known(3))
    assert again.outcome is NotificationOutcome.SUPPRESSED
    assert again.routed == ((NotificationKind.CAMPAIGN, Team.CUSTOMER_MANAGER),)
    later = decide(campaign(T0 + 24 * HOUR, run="r3"), state, POLICY, None, known(3))
    assert later.outcome is NotificationOutcome.EMITTED


def test_a_campaign_does_not_wait_for_other_kinds_cooldowns() -> None:
    """The cooldown is per kind (§5): a product-interest notice an hour before does not hold
    the campaign back, nor does the campaign hold back the next interest notice."""
    state = NotifierState(last_sent={NotificationKind.PRODUCT_INTEREST: T0 - HOUR})
    assert decide(campaign(), state, POLICY, None, known(2)).outcome is NotificationOutcome.EMITTED


def test_the_combination_is_pushed_whole_within_the_tolerance_or_not_at_all() -> None:
    """§9: SHORT_TERM_WEALTH is risk 2: a customer at 1, or with no valid assessment, is not
    told, and nothing is remembered (no cooldown starts)."""
    for assessments in (known(1), known(None), known(5, date(2023, 1, 1))):
        state = NotifierState()
        decision = decide(campaign(), state, POLICY, None, assessments)
        assert decision.outcome is NotificationOutcome.IGNORED
        assert decision.notifications == ()
        assert state.last_sent == {}


def test_a_campaign_no_longer_in_the_policy_tells_no_one() -> None:
    decision = decide(campaign(name="GONE"), NotifierState(), POLICY, None, known(5))
    assert decision.outcome is NotificationOutcome.IGNORED


def test_the_same_signal_gives_the_same_notification_id() -> None:
    first = decide(campaign(), NotifierState(), POLICY, None, known(2)).notification
    second = decide(campaign(), NotifierState(), POLICY, None, known(2)).notification
    other_run = decide(campaign(run="r2"), NotifierState(), POLICY, None, known(2)).notification
    assert first is not None
    assert second is not None
    assert other_run is not None
    assert first.notification_id == second.notification_id != other_run.notification_id
