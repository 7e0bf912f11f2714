"""A policy change's POLICY_CHANGE notice on the channels: it goes out like any notification of
its team and priority, one message per notice, and reads as counts with no customer line."""

from __future__ import annotations

import dataclasses
import re
from email import message_from_bytes, policy

import pytest

from tests.unit.delivery.test_routes import CHANNELS
from tests.unit.ledger.test_policy_switch import RAISED, SWITCH
from tiering.core.teams import Team
from tiering.core.tiers import Tier
from tiering.delivery.routes import Router
from tiering.i18n import Language
from tiering.ledger.policy_switch import retiering_signals
from tiering.notify.notification import Notification
from tiering.notify.retiering import retiering_notice
from tiering.sinks.channels.config import parse_channels
from tiering.sinks.channels.email import build_message, mailings
from tiering.sinks.channels.webhooks import dingtalk_request, json_request, wecom_request

MOVES = {
    (Tier.PREMIUM, Tier.POTENTIAL, "B1"): 12,
    (Tier.POTENTIAL, Tier.PREMIUM, "B1"): 3,
    (Tier.PREMIUM, Tier.HIGH_END, "B1"): 1,
}
#: as the channels' e-mail, but from NORMAL up (a notice is NORMAL)
NORMAL_MAIL = CHANNELS.replace(
    'sender = "tiering@bank.example"', ('sender = "tiering@bank.example"\nmin_priority = "NORMAL"')
)


def notice() -> Notification:
    """The wealth team's notice at B1 (PREMIUM's moves)."""
    [signal] = [s for s in retiering_signals(RAISED, SWITCH, 0, MOVES) if s.tier == Tier.PREMIUM]
    return retiering_notice(signal)


def test_it_goes_out_like_any_notification_of_its_team_and_priority() -> None:
    n = notice()
    # NORMAL: the team's robot and the audit feed, no e-mail under the default HIGH
    assert [r.channel for r in Router(parse_channels(CHANNELS, {})).routes(n)] == [
        "webhook:wealth",
        "webhook:audit",
    ]
    # with e-mail from NORMAL: one message to the team's addresses (no manager, no customer)
    smtp = parse_channels(NORMAL_MAIL, {}).smtp
    assert smtp is not None
    assert [r.channel for r in Router(parse_channels(NORMAL_MAIL, {})).routes(n)] == [
        "webhook:wealth",
        "webhook:audit",
        "email",
    ]
    [letter] = mailings(smtp, n, None, None, "zh_Hans_CN")
    assert letter.to == ["wealth@bank.example", "desk@bank.example"]
    # another team's robot does not hear of it
    other = dataclasses.replace(n, team=Team.PRIVATE_BANKING)
    assert [r.channel for r in Router(parse_channels(CHANNELS, {})).routes(other)] == [
        "webhook:audit"
    ]


def test_the_robots_cards_count_and_name_no_customer() -> None:
    n = notice()
    card = wecom_request("https://w/?key=k", n, "zh_Hans_CN").json()["markdown"]["content"]
    assert card.startswith("**政策 2027.01-1 调整了优质客户的客户分层**\n")
    assert "> 层级：优质客户 · 类型：政策调整 · 团队：财富团队 · 网点：B1" in card
    assert "3 位客户转入优质客户：3 位来自潜力客户。" in card
    assert "13 位客户转出优质客户：12 位转为潜力客户，1 位转为高端客户。" in card
    assert "- 请跟进按政策 2027.01-1 转入优质客户的客户。" in card
    assert not re.search(r"\*{4}\d{4}", card)  # no "customer ****3456" as a customer's has
    ding = dingtalk_request("https://d/", None, n, 0, "en").json()["markdown"]
    assert ding["title"] == "[Normal] Policy 2027.01-1 re-tiered customers of Premium customer"
    assert "Kind: Policy change · Team: Wealth team · Branch: B1" in ding["text"]
    assert "13 customers moved out of Premium customer" in ding["text"]


@pytest.mark.parametrize(
    ("language", "subject", "counted"),
    [
        (
            "en",
            "[Normal] Policy 2027.01-1 re-tiered customers of Premium customer",
            "3 customers moved into Premium customer: 3 from Potential customer.",
        ),
        ("zh_Hant", "【普通】政策 2027.01-1 調整了優質客戶的客戶分層", "3 位客戶轉入優質客戶"),
    ],
)
def test_the_letter(language: Language, subject: str, counted: str) -> None:
    smtp = parse_channels(NORMAL_MAIL, {}).smtp
    assert smtp is not None
    raw = build_message(smtp, notice(), ["wealth@bank.example"], language).as_bytes()
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == subject
    text = msg.get_content()
    assert counted in text
    # no customer named, not even masked as a customer's notification names them (****3456)
    assert not re.search(r"\*{4}\d{4}", text)


def test_the_json_feed_carries_the_record_with_an_empty_customer() -> None:
    body = json_request("https://a/", None, notice()).json()
    assert (body["kind"], body["customer_id"], body["manager_id"]) == ("POLICY_CHANGE", "", None)
    assert body["source_event_id"] == "policy:2027.01-1"
    assert sorted(body["texts"]) == ["en", "zh_Hans_CN", "zh_Hant"]
