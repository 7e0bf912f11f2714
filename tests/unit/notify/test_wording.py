"""What a notification says in each language (§5), masked (§9), the same every time; and the
contract's own English fields as consumers have always read them."""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal

import pytest

from tests.unit.notify.test_rules import POLICY, change, known, signal
from tiering.core.kinds import NotificationKind, Priority
from tiering.core.signals import Signal
from tiering.core.tiers import Tier
from tiering.i18n import LANGUAGES
from tiering.notify.contract_wording import describe as contract_describe
from tiering.notify.notification import NoticeText
from tiering.notify.records import decode_notification, encode_notification
from tiering.notify.rules import decide
from tiering.notify.state import NotifierState
from tiering.notify.wording import describe
from tiering.wire.codec import AvroCodec

#: a masked id (``****3456``) is the only thing a Chinese text may spell in Latin letters
MASKED = re.compile(r"\*{4}\w{0,4}")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
#: characters a Simplified text never holds, and their Simplified forms a Traditional one never
TRADITIONAL_ONLY = set("戶產務經與優專聯薦額銀團資紹險級")
SIMPLIFIED_ONLY = set("户产务经与优专联荐额银团资绍险级")

SIGNALS: dict[str, Signal] = {
    "TIER_UPGRADE": change(Tier.POTENTIAL, Tier.PREMIUM, "UPGRADE"),
    "TIER_DOWNGRADE": change(Tier.PREMIUM, Tier.POTENTIAL, "DOWNGRADE"),
    "LARGE_DEPOSIT": signal("LARGE_DEPOSIT", Tier.PREMIUM),
    "LARGE_WITHDRAWAL": signal("LARGE_WITHDRAWAL", Tier.PREMIUM),
    "CHURN_RISK": signal("CHURN_RISK", Tier.PREMIUM),
    "NEAR_UPGRADE": dataclasses.replace(
        signal("NEAR_UPGRADE", Tier.POTENTIAL), balance_fen=480_000_00, amount_fen=500_000_00
    ),
    "PRODUCT_INTEREST": dataclasses.replace(
        signal("PRODUCT_INTEREST", Tier.POTENTIAL), detail="SHORT_TERM_WEALTH"
    ),
    "IDLE_FUNDS": signal("IDLE_FUNDS", Tier.PREMIUM),
    "IDLE_FUNDS_HIGH_END": signal("IDLE_FUNDS", Tier.HIGH_END),
}


def texts_of(sent: Signal, tolerance: int | None = 5) -> dict[str, NoticeText]:
    n = decide(sent, NotifierState(), POLICY, None, known(tolerance)).notification
    assert n is not None
    return dict(n.texts)


@pytest.mark.parametrize("kind", sorted(SIGNALS))
def test_every_kind_reads_in_every_language(kind: str) -> None:
    texts = texts_of(SIGNALS[kind])
    assert set(texts) == set(LANGUAGES)
    for language, text in texts.items():
        assert text.title
        assert text.body
        assert text.actions
        everything = " ".join([text.title, text.body, *text.actions])
        assert "CUST00123456" not in everything
        assert "****3456" in text.title
        if language == "en":
            assert not re.search(r"[\u3400-\u9fff]", everything), everything
        else:
            words = LATIN_WORD.findall(MASKED.sub("", everything))
            assert words == [], f"{language}: English left in {everything}"
    assert not TRADITIONAL_ONLY & set(" ".join(texts["zh_Hans_CN"].actions))
    assert not SIMPLIFIED_ONLY & set(" ".join(texts["zh_Hant"].actions))


def test_an_upgrade_in_simplified_chinese() -> None:
    text = texts_of(SIGNALS["TIER_UPGRADE"])["zh_Hans_CN"]
    assert text.title == "升级至优质客户：客户 ****3456"
    assert text.body == "客户 ****3456 已由潜力客户升至优质客户，存款总额 ¥600,000.00。"
    assert text.actions[0] == "配备专属客户经理"
    assert "提供7×24小时服务热线" in text.actions


def test_an_upgrade_in_traditional_chinese_and_in_english() -> None:
    texts = texts_of(SIGNALS["TIER_UPGRADE"])
    assert texts["zh_Hant"].title == "升級至優質客戶：客戶 ****3456"
    assert texts["zh_Hant"].actions[0] == "配備專屬客戶經理"
    assert texts["en"].title == "Upgrade to Premium customer: customer ****3456"
    assert texts["en"].body == (
        "Customer ****3456 moved from Potential customer to Premium customer; "
        "total deposits ¥600,000.00."
    )
    assert texts["en"].actions[0] == "Assign a dedicated customer manager"


def test_amounts_and_the_policys_numbers_are_in_the_text() -> None:
    churn = texts_of(SIGNALS["CHURN_RISK"])
    assert churn["zh_Hans_CN"].body == (
        "客户 ****3456（优质客户）存款总额 ¥700,000.00，"
        "已降至近 30 天峰值 ¥600,000.00 的 50% 或以下。"
    )
    assert "50% or less of the ¥600,000.00 peak of the last 30 days" in churn["en"].body
    deposit = texts_of(SIGNALS["LARGE_DEPOSIT"])
    assert deposit["zh_Hant"].title == "大額存入 ¥600,000.00：客戶 ****3456"
    down = texts_of(SIGNALS["TIER_DOWNGRADE"])["zh_Hans_CN"]
    assert "30 天宽限期内存款始终低于优质客户标准，现为潜力客户" in down.body


