"""The HTML pages the tools write for people (``tiering report``, ``tiering policy simulate``):
one self-contained page each, from a Jinja template whose every word goes through the tool's
gettext domain."""

from __future__ import annotations

from functools import cache

import jinja2
from markupsafe import Markup

from tiering.i18n import HTML_LANG, Language, translations


def html_tag(language: Language) -> Markup:
    return Markup('<html lang="%s">') % HTML_LANG[language]


@cache
def page_templates(package: str, domain: str, language: Language) -> jinja2.Environment:
    """The templates of ``package``'s ``templates`` folder, speaking ``domain`` in
    ``language``."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(language, domain), newstyle=True)  # type: ignore[attr-defined]
    return env
