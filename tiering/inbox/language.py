"""The inbox in its reader's language: which language a request gets, the templates of each
language, and a notification's words in it.

The language of a page, the first that names one of ours (:data:`tiering.i18n.LANGUAGES`):

1. the signed-in manager's ``managers.language`` (the directory says what they read);
2. the language picked with the page's switch in this browser (a cookie);
3. the browser's ``Accept-Language``, most wanted first;
4. ``TIERING_LANGUAGE`` (Simplified Chinese unless set).

The sign-in page has no manager yet and starts at 2. A manager with a language in the
directory is not offered the switch, since it would change nothing for them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from babel.support import Translations

from tiering.i18n import (
    HTML_LANG,
    Language,
    accept_language,
    choose_language,
    format_count,
    format_day,
    format_money,
    format_time,
    translations,
)
from tiering.i18n.terms import kind_name, priority_name, team_name, tier_name

HERE = Path(__file__).resolve().parent
#: the gettext domain of the inbox's own words (tiering/i18n/mapping/inbox.cfg)
DOMAIN = "inbox"

#: the switch's choice, kept a year in this browser
LANGUAGE_COOKIE = "tiering_inbox_language"
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600
#: each language named as its readers name it (the switch shows these, each in its own tongue)
ENDONYMS: dict[Language, str] = {"zh_Hans_CN": "简体中文", "zh_Hant": "繁體中文", "en": "English"}
#: BCP 47 tags for ``<html lang>``, ``lang`` attributes and ``Content-Language``


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


def inbox_translations(language: Language) -> Translations:
    """Every area's messages in ``language``, the inbox's own taking precedence."""
    return translations(language, DOMAIN)


def page_language(
    manager: str | None, chosen: str | None, accept: str | None, default: Language
) -> Language:
    """The language of a page, in the order of this module's docstring."""
    return choose_language([manager, chosen, *accept_language(accept)], default)


@dataclass(frozen=True, slots=True)
class Content:
    """What a notification says, as the page shows it. ``lang``: the BCP 47 tag of the words
    when they are not in the page's language (the English of a row written before the
    notifications kept their texts per language), else None."""

    title: str
    body: str
    actions: tuple[str, ...]
    lang: str | None = None


def _words(entry: object) -> tuple[str, str, tuple[str, ...]] | None:
    """``(title, body, actions)`` of one language's entry in ``notifications.texts``, if
    whole."""
    if not isinstance(entry, Mapping):
        return None
    title, body, actions = entry.get("title"), entry.get("body"), entry.get("actions", [])
    if not (isinstance(title, str) and title and isinstance(body, str)):
        return None
    if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
        return None
    return title, body, tuple(actions)


def content(row: Mapping[str, Any], language: Language) -> Content:
    """The notification's title, body and actions in ``language`` from its ``texts``; else
    (none kept for it, or not whole) the row's own English ones, marked as English."""
    texts = row["texts"]
    if isinstance(texts, str):  # asyncpg hands jsonb over as its text
        try:
            texts = json.loads(texts)
        except ValueError:
            texts = None
    words = _words(texts.get(language)) if isinstance(texts, Mapping) else None
    if words is not None:
        return Content(*words)
    return Content(
        row["title"],
        row["body"],
        tuple(row["actions"] or ()),
        None if language == "en" else HTML_LANG["en"],
    )


def _masked(customer_id: str) -> str:
    """Only the last four characters (§9: mask what the page does not need)."""
    return "••••" + customer_id[-4:] if len(customer_id) > 4 else "••••"


@cache
def environment(language: Language) -> jinja2.Environment:
    """The inbox's templates in ``language`` (one environment per language and process)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(  # type: ignore[attr-defined]
        inbox_translations(language), newstyle=True
    )

    def when(moment: datetime | int | None, form: str = "medium") -> str:
        return "" if moment is None else format_time(moment, language, form)

    env.globals.update(
        language=language,
        html_lang=HTML_LANG[language],
        languages=[(code, name, HTML_LANG[code]) for code, name in ENDONYMS.items()],
    )
    env.filters.update(
        tier=lambda v: tier_name(v, language),
        team=lambda v: team_name(v, language),
        kind=lambda v: kind_name(v, language),
        priority=lambda v: priority_name(v, language),
        count=lambda v: format_count(v, language),
        content=lambda row: content(row, language),
        when=when,
        money=lambda fen: format_money(fen, language),
        day=lambda v: format_day(v, language),
        masked=_masked,
        endonym=lambda v: ENDONYMS.get(v, v),
        urlid=lambda v: quote(v, safe=""),
    )
    return env


def translate(language: Language, message: str) -> str:
    """A message marked with :func:`N_`, in ``language``."""
    return str(inbox_translations(language).gettext(message))
