"""Every text a bank employee reads comes from the catalogs, and every catalog has it
translated: a message added to the code or a template without a translation, a template with
words outside ``{% trans %}``, or a translation that drops a placeholder fails here.
``make messages`` brings the catalogs up to date with the sources."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from jinja2 import nodes

from tiering.i18n import LANGUAGES, catalog_domains, translations

ROOT = Path(__file__).resolve().parents[3]
I18N = ROOT / "tiering" / "i18n"
DOMAINS = catalog_domains()
CHINESE = [language for language in LANGUAGES if language.startswith("zh")]


def _mapping(domain: str) -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    with (I18N / "mapping" / f"{domain}.cfg").open() as f:
        return parse_mapping_cfg(f)


def _extracted(domain: str) -> set[str]:
    method_map, options_map = _mapping(domain)
    found = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        found.add(f"{context}\x04{msgid}" if context else msgid)
    return found


def _catalog(domain: str, language: str) -> Catalog:
    with (I18N / "catalogs" / language / "LC_MESSAGES" / f"{domain}.po").open("rb") as f:
        return read_po(f, locale=language, domain=domain)


def _ids(catalog: Catalog) -> set[str]:
    ids = set()
    for m in catalog:
        if m.id:
            msgid = m.id[0] if isinstance(m.id, tuple) else m.id
            ids.add(f"{m.context}\x04{msgid}" if m.context else msgid)
    return ids


def test_the_domains_are_the_areas_people_read() -> None:
    assert "terms" in DOMAINS


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_each_catalog_has_exactly_the_messages_of_the_sources(domain: str, language: str) -> None:
    in_sources = _extracted(domain)
    in_catalog = _ids(_catalog(domain, language))
    assert in_sources, f"no messages found for {domain}: check tiering/i18n/mapping/{domain}.cfg"
    missing, stale = in_sources - in_catalog, in_catalog - in_sources
    assert not missing, f"{domain}/{language} lacks {sorted(missing)}: run `make messages`"
    assert not stale, f"{domain}/{language} keeps {sorted(stale)}: run `make messages`"


@pytest.mark.parametrize("language", CHINESE)
@pytest.mark.parametrize("domain", DOMAINS)
def test_every_message_is_translated_into_chinese(domain: str, language: str) -> None:
    untranslated = []
    for m in _catalog(domain, language):
        if not m.id:
            continue
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if m.fuzzy or not all(strings):
            untranslated.append(m.id)
    assert not untranslated, f"{domain}/{language}: translate {untranslated}"


_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]|\{(\w*)\}")


def _placeholders(text: str) -> list[str]:
    return sorted(m.group(0) for m in _PLACEHOLDER.finditer(text))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_translations_keep_every_placeholder(domain: str, language: str) -> None:
    catalog = _catalog(domain, language)
    problems = [f"{m.id}: {errors}" for m, errors in catalog.check() if errors]
    for m in catalog:
        if not m.id or not m.string:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        wanted = _placeholders(ids[-1])
        problems += [f"{m.id!r} → {s!r}" for s in strings if s and _placeholders(s) != wanted]
    assert not problems


# --- templates: no words outside {% trans %} ---------------------------------------------

#: attributes whose values people read
_READ_ATTRIBUTES = re.compile(
    r"""\b(?:title|placeholder|alt|aria-label|label)\s*=\s*(["'])(.*?)\1""", re.S
)
_TAG = re.compile(r"<!--.*?-->|<!doctype[^>]*>|<[^>]*>", re.S | re.I)
_SKIPPED = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
_ENTITY = re.compile(r"&#?\w+;")
WORDS = re.compile(r"[A-Za-z]{2,}|[\u3400-\u9fff]")


def untranslated_words(html: str) -> list[str]:
    """Words a reader would see in a piece of a template that is not translated: text between
    tags and the values of the attributes people read."""
    html = _SKIPPED.sub(" ", html)
    read = [m.group(2) for m in _READ_ATTRIBUTES.finditer(html)]
    text = _ENTITY.sub(" ", _TAG.sub(" ", html))
    return [w for piece in [text, *read] for w in WORDS.findall(piece)]


def _templates() -> list[tuple[str, Path]]:
    found = []
    for domain in DOMAINS:
        method_map, _ = _mapping(domain)
        for pattern, method in method_map:
            if method == "jinja2":
                found += [(domain, p) for p in sorted(ROOT.glob(pattern.replace("**", "**/*")))]
    return found


def _literal_text(template: nodes.Template) -> list[str]:
    """The template's literal text in order, one NUL where the template puts something of its
    own: a tag with an expression inside (``<a href="/n/{{ id }}">``) is still a tag."""
    return ["\0".join(str(n.data) for n in template.find_all(nodes.TemplateData))]


@pytest.mark.parametrize(
    ("domain", "path"), _templates(), ids=lambda v: v.name if isinstance(v, Path) else v
)
def test_templates_show_no_words_outside_the_catalogs(domain: str, path: Path) -> None:
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"])
    tree = env.parse(path.read_text("utf-8"))
    words = [w for piece in _literal_text(tree) for w in untranslated_words(piece)]
    assert not words, f"{path.relative_to(ROOT)} shows untranslated words: {words}"


def test_the_template_check_sees_words_and_ignores_markup() -> None:
    assert untranslated_words('<a href="/x" class="btn">Sign in</a>') == ["Sign", "in"]
    assert untranslated_words('<input placeholder="搜索" name="q">') == ["搜", "索"]
    assert untranslated_words("<style>body { color: red }</style><p>&nbsp;1,234</p>") == []


def test_the_template_check_reads_tags_around_expressions() -> None:
    tree = jinja2.Environment(extensions=["jinja2.ext.i18n"]).parse(
        '<script nonce="{{ n }}">go()</script><a href="/n/{{ id }}" title="{{ _("Open") }}">'
        '{{ _("Open") }}</a><input value="{{ v }}" placeholder="Type">{% if x %} Here{% endif %}'
    )
    assert [w for piece in _literal_text(tree) for w in untranslated_words(piece)] == [
        "Here",
        "Type",
    ]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_each_area_reads_its_own_translations(domain: str, language: str) -> None:
    """Where two areas translate the same English otherwise (the report's "Notifications" is a
    count, the inbox's a heading), each area's merged catalog says what its own says."""
    merged = translations(language, domain)  # type: ignore[arg-type]
    for m in _catalog(domain, language):
        if m.id and isinstance(m.id, str) and m.string:
            assert merged.gettext(m.id) == m.string, (domain, m.id)
