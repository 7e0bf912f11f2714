"""Reading the policy file (``TIERING_POLICY_FILE``, default ``default_policy.toml`` beside this
module): TOML in, a checked :class:`~tiering.core.policy.Policy` out. Every mistake in the file
is reported at once, each with the key it concerns, so the operator fixes the file in one go.
"""

from __future__ import annotations

import contextlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from tiering.core.bank_time import CHINA_STANDARD_TIME, DAY_MS, HOUR_MS, MINUTE_MS, epoch_ms
from tiering.core.policy import ACCOUNT_TYPES, Policy, PolicyError
from tiering.core.policy_actions import parse_actions, parse_combinations, parse_products
from tiering.core.policy_basis import parse_basis
from tiering.core.policy_campaigns import parse_campaigns
from tiering.core.policy_checks import Collector
from tiering.core.policy_kpis import parse_churn, parse_targets
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
    "idle_funds",
    "accounts",
    "suitability",
    "churn",
    "targets",
    "campaigns",
    "effective_from",
    "basis",
}
_INTEREST_KEYS = {"views", "window_days", "half_life_days", "conversion_window_days"}
_DEDUP_KEYS = {"horizon_days", "max_ids"}
_INPUT_KEYS = {"max_event_time_lead_minutes"}
#: when the policy file has no [input]: an hour
_DEFAULT_LEAD_MINUTES = 60
_IDLE_KEYS = {"min_balance_cny", "days"}
#: when the policy file has no [idle_funds]: the PREMIUM lower bound, held this many days
_DEFAULT_IDLE_DAYS = 90
_SUITABILITY_KEYS = {"assessment_valid_months"}
#: when the policy file has no [suitability]: a risk assessment counts for a year (§9)
_DEFAULT_VALID_MONTHS = 12


def parse_policy(doc: Mapping[str, Any], source: str = "policy") -> Policy:
    """Check a parsed TOML document and turn it into a :class:`Policy`."""
    c = Collector()
    c.unknown("", doc, _TOP_KEYS)
    version = _version(c, doc)
    effective_from = _effective_from(c, doc.get("effective_from"))
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
    products = parse_products(c, c.table(doc, "products"))
    actions = parse_actions(c, c.table(doc, "actions"), products)
    interest = _interest(c, c.table(doc, "interest"))
    combinations = parse_combinations(c, c.table(doc, "combinations"), products)
    lead = _max_lead_minutes(c, doc.get("input", {}))
    idle_min_fen, idle_days = _idle_funds(c, doc.get("idle_funds", {}), bounds)
    counted = _counted_account_types(c, doc.get("accounts", {}))
    valid_months = _suitability(c, doc.get("suitability", {}))
    inactive_days = parse_churn(c, doc.get("churn", {}))
    targets = parse_targets(c, doc.get("targets", {}), products)
    campaigns = parse_campaigns(c, doc.get("campaigns", {}), products)
    basis = parse_basis(c, doc.get("basis", {}))
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
        idle_min_balance_fen=idle_min_fen,
        idle_ms=idle_days * DAY_MS,
        without_simplified=tuple(c.without_simplified),
        counted_account_types=counted,
        assessment_valid_months=valid_months,
        departure_ms=inactive_days * DAY_MS,
        purchase_targets=targets,
        campaigns=campaigns,
        effective_from_ms=effective_from,
        basis=basis,
    )


def _version(c: Collector, doc: Mapping[str, Any]) -> str:
    version = doc.get("policy_version")
    if not isinstance(version, str) or not version.strip():
        c.problems.append("policy_version: missing; give the policy a version string")
        return ""
    return version.strip()


def _effective_from(c: Collector, value: Any) -> int | None:
    """``effective_from``, optional: the moment this version takes over from the one before
    (a published version must have it, ``tiering policy publish``). A TOML date-time; one
    without an offset, or a date alone (its midnight), is China time."""
    if value is None:
        return None
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = datetime.fromisoformat(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        c.problems.append(
            f"effective_from: {value!r} is not a moment; write e.g. 2027-01-01T00:00:00 "
            "(China time) or 2027-01-01T00:00:00+08:00"
        )
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=CHINA_STANDARD_TIME)
    return epoch_ms(value)


