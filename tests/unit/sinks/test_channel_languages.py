"""Each channel in its readers' language: WeCom and DingTalk cards and e-mail written from the
catalogs and the notification's texts; the assigned manager's e-mail in the manager's own
language; the JSON webhook keeps sending the machine record, with every language in it."""

from __future__ import annotations

import dataclasses
import json
import re
from email import message_from_bytes, policy

import pytest

from tests.unit.delivery.test_routes import CHANNELS
from tests.unit.notify.test_rules import POLICY, change
from tiering.core.teams import Team
from tiering.core.tiers import Tier
from tiering.notify.notification import Notification
from tiering.notify.rules import decide
from tiering.notify.state import NotifierState
from tiering.sinks.channels.config import ChannelsConfigError, parse_channels
from tiering.sinks.channels.email import Mailing, build_message, mailings
from tiering.sinks.channels.webhooks import dingtalk_request, json_request, wecom_request


def upgrade() -> Notification:
    """A POTENTIAL customer reaching PREMIUM at 600,000.00, as the notifier words it."""
    n = decide(change(Tier.POTENTIAL, Tier.PREMIUM, "UPGRADE"), NotifierState(), POLICY, None)
    assert n.notification is not None
    return n.notification


def wecom_card(language: str) -> str:
    body = wecom_request("https://w/?key=k", upgrade(), language).json()  # type: ignore[arg-type]
    content: str = body["markdown"]["content"]
    return content


def test_a_wecom_card_in_simplified_chinese() -> None:
    card = wecom_card("zh_Hans_CN")
    assert card.startswith("**升级至优质客户：客户 ****3456**\n")
    assert '> 优先级：<font color="warning">高</font>' in card
    assert "> 层级：优质客户 · 类型：层级提升 · 团队：财富团队 · 网点：BR001" in card
    assert "客户 ****3456 已由潜力客户升至优质客户，存款总额 ¥600,000.00。" in card
    assert "**建议措施**\n- 配备专属客户经理\n- 提供7×24小时服务热线" in card
    # Nothing English for the reader: only the robot's markup, the masked id and the branch id
    shown = re.sub(r"<font color=\"\w+\">|</font>|\*{4}\d{4}|BR001", "", card)
    assert re.findall(r"[A-Za-z]{2,}", shown) == []
    assert "CUST00123456" not in card


def test_a_wecom_card_in_traditional_chinese_and_in_english() -> None:
    hant = wecom_card("zh_Hant")
    assert hant.startswith("**升級至優質客戶：客戶 ****3456**\n")
    assert "> 層級：優質客戶 · 類型：層級提升 · 團隊：財富團隊 · 網點：BR001" in hant
    assert "- 配備專屬客戶經理" in hant
    en = wecom_card("en")
    assert en.startswith("**Upgrade to Premium customer: customer ****3456**\n")
    assert '> Priority: <font color="warning">High</font>' in en
    assert "**Recommended actions**\n- Assign a dedicated customer manager" in en
    assert not re.search(r"[\u3400-\u9fff]", en)


def test_a_dingtalk_card_in_traditional_chinese() -> None:
    body = dingtalk_request("https://d/?access_token=t", None, upgrade(), 1, "zh_Hant").json()
    assert body["markdown"]["title"] == "【高】升級至優質客戶：客戶 ****3456"
    text = body["markdown"]["text"]
    assert text.startswith("### 升級至優質客戶：客戶 ****3456\n\n**優先級：高** · 層級：優質客戶")
    assert "**建議措施**\n\n- 配備專屬客戶經理" in text


def test_the_json_webhook_sends_the_machine_record_with_every_language() -> None:
    record = json.loads(json_request("https://a/", None, upgrade()).body)
    assert record["tier"] == "PREMIUM"
    assert record["priority"] == "HIGH"
    assert record["title"] == "Upgrade to PREMIUM (優質客戶): customer ****3456"
    assert set(record["texts"]) == {"zh_Hans_CN", "zh_Hant", "en"}
    assert record["texts"]["zh_Hans_CN"]["title"] == "升级至优质客户：客户 ****3456"
    assert record["texts"]["zh_Hans_CN"]["actions"][0] == "配备专属客户经理"


