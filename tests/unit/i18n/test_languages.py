"""Which language a reader gets, and money and time as the bank writes them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tiering.core.tiers import Tier
from tiering.i18n import (
    accept_language,
    choose_language,
    format_money,
    format_money_wan,
    format_time,
    language_of,
)
from tiering.i18n.terms import tier_name


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("zh-CN", "zh_Hans_CN"),
        ("zh", "zh_Hans_CN"),
        ("zh-Hans", "zh_Hans_CN"),
        ("zh_SG", "zh_Hans_CN"),
        ("zh-TW", "zh_Hant"),
        ("zh-HK", "zh_Hant"),
        ("zh-Hant", "zh_Hant"),
        ("en-GB", "en"),
        ("en", "en"),
        ("fr-FR", None),
        ("", None),
        ("not a tag!", None),
    ],
)
def test_a_locale_tag_names_one_of_the_three_languages(tag: str, language: str | None) -> None:
    assert language_of(tag) == language


def test_accept_language_is_read_by_quality_then_order() -> None:
    header = "fr;q=0.9, en-US;q=0.8, zh-TW, *;q=0.1, de;q=0"
    assert accept_language(header) == ["zh-TW", "fr", "en-US"]
    assert accept_language(None) == []


def test_the_preference_comes_first_then_the_browser_then_the_default() -> None:
    browser = accept_language("fr, en-US;q=0.5")
    assert choose_language(["zh-TW", *browser], "zh_Hans_CN") == "zh_Hant"
    assert choose_language([None, *browser], "zh_Hans_CN") == "en"
    assert choose_language([None, "fr"], "zh_Hans_CN") == "zh_Hans_CN"


@pytest.mark.parametrize("language", ["zh_Hans_CN", "zh_Hant", "en"])
def test_money_is_written_in_yuan_with_the_sign_and_two_decimals(language: str) -> None:
    assert format_money(123_456_789, language) == "¥1,234,567.89"  # type: ignore[arg-type]
    assert format_money(-5, language) == "-¥0.05"  # type: ignore[arg-type]
    assert format_money(0, language) == "¥0.00"  # type: ignore[arg-type]


def test_large_totals_are_in_ten_thousands_of_yuan_in_chinese() -> None:
    assert format_money_wan(1_234_567_890, "zh_Hans_CN") == "1,234.57万元"
    assert format_money_wan(1_234_567_890, "zh_Hant") == "1,234.57萬元"
    assert format_money_wan(1_234_567_890, "en") == "¥12,345,679"


def test_times_are_shown_in_china_time() -> None:
    moment = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # 00:30 on 1 January in Beijing
    assert format_time(moment, "zh_Hans_CN") == "2027年1月1日 00:30:00"
    assert format_time(moment, "en") == "Jan 1, 2027, 12:30:00\u202fAM"


def test_the_tiers_are_named_as_the_policy_names_them() -> None:
    assert tier_name(Tier.POTENTIAL, "zh_Hant") == "潛力客戶"
    assert tier_name("POTENTIAL", "zh_Hans_CN") == "潜力客户"
    assert tier_name(Tier.POTENTIAL, "en") == "Potential customer"
