"""Reading the policy file (``TIERING_POLICY_FILE``, default ``default_policy.toml`` beside this
module): TOML in, a checked :class:`~tiering.core.policy.Policy` out. Every mistake in the file
is reported at once, each with the key it concerns, so the operator fixes the file in one go.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from tiering.core.bank_time import DAY_MS, HOUR_MS, MINUTE_MS
from tiering.core.money import parse_yuan
from tiering.core.policy import ACTION_CAUSES, Action, Policy, PolicyError, Product
from tiering.core.tiers import Tier

_RULE_KEYS = {
    "downgrade_grace_days",
    "large_deposit_cny",
    "large_withdrawal_cny",
    "churn_drop_ratio",
    "churn_peak_window_days",
    "churn_min_tier",
    "near_upgrade_ratio",
}
_TOP_KEYS = {
    "policy_version",
    "tiers",
    "rules",
    "dedup",
    "rates",
    "notifications",
    "actions",
    "products",
    "interest",
    "combinations",
    "input",
}
_INTEREST_KEYS = {"views", "window_days", "half_life_days", "conversion_window_days"}
_DEDUP_KEYS = {"horizon_days", "max_ids"}
_INPUT_KEYS = {"max_event_time_lead_minutes"}
#: when the policy file has no [input]: an hour
_DEFAULT_LEAD_MINUTES = 60


class _Collector:
    """Gathers every problem so the operator fixes the file in one go."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def unknown(self, where: str, table: Mapping[str, Any], known: set[str]) -> None:
        for key in sorted(set(table) - known):
            self.problems.append(f"{where}{key}: unknown key (known: {', '.join(sorted(known))})")

    def table(self, doc: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = doc.get(key)
        if value is None:
            self.problems.append(f"[{key}]: missing section")
            return {}
        if not isinstance(value, dict):
            self.problems.append(f"{key}: must be a [{key}] section")
            return {}
        return value

    def money(self, where: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.problems.append(f'{where}: write money as a string, e.g. "50000.00"')
            return 0
        try:
            fen = parse_yuan(value)
        except ValueError as exc:
            self.problems.append(f"{where}: {exc}")
            return 0
        if fen <= 0:
            self.problems.append(f"{where}: must be above zero, got {value}")
        return fen

    def ratio(self, where: str, value: Any) -> Decimal:
        try:
            if isinstance(value, bool):
                raise InvalidOperation
            ratio = Decimal(str(value))
        except InvalidOperation:
            self.problems.append(f'{where}: {value!r} is not a number, e.g. "0.50"')
            return Decimal(0)
        if not (ratio.is_finite() and 0 < ratio < 1):
            self.problems.append(f"{where}: must be between 0 and 1, got {value}")
        return ratio

    def whole(self, where: str, value: Any, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.problems.append(f"{where}: must be a whole number, got {value!r}")
            return minimum
        if value < minimum:
            self.problems.append(f"{where}: must be {minimum} or more, got {value}")
        return value


def parse_policy(doc: Mapping[str, Any], source: str = "policy") -> Policy:
    """Check a parsed TOML document and turn it into a :class:`Policy`."""
    c = _Collector()
    c.unknown("", doc, _TOP_KEYS)
    version = _version(c, doc)
    bounds = _lower_bounds(c, c.table(doc, "tiers"))
    rules = _rules(c, c.table(doc, "rules"))
    dedup = c.table(doc, "dedup")
    c.unknown("dedup.", dedup, _DEDUP_KEYS)
    horizon_days = c.whole("dedup.horizon_days", dedup.get("horizon_days", 1), 1)
    max_ids = c.whole("dedup.max_ids", dedup.get("max_ids", 1), 1)
    rates = _rates(c, c.table(doc, "rates"))
    notifications = c.table(doc, "notifications")
    c.unknown("notifications.", notifications, {"cooldown_hours"})
    cooldown_hours = c.whole(
        "notifications.cooldown_hours", notifications.get("cooldown_hours", 0), 0
    )
    products = _parse_products(c, c.table(doc, "products"))
    actions = _parse_actions(c, c.table(doc, "actions"), products)
    interest = _interest(c, c.table(doc, "interest"))
    combinations = _parse_combinations(c, c.table(doc, "combinations"), products)
    lead = _max_lead_minutes(c, doc.get("input", {}))
    if c.problems:
        raise PolicyError(
            f"{source}: {len(c.problems)} problem(s):\n  - " + "\n  - ".join(c.problems)
        )
    return Policy(
        version=version,
        lower_bounds_fen=(bounds[0], bounds[1], bounds[2]),
        downgrade_grace_ms=rules.grace_days * DAY_MS,
        large_deposit_fen=rules.large_deposit_fen,
        large_withdrawal_fen=rules.large_withdrawal_fen,
        churn_drop_ratio=rules.churn_ratio,
        churn_peak_window_days=rules.churn_days,
        churn_min_tier=rules.churn_min_tier,
        near_upgrade_ratio=rules.near_ratio,
        dedup_horizon_ms=horizon_days * DAY_MS,
        dedup_max_ids=max_ids,
        rates=rates,
        actions=actions,
        notification_cooldown_ms=cooldown_hours * HOUR_MS,
        products=products,
        combinations=combinations,
        interest_views=interest.views,
        interest_window_ms=interest.window_days * DAY_MS,
        interest_half_life_ms=interest.half_life_days * DAY_MS,
        conversion_window_ms=interest.conversion_days * DAY_MS,
        max_event_time_lead_ms=lead * MINUTE_MS,
    )


def _version(c: _Collector, doc: Mapping[str, Any]) -> str:
    version = doc.get("policy_version")
    if not isinstance(version, str) or not version.strip():
        c.problems.append("policy_version: missing; give the policy a version string")
        return ""
    return version.strip()


def _lower_bounds(c: _Collector, tiers: Mapping[str, Any]) -> list[int]:
    """§3: the lower bounds of POTENTIAL, PREMIUM and HIGH_END, strictly rising."""
    named = [t.name for t in Tier if t is not Tier.ORDINARY]
    c.unknown("tiers.", tiers, set(named))
    bounds: list[int] = []
    for name in named:
        if name not in tiers:
            c.problems.append(f"tiers.{name}: missing lower bound")
            bounds.append(0)
        else:
            bounds.append(c.money(f"tiers.{name}", tiers[name]))
    for i in range(len(named) - 1):
        lower_name, upper_name = named[i], named[i + 1]
        if bounds[i] and bounds[i + 1] and bounds[i] >= bounds[i + 1]:
            c.problems.append(
                f"tiers: bounds must rise strictly: {lower_name} ({tiers[lower_name]}) is not "
                f"below {upper_name} ({tiers[upper_name]}), so the tiers would overlap"
            )
    return bounds


@dataclass(frozen=True, slots=True)
class _Rules:
    grace_days: int
    large_deposit_fen: int
    large_withdrawal_fen: int
    churn_ratio: Decimal
    churn_days: int
    churn_min_tier: Tier
    near_ratio: Decimal


def _rules(c: _Collector, rules: Mapping[str, Any]) -> _Rules:
    """§3 grace, §5 large movements, churn risk and near upgrade."""
    c.unknown("rules.", rules, _RULE_KEYS)
    for key in sorted(_RULE_KEYS - set(rules)):
        c.problems.append(f"rules.{key}: missing")
    grace_days = c.whole("rules.downgrade_grace_days", rules.get("downgrade_grace_days", 0), 0)
    large_deposit = c.money("rules.large_deposit_cny", rules.get("large_deposit_cny", "1"))
    large_withdrawal = c.money("rules.large_withdrawal_cny", rules.get("large_withdrawal_cny", "1"))
    churn_ratio = c.ratio("rules.churn_drop_ratio", rules.get("churn_drop_ratio", "0.5"))
    churn_days = c.whole("rules.churn_peak_window_days", rules.get("churn_peak_window_days", 1), 1)
    near_ratio = c.ratio("rules.near_upgrade_ratio", rules.get("near_upgrade_ratio", "0.5"))
    churn_min_tier = Tier.POTENTIAL
    try:
        churn_min_tier = Tier.parse(str(rules.get("churn_min_tier", "POTENTIAL")))
    except ValueError as exc:
        c.problems.append(f"rules.churn_min_tier: {exc}")
    return _Rules(
        grace_days,
        large_deposit,
        large_withdrawal,
        churn_ratio,
        churn_days,
        churn_min_tier,
        near_ratio,
    )


def _rates(c: _Collector, rates_doc: Mapping[str, Any]) -> dict[str, Decimal]:
    """CNY per unit of each accepted currency; CNY itself is 1."""
    rates: dict[str, Decimal] = {}
    for code, value in rates_doc.items():
        if not (len(code) == 3 and code.isascii() and code.isalpha() and code.isupper()):
            c.problems.append(f"rates.{code}: not an ISO 4217 code (three capital letters)")
            continue
        try:
            if isinstance(value, bool):
                raise InvalidOperation
            rate = Decimal(str(value))
        except InvalidOperation:
            c.problems.append(f'rates.{code}: {value!r} is not a number, e.g. "7.10"')
            continue
        if not (rate.is_finite() and rate > 0):
            c.problems.append(f"rates.{code}: must be above zero, got {value}")
            continue
        rates[code] = rate
    if rates_doc and rates.get("CNY", Decimal(1)) != 1:
        c.problems.append("rates.CNY: must be 1")
    rates.setdefault("CNY", Decimal(1))
    return rates


@dataclass(frozen=True, slots=True)
class _Interest:
    views: int
    window_days: int
    half_life_days: int
    conversion_days: int


def _max_lead_minutes(c: _Collector, inputs: Any) -> int:
    """``[input]``, optional (a policy file written before it still reads): how far ahead of
    the worker's clock an event time may be."""
    if not isinstance(inputs, Mapping):
        c.problems.append("[input]: must be a table")
        return _DEFAULT_LEAD_MINUTES
    c.unknown("input.", inputs, _INPUT_KEYS)
    key = "max_event_time_lead_minutes"
    return c.whole(f"input.{key}", inputs.get(key, _DEFAULT_LEAD_MINUTES), 1)


def _interest(c: _Collector, interest: Mapping[str, Any]) -> _Interest:
    """§6 product interest and §7.4 conversions."""
    c.unknown("interest.", interest, _INTEREST_KEYS)
    return _Interest(
        views=c.whole("interest.views", interest.get("views", 1), 1),
        window_days=c.whole("interest.window_days", interest.get("window_days", 1), 1),
        half_life_days=c.whole("interest.half_life_days", interest.get("half_life_days", 1), 1),
        conversion_days=c.whole(
            "interest.conversion_window_days", interest.get("conversion_window_days", 1), 1
        ),
    )


def _parse_products(c: _Collector, doc: Mapping[str, Any]) -> dict[str, Product]:
    products: dict[str, Product] = {}
    for name, item in doc.items():
        where = f"products.{name}"
        if not isinstance(item, dict) or set(item) != {"risk", "en", "zh"}:
            c.problems.append(f"{where}: give {{ risk = 1-5, en = ..., zh = ... }}")
            continue
        risk = item["risk"]
        if isinstance(risk, bool) or not isinstance(risk, int) or not 1 <= risk <= 5:
            c.problems.append(f"{where}.risk: must be a whole number from 1 to 5, got {risk!r}")
            continue
        products[name] = Product(risk, str(item["en"]), str(item["zh"]))
    if doc and not any(p.risk == 1 for p in products.values()):
        c.problems.append(
            "products: at least one category must have risk 1 (for unknown tolerance)"
        )
    return products


def _known_products(
    c: _Collector, where: str, names: Any, products: Mapping[str, Product]
) -> tuple[str, ...]:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        c.problems.append(f"{where}: give a list of product categories")
        return ()
    for name in names:
        if name not in products:
            c.problems.append(f"{where}: unknown product category {name!r} (see [products])")
    return tuple(n for n in names if n in products)


def _parse_combinations(
    c: _Collector, doc: Mapping[str, Any], products: Mapping[str, Product]
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
            category: _known_products(c, f"combinations.{tier.name}.{category}", names, products)
            for category, names in by_category.items()
        }
    return combinations


def _parse_actions(
    c: _Collector, doc: Mapping[str, Any], products: Mapping[str, Product]
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
                c.problems.append(f"{where}: give a list of {{ en = ..., zh = ... }}")
                continue
            listed: list[Action] = []
            for n, item in enumerate(items):
                if (
                    not isinstance(item, dict)
                    or not {"en", "zh"} <= set(item) <= {"en", "zh", "products"}
                    or not all(isinstance(item[k], str) and item[k].strip() for k in ("en", "zh"))
                ):
                    c.problems.append(
                        f"{where}[{n}]: needs en and zh (text) and optionally products"
                    )
                    continue
                named = _known_products(
                    c, f"{where}[{n}].products", item.get("products", []), products
                )
                listed.append(Action(item["en"].strip(), item["zh"].strip(), named))
            parsed[cause] = tuple(listed)
        actions[tier] = parsed
    return actions


def parse_policy_text(text: str, source: str = "policy") -> Policy:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from exc
    return parse_policy(doc, source)


def default_policy_text() -> str:
    return resources.files("tiering.core").joinpath("default_policy.toml").read_text("utf-8")


def load_policy(path: Path | None = None) -> Policy:
    """The policy at ``path``, or the packaged default."""
    if path is None:
        return parse_policy_text(default_policy_text(), "default policy")
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the policy file: {exc.strerror}") from exc
    return parse_policy_text(text, str(path))
