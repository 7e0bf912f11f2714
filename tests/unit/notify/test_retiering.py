"""A policy-driven re-tiering told to each team once per branch, in counts (README "The policy
lifecycle"): the ledger's POLICY_CHANGE signal through the notifier's rules."""

from __future__ import annotations

from tests.unit.ledger.test_policy_switch import RAISED, SWITCH
from tiering.core.kinds import NotificationKind, Priority
from tiering.core.teams import Team
from tiering.core.tiers import Tier
from tiering.ledger.policy_switch import retiering_signals
from tiering.notify.notification import Notification
from tiering.notify.rules import NotificationOutcome, decide
from tiering.notify.state import NotifierState
from tiering.wire.signals import decode_signal, encode_signal

MOVES = {
    (Tier.POTENTIAL, Tier.ORDINARY, "B1"): 40,
    (Tier.PREMIUM, Tier.POTENTIAL, "B1"): 3,
    (Tier.POTENTIAL, Tier.ORDINARY, "B2"): 7,
}


def notices() -> dict[tuple[Tier, str | None], Notification]:
    found = {}
    for signal in retiering_signals(RAISED, SWITCH, 2, MOVES):
        # through the internal topic's JSON, as the notifier reads it
        signal = decode_signal(encode_signal(signal))
        decision = decide(signal, NotifierState(), RAISED, assignment=None)
        assert decision.outcome is NotificationOutcome.EMITTED
        [notice] = decision.notifications
        found[signal.tier, signal.branch_id] = notice
    return found


def test_each_team_hears_once_per_branch_and_no_customer_is_named() -> None:
    found = notices()
    assert sorted(found, key=lambda k: (k[0], k[1] or "")) == [
        (Tier.ORDINARY, "B1"),
        (Tier.ORDINARY, "B2"),
        (Tier.POTENTIAL, "B1"),
        (Tier.POTENTIAL, "B2"),
        (Tier.PREMIUM, "B1"),
    ]
    potential = found[Tier.POTENTIAL, "B1"]
    assert (potential.kind, potential.team, potential.priority) == (
        NotificationKind.POLICY_CHANGE,
        Team.CUSTOMER_MANAGER,
        Priority.NORMAL,
    )
    assert (potential.customer_id, potential.manager_id, potential.branch_id) == ("", None, "B1")
    assert potential.created_at_ms == SWITCH
    # the source is the policy change, as the re-placements in tier_changes name it
    assert {n.source_event_id for n in found.values()} == {"policy:2027.01-1"}
    assert len({n.notification_id for n in found.values()}) == 5


def test_the_notice_counts_the_moves_in_every_language() -> None:
    potential = notices()[Tier.POTENTIAL, "B1"]
    en = potential.text("en")
    assert en.title == "Policy 2027.01-1 re-tiered customers of Potential customer"
    assert "3 customer(s) moved into Potential customer: 3 from Premium customer." in en.body
    assert "40 customer(s) moved out of Potential customer: 40 to Ordinary customer." in en.body
    assert len(en.actions) == 2
    zh = potential.text("zh_Hans_CN")
    assert "3 位客户转入潜力客户：3 位来自优质客户。" in zh.body
    assert "40 位客户转出潜力客户：40 位转为普通客户。" in zh.body
    assert zh.title == "政策 2027.01-1 调整了潜力客户的客户分层"
    assert "政策 2027.01-1 自" in potential.text("zh_Hant").body
    # the contract's own fields carry the English
    assert (potential.title, potential.body) == (en.title, en.body)


def test_the_same_signal_is_the_same_notice() -> None:
    assert notices() == notices()
