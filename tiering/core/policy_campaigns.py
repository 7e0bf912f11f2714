"""§6 campaigns in the policy file: a cohort of customers (their tiers, and an interest score in
one product category at or above a minimum) and the product combination pushed to them, named
in three languages. ``tiering campaign NAME`` runs one::

    [campaigns.SHORT_TERM_COMBINATION]
    tiers = ["POTENTIAL"]
    interest = "SHORT_TERM_WEALTH"
    min_interest = "2.0"
    products = ["SHORT_TERM_WEALTH", "NOTICE_DEPOSIT"]
    en = "Short-term wealth product with a notice deposit"
    zh_Hant = "短期理財產品＋通知存款組合"
    zh_Hans = "短期理财产品＋通知存款组合"
    action = { en = "...", zh_Hant = "...", zh_Hans = "..." }   # optional

The section is optional: a policy file written before it still reads, with no campaigns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from tiering.core.policy import Action, Campaign, Product
from tiering.core.policy_actions import TEXT_KEYS, known_products, parse_texts
from tiering.core.policy_checks import Collector
from tiering.core.tiers import Tier

_KEYS = {"tiers", "interest", "min_interest", "products", "action", *TEXT_KEYS}
#: a campaign's name goes into ids and onto the command line: capitals, digits and _
_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,63}")


def parse_campaigns(c: Collector, doc: Any, products: Mapping[str, Product]) -> dict[str, Campaign]:
    """``[campaigns.NAME]`` tables, each checked against ``[products]`` and the tiers."""
    if not isinstance(doc, Mapping):
        c.problems.append("[campaigns]: must be a table of [campaigns.NAME] sections")
        return {}
    campaigns: dict[str, Campaign] = {}
    for name, item in doc.items():
        where = f"campaigns.{name}"
        if not _NAME.fullmatch(name):
            c.problems.append(
                f"{where}: a campaign's name is capital letters, digits and _ "
                "(it goes into ids and onto the command line), e.g. SHORT_TERM_COMBINATION"
            )
            continue
        if not isinstance(item, Mapping):
            c.problems.append(f"{where}: must be a [{where}] section")
            continue
        campaign = _campaign(c, where, name, item, products)
        if campaign is not None:
            campaigns[name] = campaign
    return campaigns


def _campaign(
    c: Collector, where: str, name: str, item: Mapping[str, Any], products: Mapping[str, Product]
) -> Campaign | None:
    problems = len(c.problems)
    c.unknown(f"{where}.", item, _KEYS)
    tiers = _tiers(c, f"{where}.tiers", item.get("tiers"))
    interest = item.get("interest")
    if not isinstance(interest, str) or interest not in products:
        c.problems.append(
            f"{where}.interest: give the product category whose interest selects the cohort, "
            f"one of [products], got {interest!r}"
        )
    minimum = _score(c, f"{where}.min_interest", item.get("min_interest"))
    combination = known_products(c, f"{where}.products", item.get("products"), products)
    if "products" in item and not item["products"]:
        c.problems.append(f"{where}.products: name at least one product category")
    texts = parse_texts(c, where, item)
    action = _action(c, f"{where}.action", item.get("action"))
    if len(c.problems) > problems or texts is None or not isinstance(interest, str):
        return None
    return Campaign(name, tiers, interest, minimum, combination, *texts, action=action)


def _tiers(c: Collector, where: str, names: Any) -> tuple[Tier, ...]:
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        c.problems.append(f'{where}: give a list of tiers, e.g. ["POTENTIAL"]')
        return ()
    tiers: list[Tier] = []
    for name in names:
        try:
            tiers.append(Tier.parse(name))
        except ValueError as exc:
            c.problems.append(f"{where}: {exc}")
    return tuple(dict.fromkeys(tiers))


def _score(c: Collector, where: str, value: Any) -> Decimal:
    """An interest score as the profile keeps it (views, decayed by the half-life)."""
    try:
        if isinstance(value, bool) or value is None:
            raise InvalidOperation
        score = Decimal(str(value))
    except InvalidOperation:
        c.problems.append(f'{where}: give the lowest interest score that selects, e.g. "2.0"')
        return Decimal(0)
    if not (score.is_finite() and score > 0):
        c.problems.append(f"{where}: must be above zero, got {value}")
    return score


def _action(c: Collector, where: str, value: Any) -> Action | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        c.problems.append(f"{where}: give {{ en = ..., zh_Hant = ..., zh_Hans = ... }}")
        return None
    c.unknown(f"{where}.", value, set(TEXT_KEYS))
    texts = parse_texts(c, where, value)
    return Action(*texts) if texts is not None else None