def test_an_email_in_simplified_chinese() -> None:
    smtp = parse_channels(CHANNELS, {}).smtp
    assert smtp is not None
    built = build_message(smtp, upgrade(), ["a@bank.example"], "zh_Hans_CN")
    msg = message_from_bytes(built.as_bytes(), policy=policy.default)
    assert msg["Subject"] == "【高】升级至优质客户：客户 ****3456"
    text = msg.get_content()
    assert "优先级：高\n层级：优质客户\n类型：层级提升\n团队：财富团队\n网点：BR001\n" in text
    assert "生成时间：2025年11月25日 00:00:00\n" in text  # 16:00 UTC is midnight in Beijing
    assert "建议措施：\n  - 配备专属客户经理" in text


# --- who reads which language -----------------------------------------------------------------

TEAM = ["wealth@bank.example", "desk@bank.example"]


@pytest.mark.parametrize(
    ("manager_email", "manager_language", "expected"),
    [
        # no manager, or a manager without a preference: one message in the channel's language
        (None, None, [Mailing(TEAM, "zh_Hans_CN")]),
        ("m7@bank.example", None, [Mailing([*TEAM, "m7@bank.example"], "zh_Hans_CN")]),
        ("m7@bank.example", "zh_Hans_CN", [Mailing([*TEAM, "m7@bank.example"], "zh_Hans_CN")]),
        # a manager who reads English gets their own message, in English
        (
            "m7@bank.example",
            "en",
            [Mailing(TEAM, "zh_Hans_CN"), Mailing(["m7@bank.example"], "en", manager_only=True)],
        ),
        # the manager's address is one of the team's: the team's message
        ("desk@bank.example", "en", [Mailing(TEAM, "zh_Hans_CN")]),
    ],
)
def test_the_assigned_manager_reads_their_own_language(
    manager_email: str | None, manager_language: str | None, expected: list[Mailing]
) -> None:
    smtp = parse_channels(CHANNELS, {}).smtp
    assert smtp is not None
    assert mailings(smtp, upgrade(), manager_email, manager_language, "zh_Hans_CN") == expected


def test_without_team_addresses_the_manager_gets_one_message_in_their_language() -> None:
    smtp = parse_channels(CHANNELS.replace("[smtp]\n", '[smtp]\nlanguage = "zh-TW"\n'), {}).smtp
    assert smtp is not None
    n = upgrade()
    assert mailings(smtp, n, None, None, "en") == [Mailing(TEAM, "zh_Hant")]  # the file's
    elsewhere = dataclasses.replace(n, team=Team.PRIVATE_BANKING)  # no [smtp.to] addresses
    assert mailings(smtp, elsewhere, "m7@bank.example", "en", "zh_Hans_CN") == [
        Mailing(["m7@bank.example"], "en")
    ]


# --- the channels file -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "language"),
    [
        ("zh_Hans_CN", "zh_Hans_CN"),
        ("zh-CN", "zh_Hans_CN"),
        ("zh_Hant", "zh_Hant"),
        ("zh-TW", "zh_Hant"),
        ("en", "en"),
        ("en-GB", "en"),
    ],
)
def test_a_channel_language_is_a_supported_language_or_a_tag_naming_one(
    written: str, language: str
) -> None:
    hook = 'url = "https://w/?key=k"'
    text = CHANNELS.replace(hook, f'{hook}\nlanguage = "{written}"')
    channels = parse_channels(text, {})
    assert channels.webhook[0].language == language
    assert channels.webhook[1].language is None  # unset: the deployment's TIERING_LANGUAGE


def test_an_unknown_channel_language_is_named() -> None:
    text = CHANNELS.replace("[smtp]\n", '[smtp]\nlanguage = "fr"\n')
    with pytest.raises(ChannelsConfigError) as err:
        parse_channels(text, {}, source="channels.toml")
    assert "channels.toml: smtp.language:" in str(err.value)
    assert "'fr' is not one of zh_Hans_CN, zh_Hant, en" in str(err.value)
