"""A policy-driven re-tiering told to each team once per branch, in counts (README "The policy
lifecycle"): the ledger's POLICY_CHANGE signal through the notifier's rules."""

from __future__ import annotations

from tests.unit.ledger.test_policy_switch import RAISED, SWITCH
from tiering.core.kinds import NotificationKind, Priority
from tiering.core.teams import Team
from tiering.core.tiers import Tier
from tiering.ledger.policy_switch import retiering_signals
from tiering.notify.notification import Notification
from tiering.notify.processor import NotifierProcessor, NotifierStore
from tiering.notify.records import decode_notification, encode_notification
from tiering.notify.rules import NotificationOutcome, decide
from tiering.notify.state import NotifierState
from tiering.settings import Settings
from tiering.wire.codec import AvroCodec
from tiering.wire.inbound import Inbound
from tiering.wire.signals import decode_signal, encode_signal
from tiering.wire.topics import DeploymentTopics

CODEC = AvroCodec()
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
    assert en.body == (
        "Policy 2027.01-1 is in force from Dec 5, 2025, 12:00:00\u202fAM (China time)."
        " 3 customers moved into Potential customer: 3 from Premium customer."
        " 40 customers moved out of Potential customer: 40 to Ordinary customer."
    )
    assert en.actions == (
        "Review the customers who joined Potential customer under policy 2027.01-1.",
        "Tell the customers who left Potential customer what their new tier offers them.",
    )
    zh = potential.text("zh_Hans_CN")
    # Chinese sentences follow one another with no space
    assert zh.body == (
        "政策 2027.01-1 自 2025年12月5日 00:00:00（北京时间）起生效。"
        "3 位客户转入潜力客户：3 位来自优质客户。"
        "40 位客户转出潜力客户：40 位转为普通客户。"
    )
    assert zh.title == "政策 2027.01-1 调整了潜力客户的客户分层"
    hant = potential.text("zh_Hant")
    assert hant.title == "政策 2027.01-1 調整了潛力客戶的客戶分層"
    assert "3 位客戶轉入潛力客戶：3 位來自優質客戶。40 位客戶轉出潛力客戶" in hant.body
    assert hant.actions[0] == "請跟進按政策 2027.01-1 轉入潛力客戶的客戶。"
    # the contract's own fields carry the English
    assert (potential.title, potential.body) == (en.title, en.body)


def test_the_same_signal_is_the_same_notice() -> None:
    assert notices() == notices()


def test_one_customer_is_one_and_thousands_are_grouped_from_the_lowest_tier_up() -> None:
    moves = {
        (Tier.PREMIUM, Tier.HIGH_END, "B1"): 1,
        (Tier.PREMIUM, Tier.POTENTIAL, "B1"): 1_250,
        (Tier.POTENTIAL, Tier.PREMIUM, "B1"): 1,
    }
    [signal] = [s for s in retiering_signals(RAISED, SWITCH, 0, moves) if s.tier == Tier.PREMIUM]
    notice = decide(signal, NotifierState(), RAISED, assignment=None).notifications[0]
    en = notice.text("en").body
    assert "1 customer moved into Premium customer: 1 from Potential customer." in en
    assert (
        "1,251 customers moved out of Premium customer:"
        " 1,250 to Potential customer, 1 to High-end customer." in en
    )
    assert "1,251 位客户转出优质客户：1,250 位转为潜力客户，1 位转为高端客户。" in (
        notice.text("zh_Hans_CN").body
    )
    # only the sentences that apply: nobody joined the high-end tier's team from it
    [high_end] = [s for s in retiering_signals(RAISED, SWITCH, 0, moves) if s.tier == Tier.HIGH_END]
    words = decide(high_end, NotifierState(), RAISED, assignment=None).notifications[0].text("en")
    assert "moved out" not in words.body
    assert words.actions == (
        "Review the customers who joined High-end customer under policy 2027.01-1.",
    )


def test_counted_like_any_notification_and_no_state_kept() -> None:
    """Through the notifier's processor: tiering_notifications_total{kind="POLICY_CHANGE"}
    gets one per notice, by team, and no notifier state is staged for the empty customer."""
    store = NotifierStore(lambda key: None)
    processor = NotifierProcessor(RAISED, CODEC, store, DeploymentTopics.of(Settings()))
    batch = [
        Inbound("signals", 3, offset, b"", encode_signal(signal))
        for offset, signal in enumerate(retiering_signals(RAISED, SWITCH, 3, MOVES))
    ]
    out = processor.decide(batch, {})
    assert out.outcomes == {
        ("POLICY_CHANGE", "BRANCH_SERVICE", "emitted"): 2,
        ("POLICY_CHANGE", "CUSTOMER_MANAGER", "emitted"): 2,
        ("POLICY_CHANGE", "WEALTH_TEAM", "emitted"): 1,
    }
    assert store.staged() == []
    # the contract's record, read back whole (ManagerNotification version 5)
    for _, n in out.notifications:
        assert decode_notification(CODEC, encode_notification(CODEC, n)) == n
