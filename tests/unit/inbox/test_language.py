"""The inbox's language: which one a page gets, a notification's words in it, and catalogs safe
to show where the templates put them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from babel.messages.pofile import read_po

from tiering.i18n import LANGUAGES
from tiering.inbox.language import (
    HERE,
    Content,
    content,
    environment,
    page_language,
)

WORDS = {
    "zh_Hans_CN": {"title": "客户升级", "body": "总存款 ¥61,200.00。", "actions": ["致电"]},
    "zh_Hant": {"title": "客戶升級", "body": "總存款 ¥61,200.00。", "actions": ["致電"]},
    "en": {"title": "Moved up", "body": "Total ¥61,200.00.", "actions": ["Call"]},
}
ROW = {"title": "Old title", "body": "Old body", "actions": ["Old action"]}
OLD = ("Old title", "Old body", ("Old action",))


@pytest.mark.parametrize(
    ("manager", "chosen", "accept", "default", "expected"),
    [
        ("zh_Hant", "en", "en-US", "zh_Hans_CN", "zh_Hant"),  # the directory first
        (None, "en", "zh-TW", "zh_Hans_CN", "en"),  # then the switch
        (None, None, "fr;q=1, zh-HK;q=0.8, en;q=0.9", "zh_Hans_CN", "en"),  # the browser's best
        (None, "klingon", "zh-MO", "en", "zh_Hant"),  # a cookie naming nothing of ours
        (None, None, "fr, de", "en", "en"),  # else the deployment's
        (None, None, None, "zh_Hans_CN", "zh_Hans_CN"),
    ],
)
def test_the_order_of_the_languages(
    manager: str | None, chosen: str | None, accept: str | None, default: Any, expected: str
) -> None:
    assert page_language(manager, chosen, accept, default) == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_notification_in_the_language_of_the_page(language: Any) -> None:
    w = WORDS[language]
    for texts in (WORDS, json.dumps(WORDS)):  # (asyncpg hands jsonb over as text)
        shown = content({**ROW, "texts": texts}, language)
        assert shown == Content(w["title"], w["body"], tuple(w["actions"]), None)


@pytest.mark.parametrize(
    "texts",
    [
        {},
        "{}",
        "not json",
        {"en": WORDS["en"]},
        {"zh_Hans_CN": {"title": "只有标题"}},
        {"zh_Hans_CN": {"title": "", "body": "正文", "actions": []}},
        {"zh_Hans_CN": {"title": "标题", "body": "正文", "actions": "致电"}},
        {"zh_Hans_CN": ["标题", "正文"]},
    ],
)
def test_without_whole_words_in_the_language_the_rows_english_marked_as_such(texts: Any) -> None:
    assert content({**ROW, "texts": texts}, "zh_Hans_CN") == Content(*OLD, "en")


def test_the_rows_english_in_an_english_page_needs_no_mark() -> None:
    assert content({**ROW, "actions": None, "texts": {}}, "en") == Content(*OLD[:2], (), None)


def test_actions_may_be_left_out_of_an_entry() -> None:
    texts = {"zh_Hant": {"title": "標題", "body": "正文"}}
    assert content({**ROW, "texts": texts}, "zh_Hant") == Content("標題", "正文", (), None)


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_are_safe_where_the_templates_put_them(language: str) -> None:
    """Jinja treats a translation as markup (it is ours): none may hold what would break out of
    an attribute value or add a tag."""
    po = HERE.parent / "i18n" / "catalogs" / language / "LC_MESSAGES" / "inbox.po"
    with po.open("rb") as f:
        catalog = read_po(f, locale=language)
    unsafe = [m.string for m in catalog if m.id and any(c in str(m.string) for c in '"<>&')]
    assert unsafe == []


@pytest.mark.parametrize(
    ("language", "tag", "sign_in"),
    [("zh_Hans_CN", "zh-Hans-CN", "登录"), ("zh_Hant", "zh-Hant", "登入"), ("en", "en", "Sign in")],
)
def test_each_language_has_its_templates(language: Any, tag: str, sign_in: str) -> None:
    html = (
        environment(language)
        .get_template("signin.html")
        .render(nonce="n", me=None, csrf="c", switch=False, here="/signin", error=None)
    )
    assert f'<html lang="{tag}">' in html
    assert f'<h1 id="signin-heading">{sign_in}</h1>' in html
    assert environment(language) is environment(language)  # made once
