"""The names a reader sees for the codes the report's rows hold: tiers, teams and kinds from
the shared vocabulary (``tiering.i18n.terms``); a code it does not know is shown as it is."""

from __future__ import annotations

from tiering.i18n import Language
from tiering.i18n.terms import kind_name, team_name, tier_name


def tier_label(tier: str, language: Language) -> str:
    try:
        return tier_name(tier, language)
    except KeyError:
        return tier


def team_label(team: str, language: Language) -> str:
    try:
        return team_name(team, language)
    except ValueError:
        return team


def kind_label(kind: str, language: Language) -> str:
    try:
        return kind_name(kind, language)
    except ValueError:
        return kind
