"""§4 routing, §5 priorities and actions, the cooldown, §9 masking, deterministic ids."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from tiering.core.kinds import Priority
from tiering.core.policy_file import load_policy
from tiering.core.signals import Signal
from tiering.core.teams import TEAM_OF, Team
from tiering.core.tiers import Tier
from tiering.notify.context import Assessment, Assignment
from tiering.notify.rules import NotificationOutcome as Outcome
from tiering.notify.rules import decide
from tiering.notify.state import NotifierState, decode_notifier_state, encode_notifier_state
from tiering.notify.wording import mask_id, mask_text
from tiering.wire.signals import decode_signal, encode_signal

POLICY = load_policy()
T0 = 1_764_000_000_000
HOUR = 3_600_000
#: the bank day of T0 (China Standard Time)
T0_DAY = date(2025, 11, 25)


def known(level: int | None, on: date = T0_DAY) -> tuple[Assessment, ...]:
    """A customer assessed at ``level`` on ``on`` (by default T0's day: valid at T0), or never."""
    return () if level is None else (Assessment(level, on),)


def change(
    previous: Tier | None, new: Tier, direction: str, by_snapshot: bool = False, at: int = T0
) -> Signal:
    return Signal(
        signal_id=f"chg-{previous}-{new}-{direction}-{at}",
        kind="TIER_CHANGE",
        customer_id="CUST00123456",
        tier=new,
        event_time_ms=at,
        balance_fen=600_000_00,
        branch_id="BR001",
        previous_tier=previous,
        direction=direction,
        by_snapshot=by_snapshot,
    )


def signal(kind: str, tier: Tier, at: int = T0, signal_id: str | None = None) -> Signal:
    return Signal(
        signal_id=signal_id or f"sig-{kind}-{at}",
        kind=kind,
        customer_id="CUST00123456",
        tier=tier,
        event_time_ms=at,
        balance_fen=700_000_00,
        branch_id="BR001",
        amount_fen=600_000_00,
    )


def run(
    sent: Signal,
    state: NotifierState | None = None,
    assignment: Assignment | None = None,
    tolerance: int | None = None,
):
    decision = decide(sent, state or NotifierState(), POLICY, assignment, known(tolerance))
    return decision.outcome, decision.notification


@pytest.mark.parametrize(
    ("previous", "new", "direction", "team", "priority"),
    [
        (Tier.ORDINARY, Tier.POTENTIAL, "UPGRADE", Team.CUSTOMER_MANAGER, Priority.NORMAL),
        (Tier.POTENTIAL, Tier.PREMIUM, "UPGRADE", Team.WEALTH_TEAM, Priority.HIGH),
        (Tier.ORDINARY, Tier.PREMIUM, "UPGRADE", Team.WEALTH_TEAM, Priority.HIGH),
        (Tier.PREMIUM, Tier.HIGH_END, "UPGRADE", Team.PRIVATE_BANKING, Priority.URGENT),
        (Tier.ORDINARY, Tier.HIGH_END, "UPGRADE", Team.PRIVATE_BANKING, Priority.URGENT),
        # a downgrade goes to the team of the tier the customer left, to win them back
        (Tier.POTENTIAL, Tier.ORDINARY, "DOWNGRADE", Team.CUSTOMER_MANAGER, Priority.NORMAL),
        (Tier.PREMIUM, Tier.POTENTIAL, "DOWNGRADE", Team.WEALTH_TEAM, Priority.NORMAL),
        (Tier.HIGH_END, Tier.PREMIUM, "DOWNGRADE", Team.PRIVATE_BANKING, Priority.NORMAL),
        (Tier.HIGH_END, Tier.ORDINARY, "DOWNGRADE", Team.PRIVATE_BANKING, Priority.NORMAL),
        # an initial placement by a real posting in PREMIUM or HIGH_END counts as an upgrade
        (None, Tier.PREMIUM, "INITIAL", Team.WEALTH_TEAM, Priority.HIGH),
        (None, Tier.HIGH_END, "INITIAL", Team.PRIVATE_BANKING, Priority.URGENT),
    ],
)
def test_tier_changes_go_to_the_right_team(previous, new, direction, team, priority) -> None:
    outcome, n = run(change(previous, new, direction))
    assert outcome is Outcome.EMITTED
    assert n is not None
    assert n.team is team
    assert n.priority is priority
    assert n.kind == ("TIER_DOWNGRADE" if direction == "DOWNGRADE" else "TIER_UPGRADE")
    assert n.tier is new
    assert n.actions


@pytest.mark.parametrize(
    ("new", "by_snapshot"),
    [(Tier.ORDINARY, False), (Tier.POTENTIAL, False), (Tier.PREMIUM, True), (Tier.HIGH_END, True)],
)
def test_other_initial_placements_notify_nobody(new: Tier, by_snapshot: bool) -> None:
    assert run(change(None, new, "INITIAL", by_snapshot=by_snapshot)) == (Outcome.IGNORED, None)


def test_an_upgrade_to_premium_carries_the_policys_actions() -> None:
    _, n = run(change(Tier.POTENTIAL, Tier.PREMIUM, "UPGRADE"))
    assert n is not None
    text = " | ".join(n.actions).lower()
    for words in (
        "assign a dedicated customer manager",
        "7×24 hotline",
        "large-denomination custom deposit",
    ):
        assert words in text
    assert "配備專屬客戶經理" in text  # the original's Chinese beside the English


@pytest.mark.parametrize(
    ("kind", "tier", "priority"),
    [
        ("LARGE_DEPOSIT", Tier.POTENTIAL, Priority.HIGH),
        ("LARGE_DEPOSIT", Tier.HIGH_END, Priority.HIGH),
        ("CHURN_RISK", Tier.PREMIUM, Priority.HIGH),
        ("CHURN_RISK", Tier.HIGH_END, Priority.HIGH),
        ("CHURN_RISK", Tier.POTENTIAL, Priority.NORMAL),
        ("LARGE_WITHDRAWAL", Tier.PREMIUM, Priority.NORMAL),
        ("NEAR_UPGRADE", Tier.POTENTIAL, Priority.LOW),
    ],
)
def test_signals_go_to_the_customers_tier_team_with_their_priority(kind, tier, priority) -> None:
    _, n = run(signal(kind, tier))
    assert n is not None
    assert (n.kind, n.team, n.priority) == (kind, TEAM_OF[tier], priority)


def test_the_cooldown_suppresses_repeats_up_to_its_edge() -> None:
    state = NotifierState()
    first = run(signal("LARGE_DEPOSIT", Tier.PREMIUM, at=T0), state)
    assert first[0] is Outcome.EMITTED
    just_inside = run(signal("LARGE_DEPOSIT", Tier.PREMIUM, at=T0 + 24 * HOUR - 1), state)
    assert just_inside == (Outcome.SUPPRESSED, None)
    other_kind = run(signal("LARGE_WITHDRAWAL", Tier.PREMIUM, at=T0 + HOUR), state)
    assert other_kind[0] is Outcome.EMITTED
    at_the_edge = run(signal("LARGE_DEPOSIT", Tier.PREMIUM, at=T0 + 24 * HOUR), state)
    assert at_the_edge[0] is Outcome.EMITTED


def test_tier_changes_are_never_suppressed() -> None:
    state = NotifierState()
    for i, (prev, new) in enumerate(
        [(Tier.POTENTIAL, Tier.PREMIUM), (Tier.PREMIUM, Tier.HIGH_END)]
    ):
        assert run(change(prev, new, "UPGRADE", at=T0 + i), state)[0] is Outcome.EMITTED


def test_the_assigned_manager_hears_when_in_the_team_else_the_branch_queue() -> None:
    wealth = Assignment("M-W1", Team.WEALTH_TEAM, "BR009")
    _, n = run(change(Tier.POTENTIAL, Tier.PREMIUM, "UPGRADE"), assignment=wealth)
    assert n is not None
    assert (n.manager_id, n.branch_id) == ("M-W1", "BR009")
    cm = Assignment("M-C1", Team.CUSTOMER_MANAGER, "BR009")
    _, n = run(change(Tier.POTENTIAL, Tier.PREMIUM, "UPGRADE"), assignment=cm)
    assert n is not None
    assert (n.manager_id, n.branch_id, n.team) == (None, "BR009", Team.WEALTH_TEAM)
    _, n = run(change(Tier.POTENTIAL, Tier.PREMIUM, "UPGRADE"))
    assert n is not None
    assert (n.manager_id, n.branch_id) == (None, "BR001")


def test_no_full_customer_id_in_title_or_body() -> None:
    for sent in (
        change(Tier.POTENTIAL, Tier.PREMIUM, "UPGRADE"),
        signal("CHURN_RISK", Tier.PREMIUM),
    ):
        _, n = run(sent)
        assert n is not None
        assert "CUST00123456" not in n.title + n.body
        assert "****3456" in n.title
    assert mask_id("6222020200112233445") == "****3445"
    assert mask_id("C1") == "****"
    assert (
        mask_text("call 13812345678 about account 6222020200112233445")
        == "call ****5678 about account ****3445"
    )
    assert mask_text("balance 3,000,000.00 CNY") == "balance 3,000,000.00 CNY"


def test_ids_are_deterministic_and_follow_the_cause() -> None:
    a = run(change(Tier.POTENTIAL, Tier.PREMIUM, "UPGRADE"))[1]
    b = run(change(Tier.POTENTIAL, Tier.PREMIUM, "UPGRADE"))[1]
    c = run(change(Tier.PREMIUM, Tier.HIGH_END, "UPGRADE"))[1]
    assert a is not None
    assert b is not None
    assert c is not None
    assert a.notification_id == b.notification_id != c.notification_id
    assert a.source_event_id == change(Tier.POTENTIAL, Tier.PREMIUM, "UPGRADE").signal_id
    assert a.created_at_ms == T0


def test_signals_and_state_survive_encoding() -> None:
    for sent in (
        change(Tier.POTENTIAL, Tier.PREMIUM, "UPGRADE", by_snapshot=True),
        signal("CHURN_RISK", Tier.PREMIUM),
    ):
        assert decode_signal(encode_signal(sent)) == sent
    state = NotifierState(last_sent={"LARGE_DEPOSIT": T0, "CHURN_RISK": T0 + 5})
    assert decode_notifier_state(encode_notifier_state(state)) == state


def test_a_cause_without_its_own_actions_uses_the_tiers_default() -> None:
    _, n = run(signal("IDLE_FUNDS", Tier.POTENTIAL), tolerance=5)
    assert n is not None
    assert list(n.actions) == [str(a) for a in POLICY.actions[Tier.POTENTIAL]["DEFAULT"]]
    policy = dataclasses.replace(POLICY, notification_cooldown_ms=0)
    state = NotifierState()
    for _ in range(3):
        decision = decide(signal("LARGE_DEPOSIT", Tier.PREMIUM), state, policy, None)
        assert decision.outcome is Outcome.EMITTED


# --- §9 risk tolerance, §6 product interest, §7.4 conversions --------------------------------


def interest(category: str, tier: Tier = Tier.POTENTIAL, at: int = T0) -> Signal:
    return dataclasses.replace(signal("PRODUCT_INTEREST", tier, at=at), detail=category)


def purchase(category: str, at: int, tier: Tier = Tier.POTENTIAL) -> Signal:
    return dataclasses.replace(
        signal("PURCHASE", tier, at=at, signal_id=f"buy-{at}"), detail=category
    )


def test_recommendations_never_exceed_the_known_tolerance() -> None:
    upgrade = change(Tier.PREMIUM, Tier.HIGH_END, "UPGRADE")
    _, bold = run(upgrade, tolerance=5)
    _, careful = run(upgrade, tolerance=3)
    assert bold is not None
    assert careful is not None
    assert any("private equity" in a for a in bold.actions)
    assert not any("private equity" in a for a in careful.actions)  # risk 5 > 3


def test_with_no_known_tolerance_only_the_lowest_risk_products_are_named() -> None:
    _, n = run(change(Tier.ORDINARY, Tier.POTENTIAL, "UPGRADE"))
    assert n is not None
    text = " ".join(n.actions).lower()
    assert "treasury bonds" not in text
    assert "short-term wealth" not in text
    assert "priority queueing" in text  # service actions name no product: they stay
    _, n = run(change(Tier.ORDINARY, Tier.POTENTIAL, "UPGRADE"), tolerance=2)
    assert n is not None
    assert "short-term wealth product with a notice deposit" in " ".join(n.actions).lower()


def test_product_interest_proposes_the_tiers_combination_within_tolerance() -> None:
    _, n = run(interest("SHORT_TERM_WEALTH"), tolerance=3)
    assert n is not None
    assert (n.kind, n.team) == ("PRODUCT_INTEREST", Team.CUSTOMER_MANAGER)
    assert (
        n.actions[-1]
        == "Propose: short-term wealth product + notice deposit / 推薦：短期理財產品＋通知存款"
    )
    _, careful = run(interest("SHORT_TERM_WEALTH"))  # unknown tolerance: risk 1 only
    assert careful is not None
    assert careful.actions[-1] == "Propose: notice deposit / 推薦：通知存款"
    _, premium = run(interest("FUND", Tier.PREMIUM), tolerance=3)
    assert premium is not None
    assert premium.team is Team.WEALTH_TEAM
    assert premium.actions[-1].startswith("Propose: fund + large-denomination custom deposit")


def test_a_purchase_within_30_days_of_the_offer_converts_once() -> None:
    state = NotifierState()
    offered = decide(interest("SHORT_TERM_WEALTH", at=T0), state, POLICY, None, known(3))
    assert offered.conversions == ()
    bought = decide(purchase("NOTICE_DEPOSIT", at=T0 + 30 * 24 * HOUR), state, POLICY, None)
    assert bought.conversions == ((Tier.POTENTIAL, "PRODUCT_INTEREST"),)
    again = decide(purchase("NOTICE_DEPOSIT", at=T0 + 30 * 24 * HOUR + 5), state, POLICY, None)
    assert again.conversions == ()  # that offer is used up


def test_a_purchase_after_the_window_or_before_the_offer_is_no_conversion() -> None:
    state = NotifierState()
    decide(interest("SHORT_TERM_WEALTH", at=T0), state, POLICY, None, known(3))
    late = decide(purchase("SHORT_TERM_WEALTH", at=T0 + 30 * 24 * HOUR + 1), state, POLICY, None)
    assert late.conversions == ()
    state = NotifierState()
    decide(purchase("SHORT_TERM_WEALTH", at=T0 - 1), state, POLICY, None)
    offered = decide(interest("SHORT_TERM_WEALTH", at=T0), state, POLICY, None, known(3))
    assert offered.conversions == ()


def test_a_purchase_seen_before_its_offer_arrives_still_converts_in_event_time() -> None:
    state = NotifierState()
    assert (
        decide(
            purchase("LARGE_CD", at=T0 + 5 * HOUR, tier=Tier.PREMIUM), state, POLICY, None
        ).conversions
        == ()
    )
    late_offer = decide(change(Tier.POTENTIAL, Tier.PREMIUM, "UPGRADE", at=T0), state, POLICY, None)
    assert late_offer.conversions == ((Tier.PREMIUM, "TIER_UPGRADE"),)
    assert decode_notifier_state(encode_notifier_state(state)) == state
