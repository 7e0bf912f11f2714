"""The grouped notice of a policy-driven re-tiering (POLICY §4, README "The policy lifecycle"):
when a new policy version re-places customers, each team hears of it once per branch (and
partition), in counts, instead of one notification per customer moved.

Pure: the ledger's POLICY_CHANGE signal in, one notification to the team's queue at the branch
out. It names no customer: the moves are counted from and to each tier. Its source is the
policy change itself, ``policy:<version>``, the trigger of the re-placements in
``tier_changes``: the inbox finds the customers from it.
"""

from __future__ import annotations

import json

from tiering.core.ids import deterministic_id
from tiering.core.kinds import NotificationKind, Priority
from tiering.core.policy_versions import POLICY_SWITCH_PREFIX
from tiering.core.signals import Signal
from tiering.core.teams import TEAM_OF
from tiering.core.tiers import Tier
from tiering.i18n import LANGUAGES, Language, format_count, format_time, translations
from tiering.i18n.terms import tier_name
from tiering.notify.notification import NoticeText, Notification


def retiering_notice(signal: Signal) -> Notification:
    """The notice of ``signal`` (kind POLICY_CHANGE) to the team of ``signal.tier``."""
    version, moves = _moves(signal)
    texts: dict[str, NoticeText] = {
        language: _text(signal, version, moves, language) for language in LANGUAGES
    }
    english = texts["en"]
    return Notification(
        notification_id=deterministic_id("notification", signal.signal_id),
        customer_id="",
        tier=signal.tier,
        team=TEAM_OF[signal.tier],
        manager_id=None,
        branch_id=signal.branch_id,
        kind=NotificationKind.POLICY_CHANGE,
        priority=Priority.NORMAL,
        title=english.title,
        body=english.body,
        actions=english.actions,
        # not the signal's id (a hash of version, partition, tier and branch, kept nowhere):
        # what the ledger's re-placements name as their trigger
        source_event_id=f"{POLICY_SWITCH_PREFIX}{version}",
        created_at_ms=signal.event_time_ms,
        texts=texts,
    )


def _moves(signal: Signal) -> tuple[str, list[tuple[Tier, Tier, int]]]:
    detail = json.loads(signal.detail or "{}")
    moves = [(Tier[a], Tier[b], int(n)) for a, b, n in detail.get("moves", ())]
    return str(detail.get("version", "?")), moves


def _text(
    signal: Signal, version: str, moves: list[tuple[Tier, Tier, int]], language: Language
) -> NoticeText:
    words = translations(language, "notices")
    _, ngettext = words.gettext, words.ngettext
    mine = signal.tier
    # each list from the lowest tier up
    joined = sorted((a, n) for a, b, n in moves if b == mine)
    left = sorted((b, n) for a, b, n in moves if a == mine)
    came, went = sum(n for _, n in joined), sum(n for _, n in left)
    facts = {
        "version": version,
        "moment": format_time(signal.event_time_ms, language),
        "tier": tier_name(mine, language),
        "joined": format_count(came, language),
        "left": format_count(went, language),
    }
    title = _("Policy %(version)s re-tiered customers of %(tier)s") % facts
    lines = [_("Policy %(version)s is in force from %(moment)s (China time).") % facts]
    if joined:
        sentence = ngettext(
            "%(joined)s customer moved into %(tier)s: %(from)s.",
            "%(joined)s customers moved into %(tier)s: %(from)s.",
            came,
        )
        lines.append(
            sentence % {**facts, "from": _listed(joined, language, _("%(count)s from %(tier)s"))}
        )
    if left:
        sentence = ngettext(
            "%(left)s customer moved out of %(tier)s: %(to)s.",
            "%(left)s customers moved out of %(tier)s: %(to)s.",
            went,
        )
        lines.append(
            sentence % {**facts, "to": _listed(left, language, _("%(count)s to %(tier)s"))}
        )
    actions = (
        (_("Review the customers who joined %(tier)s under policy %(version)s.") % facts,)
        if joined
        else ()
    ) + (
        (_("Tell the customers who left %(tier)s what their new tier offers them.") % facts,)
        if left
        else ()
    )
    # English puts a space between sentences, Chinese none
    return NoticeText(title, (" " if language == "en" else "").join(lines), actions)


def _listed(counts: list[tuple[Tier, int]], language: Language, pattern: str) -> str:
    separator = ", " if language == "en" else "，"
    return separator.join(
        pattern % {"count": format_count(n, language), "tier": tier_name(tier, language)}
        for tier, n in counts
    )
