"""§5 in the policy file: the product categories, the combinations proposed per tier, and the
actions per tier and cause, every name and action in three languages.

Each entry gives its text as ``en`` (English), ``zh_Hant`` (the original's Traditional Chinese)
and ``zh_Hans`` (Simplified Chinese)::

    TIME_DEPOSIT = { risk = 1, en = "time deposit", zh_Hant = "定期存款", zh_Hans = "定期存款" }

    [[actions.POTENTIAL.DEFAULT]]
    en = "Propose a time deposit with treasury bonds"
    zh_Hant = "推薦定期存款與國債搭配"
    zh_Hans = "推荐定期存款与国债搭配"
    products = ["TIME_DEPOSIT", "TREASURY_BOND"]

``en`` and the Traditional text are required. ``zh``, the key of policy files written before
there were three languages, is read as ``zh_Hant``, so those files keep loading. An entry
without ``zh_Hans`` shows its Traditional text to Simplified readers (the text those readers
saw before); the policy lists such entries in ``without_simplified`` and ``tiering policy
check`` names them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tiering.core.policy import ACTION_CAUSES, Action, Product
from tiering.core.policy_checks import Collector
from tiering.core.tiers import Tier

#: the keys of an entry's texts; ``zh`` is the old name of ``zh_Hant``
TEXT_KEYS = frozenset({"en", "zh_Hant", "zh_Hans", "zh"})


def parse_texts(c: Collector, where: str, item: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(English, Traditional, Simplified) of an entry, or None after naming what is wrong."""
    problems = len(c.problems)
    if "zh" in item and "zh_Hant" in item:
        c.problems.append(f"{where}: give zh_Hant only (zh is its old name)")
    texts: dict[str, str] = {}
    for key in ("en", "zh_Hant", "zh_Hans", "zh"):
        if key not in item:
            continue
        value = item[key]
        if not isinstance(value, str) or not value.strip():
            c.problems.append(f"{where}.{key}: must be a text")
        else:
            texts[key] = value.strip()
    traditional = texts.get("zh_Hant", texts.get("zh"))
    if "en" not in item:
        c.problems.append(f"{where}: lacks en (the English text)")
    if "zh_Hant" not in item and "zh" not in item:
        c.problems.append(f"{where}: lacks zh_Hant (the original's Traditional Chinese)")
    if len(c.problems) > problems or traditional is None:
        return None
    simplified = texts.get("zh_Hans")
    if simplified is None:
        c.without_simplified.append(where)
        simplified = traditional
    return texts["en"], traditional, simplified


def parse_products(c: Collector, doc: Mapping[str, Any]) -> dict[str, Product]:
    products: dict[str, Product] = {}
    for name, item in doc.items():
        where = f"products.{name}"
        if not isinstance(item, dict) or "risk" not in item:
            c.problems.append(
                f"{where}: give {{ risk = 1-5, en = ..., zh_Hant = ..., zh_Hans = ... }}"
            )
            continue
        c.unknown(f"{where}.", item, {"risk", *TEXT_KEYS})
        risk = item["risk"]
        texts = parse_texts(c, where, item)
        if isinstance(risk, bool) or not isinstance(risk, int) or not 1 <= risk <= 5:
            c.problems.append(f"{where}.risk: must be a whole number from 1 to 5, got {risk!r}")
            continue
        if texts is not None:
            products[name] = Product(risk, *texts)
    if doc and not any(p.risk == 1 for p in products.values()):
        c.problems.append(
            "products: at least one category must have risk 1 (for unknown tolerance)"
        )
    return products


def known_products(
    c: Collector, where: str, names: Any, products: Mapping[str, Product]
) -> tuple[str, ...]:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        c.problems.append(f"{where}: give a list of product categories")
        return ()
    for name in names:
        if name not in products:
            c.problems.append(f"{where}: unknown product category {name!r} (see [products])")
    return tuple(n for n in names if n in products)


def parse_combinations(
    c: Collector, doc: Mapping[str, Any], products: Mapping[str, Product]
) -> dict[Tier, dict[str, tuple[str, ...]]]:
    c.unknown("combinations.", doc, {t.name for t in Tier})
    combinations: dict[Tier, dict[str, tuple[str, ...]]] = {}
    for tier in Tier:
        by_category = doc.get(tier.name, {})
        if not isinstance(by_category, dict):
            c.problems.append(f"combinations.{tier.name}: must be a section")
            continue
        if "DEFAULT" not in by_category:
            c.problems.append(f"combinations.{tier.name}.DEFAULT: missing")
        c.unknown(f"combinations.{tier.name}.", by_category, {*products, "DEFAULT"})
        combinations[tier] = {
            category: known_products(c, f"combinations.{tier.name}.{category}", names, products)
            for category, names in by_category.items()
        }
    return combinations


def parse_actions(
    c: Collector, doc: Mapping[str, Any], products: Mapping[str, Product]
) -> dict[Tier, dict[str, tuple[Action, ...]]]:
    actions: dict[Tier, dict[str, tuple[Action, ...]]] = {}
    c.unknown("actions.", doc, {t.name for t in Tier})
    for tier in Tier:
        by_cause = doc.get(tier.name)
        if not isinstance(by_cause, dict):
            c.problems.append(f"[actions.{tier.name}]: missing section (§5 actions for the tier)")
            continue
        c.unknown(f"actions.{tier.name}.", by_cause, set(ACTION_CAUSES))
        if "DEFAULT" not in by_cause:
            c.problems.append(f"actions.{tier.name}.DEFAULT: missing")
        parsed: dict[str, tuple[Action, ...]] = {}
        for cause, items in by_cause.items():
            where = f"actions.{tier.name}.{cause}"
            if not isinstance(items, list) or not items:
                c.problems.append(f"{where}: give a list of {{ en = ..., zh_Hant = ..., ... }}")
                continue
            listed: list[Action] = []
            for n, item in enumerate(items):
                if not isinstance(item, dict):
                    c.problems.append(f"{where}[{n}]: give {{ en = ..., zh_Hant = ..., ... }}")
                    continue
                c.unknown(f"{where}[{n}].", item, {"products", *TEXT_KEYS})
                texts = parse_texts(c, f"{where}[{n}]", item)
                named = known_products(
                    c, f"{where}[{n}].products", item.get("products", []), products
                )
                if texts is not None:
                    listed.append(Action(*texts, products=named))
            parsed[cause] = tuple(listed)
        actions[tier] = parsed
    return actions
