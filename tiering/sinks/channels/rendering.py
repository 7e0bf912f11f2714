"""How a notification reads on a channel people look at (WeCom, DingTalk, e-mail), in the
channel's language: its title, body and actions in that language (``texts``; the English
fields for a notification that has none), and every label around them from the gettext domain
``notices``, the tier, kind, team and priority named as :mod:`tiering.i18n.terms` names them,
times in China time."""

from __future__ import annotations

from dataclasses import dataclass

from tiering.i18n import Language, format_time, translations
from tiering.i18n.terms import kind_name, priority_name, team_name, tier_name
from tiering.notify.notification import NoticeText, Notification


@dataclass(frozen=True, slots=True)
class Rendered:
    """Everything a channel shows of a notification, in one language."""

    text: NoticeText
    priority: str  #: the priority's name, e.g. 紧急
    headline: str  #: ``[priority] title``: an e-mail's subject, a DingTalk card's title
    facts: tuple[str, ...]  #: tier, kind, team, branch, each with its label
    priority_label: str  #: ``Priority: %(priority)s`` in the language, the value a placeholder
    actions_label: str  #: the heading of the actions on a card
    actions_intro: str  #: the line before the actions in a letter
    created: str  #: ``Created: ...`` in China time


def render(n: Notification, language: Language) -> Rendered:
    _ = translations(language, "notices").gettext
    text = n.text(language)
    priority = priority_name(n.priority, language)
    facts = (
        _("Tier: %(tier)s") % {"tier": tier_name(n.tier, language)},
        _("Kind: %(kind)s") % {"kind": kind_name(n.kind, language)},
        _("Team: %(team)s") % {"team": team_name(n.team, language)},
        _("Branch: %(branch)s") % {"branch": n.branch_id or "-"},
    )
    return Rendered(
        text=text,
        priority=priority,
        headline=_("[%(priority)s] %(title)s") % {"priority": priority, "title": text.title},
        facts=facts,
        priority_label=_("Priority: %(priority)s"),
        actions_label=_("Recommended actions"),
        actions_intro=_("Recommended actions:"),
        created=_("Created: %(time)s") % {"time": format_time(n.created_at_ms, language)},
    )
