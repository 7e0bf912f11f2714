"""The policy file's settings for the §7 KPIs: when a customer has left (``[churn]``, §7.3) and
the marketing targets per tier and product category (``[targets]``, §7.4). Both sections are
optional: a policy file written before them still reads, with the defaults below and no targets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tiering.core.policy_checks import Collector
from tiering.core.tiers import Tier

#: §7.3 when [churn] leaves it out: a deposit balance at zero for 30 days (the KPI window)
DEFAULT_INACTIVE_DAYS = 30
#: §7.4 the period every target is set for, in days: the dashboards' and rules' window
TARGET_PERIOD_DAYS = 30
_CHURN_KEYS = {"inactive_days"}
_TARGET_KEYS = {"count", "amount_cny"}


@dataclass(frozen=True, slots=True)
class Target:
    """§7.4: what a tier's customers should buy of one product category in
    :data:`TARGET_PERIOD_DAYS` days: how many purchases, and how much money (fen)."""

    count: int
    amount_fen: int


Targets = Mapping[Tier, Mapping[str, Target]]


def parse_churn(c: Collector, churn: Any) -> int:
    """``[churn]``: the days a customer's deposit balance stays at zero before they count as
    having left (§7.3)."""
    if not isinstance(churn, Mapping):
        c.problems.append("[churn]: must be a table")
        return DEFAULT_INACTIVE_DAYS
    c.unknown("churn.", churn, _CHURN_KEYS)
    return c.whole("churn.inactive_days", churn.get("inactive_days", DEFAULT_INACTIVE_DAYS), 1)


def parse_targets(c: Collector, targets: Any, categories: Mapping[str, object]) -> Targets:
    """``[targets.TIER]``: ``CATEGORY = { count = N, amount_cny = "..." }`` per
    :data:`TARGET_PERIOD_DAYS` days, for categories of ``[products]``."""
    if not isinstance(targets, Mapping):
        c.problems.append("[targets]: must be a table")
        return {}
    c.unknown("targets.", targets, {t.name for t in Tier})
    parsed: dict[Tier, dict[str, Target]] = {}
    for tier in Tier:
        by_category = targets.get(tier.name, {})
        if not isinstance(by_category, Mapping):
            c.problems.append(f"[targets.{tier.name}]: must be a table")
            continue
        for category, target in by_category.items():
            where = f"targets.{tier.name}.{category}"
            if category not in categories:
                c.problems.append(f"{where}: not a product category of [products]")
                continue
            if not isinstance(target, Mapping):
                c.problems.append(f'{where}: write {{ count = 10, amount_cny = "1000000.00" }}')
                continue
            c.unknown(f"{where}.", target, _TARGET_KEYS)
            count = c.whole(f"{where}.count", target.get("count", 0), 0)
            amount = 0
            if "amount_cny" in target:
                amount = c.money(f"{where}.amount_cny", target["amount_cny"])
            parsed.setdefault(tier, {})[category] = Target(count, amount)
    return parsed