def _lower_bounds(c: Collector, tiers: Mapping[str, Any]) -> list[int]:
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


def _rules(c: Collector, rules: Mapping[str, Any]) -> _Rules:
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


def _rates(c: Collector, rates_doc: Mapping[str, Any]) -> dict[str, Decimal]:
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


def _max_lead_minutes(c: Collector, inputs: Any) -> int:
    """``[input]``, optional (a policy file written before it still reads): how far ahead of
    the worker's clock an event time may be."""
    if not isinstance(inputs, Mapping):
        c.problems.append("[input]: must be a table")
        return _DEFAULT_LEAD_MINUTES
    c.unknown("input.", inputs, _INPUT_KEYS)
    key = "max_event_time_lead_minutes"
    return c.whole(f"input.{key}", inputs.get(key, _DEFAULT_LEAD_MINUTES), 1)


def _idle_funds(c: Collector, idle: Any, bounds: list[int]) -> tuple[int, int]:
    """``[idle_funds]``, optional (an older policy file reads with the defaults): §5's PREMIUM
    example, a large sum held idle for long. Its customers are PREMIUM and HIGH_END, so the
    sum is at least the PREMIUM bound: one below would promise notices for customers the rule
    never looks at."""
    if not isinstance(idle, Mapping):
        c.problems.append("[idle_funds]: must be a table")
        idle = {}
    c.unknown("idle_funds.", idle, _IDLE_KEYS)
    key = "idle_funds.min_balance_cny"
    premium = bounds[Tier.PREMIUM - 1]
    fen = premium
    if "min_balance_cny" in idle:
        raw = idle["min_balance_cny"]
        fen = c.money(key, raw)
        if fen and premium and fen < premium:
            c.problems.append(
                f"{key}: {raw} is below tiers.PREMIUM; idle funds are for PREMIUM and HIGH_END "
                "customers (POLICY §5), so the sum must be at least the PREMIUM lower bound"
            )
    days = c.whole("idle_funds.days", idle.get("days", _DEFAULT_IDLE_DAYS), 1)
    return fen, days


def _counted_account_types(c: Collector, accounts: Any) -> frozenset[str]:
    """``[accounts]``, optional (default: deposit accounts only): the account types whose
    postings count toward the §3 deposit balance."""
    if not isinstance(accounts, Mapping):
        c.problems.append("[accounts]: must be a table")
        return frozenset({"DEPOSIT"})
    c.unknown("accounts.", accounts, {"counted"})
    counted = accounts.get("counted", ["DEPOSIT"])
    if not isinstance(counted, list) or not all(isinstance(t, str) for t in counted):
        c.problems.append('accounts.counted: must be a list of account types, e.g. ["DEPOSIT"]')
        return frozenset({"DEPOSIT"})
    unknown = sorted({t for t in counted if t not in ACCOUNT_TYPES})
    if unknown:
        c.problems.append(
            f"accounts.counted: unknown account type(s) {', '.join(unknown)}; "
            f"known: {', '.join(ACCOUNT_TYPES)}"
        )
    return frozenset(t for t in counted if t in ACCOUNT_TYPES)


def _suitability(c: Collector, suitability: Any) -> int:
    """``[suitability]``, optional (an older policy file reads with a year): §9, products are
    recommended only within the customer's *known* risk tolerance, and an assessment older
    than this many months no longer counts as known."""
    if not isinstance(suitability, Mapping):
        c.problems.append("[suitability]: must be a table")
        return _DEFAULT_VALID_MONTHS
    c.unknown("suitability.", suitability, _SUITABILITY_KEYS)
    key = "assessment_valid_months"
    months = suitability.get(key, _DEFAULT_VALID_MONTHS)
    return c.whole(f"suitability.{key}", months, 1)


def _interest(c: Collector, interest: Mapping[str, Any]) -> _Interest:
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
