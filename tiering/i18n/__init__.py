"""What a bank employee reads, in their language: gettext catalogs through Babel.

Three locales: Simplified Chinese for the mainland (``zh_Hans_CN``, the default), Traditional
Chinese (``zh_Hant``, the script of the policy's original) and English (``en``). The msgids
are English. Each area of the service keeps its messages in a gettext domain of its own
(``tiering/i18n/mapping/<domain>.cfg`` says which sources it is extracted from, and
``catalogs/<locale>/LC_MESSAGES/<domain>.po`` holds its translations); at run time the
domains of a locale are merged into one :class:`babel.support.Translations`. The ``.po``
files are compiled in memory when first used, so nothing binary is committed or built.

Machine-facing names stay English and stable: topics, Avro enums, metric names and labels,
table columns and log lines are never translated.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from tiering.core.bank_time import from_epoch_ms
from tiering.core.money import from_fen

Language = Literal["zh_Hans_CN", "zh_Hant", "en"]
#: the locales the catalogs are kept in, the deployment default first
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "zh_Hans_CN"
#: dates and times are shown as the bank keeps them
#: each language as ``<html lang>`` and ``Content-Language`` name it (BCP 47)
HTML_LANG: dict[Language, str] = {"zh_Hans_CN": "zh-Hans-CN", "zh_Hant": "zh-Hant", "en": "en"}
CHINA_TIME = ZoneInfo("Asia/Shanghai")


def catalog_domains() -> tuple[str, ...]:
    """The gettext domains, one per ``mapping/<domain>.cfg``."""
    mapping = resources.files(__package__).joinpath("mapping")
    return tuple(
        sorted(p.name.removesuffix(".cfg") for p in mapping.iterdir() if p.name.endswith(".cfg"))
    )


@cache
def _domain_translations(language: Language, domain: str) -> Translations:
    """One domain's catalog in ``language``, compiled in memory."""
    po = resources.files(__package__).joinpath("catalogs", language, "LC_MESSAGES", f"{domain}.po")
    with po.open("rb") as f:
        catalog = read_po(f, locale=language, domain=domain)
    mo = io.BytesIO()
    write_mo(mo, catalog, use_fuzzy=False)
    mo.seek(0)
    return Translations(mo, domain=domain)


@cache
def translations(language: Language, area: str | None = None) -> Translations:
    """Every domain's messages in ``language``, merged (once per process), with ``area``'s own
    merged last: where two areas translate the same English otherwise (the report's
    "Notifications" is a count of them, the inbox's a heading), each area reads its own."""
    domains = catalog_domains()
    if area is not None and area not in domains:
        raise ValueError(f"no catalog domain {area!r}; the domains are {', '.join(domains)}")
    merged = Translations()
    for domain in sorted(domains, key=lambda d: d == area):
        own = _domain_translations(language, domain)
        merged.merge(own)
        # merge() copies the messages but not the Plural-Forms: without this, ngettext would
        # pick English's plural form in Chinese, which has one form only
        merged.plural = own.plural
    return merged


def language_of(tag: str | None) -> Language | None:
    """The supported language a locale tag names (``zh-CN``, ``zh_TW``, ``zh-Hant-HK``,
    ``en-GB``...), or None. Chinese without a script or region is Simplified; Taiwan, Hong Kong
    and Macao are Traditional."""
    if not tag:
        return None
    try:
        locale = Locale.parse(tag.strip().replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return None
    if locale.language == "en":
        return "en"
    if locale.language != "zh":
        return None
    if locale.script == "Hant" or locale.territory in ("TW", "HK", "MO"):
        return "zh_Hant"
    return "zh_Hans_CN"


def accept_language(header: str | None) -> list[str]:
    """The tags of an HTTP ``Accept-Language`` header, most wanted first (q=0 left out)."""
    tags: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and quality > 0:
            tags.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(tags)]


def choose_language(candidates: Iterable[str | None], default: Language) -> Language:
    """The first candidate that names a supported language, else ``default``: a manager's
    preference, then their browser's ``Accept-Language`` tags, then the deployment's."""
    for candidate in candidates:
        language = language_of(candidate)
        if language is not None:
            return language
    return default


def format_money(fen: int, language: Language) -> str:
    """As the bank writes an amount of yuan: ``¥1,234,567.89``, ``-¥12.00``."""
    amount = format_decimal(abs(from_fen(fen)), "#,##0.00", locale=language)
    return f"-¥{amount}" if fen < 0 else f"¥{amount}"


def format_money_wan(fen: int, language: Language) -> str:
    """A large total as a report shows it: ``1,234.57万元`` in Chinese (ten thousand yuan,
    rounded half even to two decimals), ``¥12,345,678`` in English (whole yuan)."""
    if language == "en":
        return f"¥{format_decimal(from_fen(fen), '#,##0', locale=language)}"
    wan = (Decimal(fen) / Decimal(1_000_000)).quantize(Decimal("0.01"))
    unit = "萬元" if language == "zh_Hant" else "万元"
    return f"{format_decimal(wan, '#,##0.00', locale=language)}{unit}"


def format_time(moment: datetime | int, language: Language, format: str = "medium") -> str:
    """A moment (an aware datetime or epoch milliseconds) in China time, as ``language``
    writes it: ``2026年12月4日 21:05:00``, ``Dec 4, 2026, 9:05:00 PM``."""
    if isinstance(moment, int):
        moment = from_epoch_ms(moment)
    return _babel_datetime(moment, format, tzinfo=CHINA_TIME, locale=language)


def format_day(day: date, language: Language) -> str:
    """A calendar day (a bank day, no time of day), as ``language`` writes it: ``2025年3月1日``,
    ``Mar 1, 2025``."""
    return _babel_date(day, "medium", locale=language)


def format_count(n: int, language: Language) -> str:
    """A whole number with the locale's grouping: ``12,345``."""
    return format_decimal(n, "#,##0", locale=language)