def test_product_interest_names_the_products_in_the_language() -> None:
    texts = texts_of(SIGNALS["PRODUCT_INTEREST"], tolerance=3)
    assert texts["zh_Hans_CN"].title == "关注短期理财产品：客户 ****3456"
    assert texts["zh_Hans_CN"].actions[-1] == "推荐：短期理财产品＋通知存款"
    assert texts["zh_Hant"].actions[-1] == "推薦：短期理財產品＋通知存款"
    assert texts["en"].actions[-1] == "Propose: short-term wealth product + notice deposit"
    unknown = dataclasses.replace(SIGNALS["PRODUCT_INTEREST"], detail="GOLD_BARS")
    assert describe(NotificationKind.PRODUCT_INTEREST, unknown, POLICY, "zh_Hans_CN")[0] == (
        "关注产品：客户 ****3456"
    )


def test_idle_funds_say_how_long_and_what_to_offer_in_every_language() -> None:
    """§5 PREMIUM example: the idle sum and the policy's days; a custom large deposit."""
    n = decide(SIGNALS["IDLE_FUNDS"], NotifierState(), POLICY, None).notification
    assert n is not None
    # an opportunity for the customer's tier's team, not an emergency
    assert (n.kind, n.team, n.priority) == ("IDLE_FUNDS", "WEALTH_TEAM", Priority.NORMAL)
    hans, hant, en = (n.texts[language] for language in ("zh_Hans_CN", "zh_Hant", "en"))
    assert hans.title == "资金闲置 ¥700,000.00：客户 ****3456"
    assert hans.body == "客户 ****3456（优质客户）存款总额 ¥700,000.00，已连续 90 天无取款或转出。"
    assert hant.title == "資金閑置 ¥700,000.00：客戶 ****3456"
    assert "已連續 90 天無取款或轉出" in hant.body
    assert en.body == (
        "Customer ****3456 (Premium customer) has held ¥700,000.00 for 90 days with no "
        "withdrawal or transfer out."
    )
    assert hans.actions[0] == "为闲置大额资金定制专属大额存款，并赠送每年一次高端健康体检"
    assert "large-denomination custom deposit" in en.actions[0]
    assert n.title == "Idle funds of 700,000.00 CNY: customer ****3456"
    assert n.body == (
        "The customer ****3456 (PREMIUM (優質客戶)) has held 700,000.00 CNY for 90 days with no "
        "withdrawal or transfer out."
    )
    high_end = texts_of(SIGNALS["IDLE_FUNDS_HIGH_END"], tolerance=1)["zh_Hans_CN"]
    assert high_end.actions[0] == "私人银行团队协调行内各部门为闲置资金提出定制化配置方案"


def test_a_kind_without_its_own_wording_is_named_by_the_terms() -> None:
    kind = NotificationKind.OTHER
    title, body = describe(kind, SIGNALS["LARGE_DEPOSIT"], POLICY, "zh_Hans_CN")
    assert title.endswith("：客户 ****3456")
    assert body == "客户 ****3456（优质客户），存款总额 ¥700,000.00。"


def test_long_numbers_are_masked_in_every_language() -> None:
    card = "6222020200112233445"
    texts = texts_of(dataclasses.replace(SIGNALS["LARGE_DEPOSIT"], customer_id=card))
    for text in texts.values():
        assert card not in text.title + text.body
        assert not re.search(r"\d{7,}", text.title + text.body + "".join(text.actions))


def test_the_same_signal_reads_the_same_and_survives_the_wire() -> None:
    first = decide(SIGNALS["NEAR_UPGRADE"], NotifierState(), POLICY, None).notification
    again = decide(SIGNALS["NEAR_UPGRADE"], NotifierState(), POLICY, None).notification
    assert first is not None
    assert first == again
    codec = AvroCodec()
    decoded = decode_notification(codec, encode_notification(codec, first))
    assert decoded == first
    assert decoded.text("zh_Hans_CN").body == (
        "客户 ****3456（潜力客户）存款总额 ¥480,000.00，接近优质客户标准 ¥500,000.00。"
    )


def test_the_contracts_fields_keep_their_english_wording() -> None:
    n = decide(SIGNALS["TIER_UPGRADE"], NotifierState(), POLICY, None).notification
    assert n is not None
    assert n.title == "Upgrade to PREMIUM (優質客戶): customer ****3456"
    assert n.body == (
        "The customer ****3456 moved from POTENTIAL to PREMIUM; total deposits 600,000.00 CNY."
    )
    assert n.actions[0] == "Assign a dedicated customer manager / 配備專屬客戶經理"


def test_a_notification_without_texts_reads_its_english_fields_in_every_language() -> None:
    n = decide(SIGNALS["LARGE_DEPOSIT"], NotifierState(), POLICY, None).notification
    assert n is not None
    old = dataclasses.replace(n, texts={})
    for language in LANGUAGES:
        assert old.text(language) == NoticeText(n.title, n.body, n.actions)
    assert n.text("zh_Hans_CN") != old.text("zh_Hans_CN")


def test_the_contract_text_of_a_churn_risk_follows_the_policy_values() -> None:
    """§7.3: the share and the window the policy file sets, not a fixed "half" and "30 days";
    the packaged policy's still read as before."""
    churn = SIGNALS["CHURN_RISK"]
    _title, body = contract_describe(NotificationKind.CHURN_RISK, churn, POLICY)
    assert "half or less of the" in body
    assert f"last {POLICY.churn_peak_window_days} days" in body
    other = dataclasses.replace(POLICY, churn_drop_ratio=Decimal("0.4"), churn_peak_window_days=45)
    _title, body = contract_describe(NotificationKind.CHURN_RISK, churn, other)
    assert "40% or less of the" in body
    assert "last 45 days" in body
