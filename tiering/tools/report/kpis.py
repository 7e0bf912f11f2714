"""The report's §7 sections beside growth and churn, from Prometheus over the period:
customer satisfaction per tier (§7.1), marketing completion per tier and product category
against the policy's targets with the share a notification preceded (§7.4), and the KPIs per
branch. ``kpis_from_prometheus`` asks, ``build_kpis`` aggregates (pure)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from tiering.core.policy import Policy, Product
from tiering.core.policy_kpis import TARGET_PERIOD_DAYS, Target
from tiering.core.tiers import TIER_NAMES, Tier
from tiering.tools.report.period import Period

Answer = dict[tuple[str, ...], float]
#: one instant query: (expression, the labels to key its answer by) → {label values: value}
Ask = Callable[[str, tuple[str, ...]], Answer]


@dataclass(frozen=True)
class Rating:
    """FEEDBACK ratings of a tier's or a branch's customers over the period."""

    ratings: float
    points: float

    @property
    def average(self) -> float | None:
        return self.points / self.ratings if self.ratings else None


@dataclass(frozen=True)
class Purchases:
    """§7.4: one tier's purchases of one product category, against its target scaled to the
    period (None: the policy sets none)."""

    tier: str
    category: str
    count: float
    amount: float  #: CNY
    target_count: float | None
    target_amount: float | None  #: CNY

    @property
    def count_done(self) -> float | None:
        return self.count / self.target_count if self.target_count else None

    @property
    def amount_done(self) -> float | None:
        return self.amount / self.target_amount if self.target_amount else None


@dataclass(frozen=True)
class BranchLine:
    """A branch's KPIs over the period."""

    branch: str
    growth: float  #: CNY
    lost: float
    purchases: float
    amount: float  #: CNY
    rating: Rating


@dataclass
class Kpis:
    #: per tier, in tier order
    satisfaction: dict[str, Rating]
    #: pairs with a target or a purchase, in tier then category order
    purchases: list[Purchases]
    #: per tier: (purchases a notification had suggested, all purchases)
    prompted: dict[str, tuple[float, float]]
    branches: list[BranchLine]
    #: the period's length in days, against the targets' 30
    days: float
    products: Mapping[str, Product] = field(default_factory=dict)


def kpis_from_prometheus(ask: Ask, seconds: int, policy: Policy) -> Kpis:
    """Everything the sections show over the last ``seconds`` (raises what ``ask`` raises)."""
    w = f"[{seconds}s]"

    def inc(metric: str, *by: str) -> Answer:
        return ask(f"sum by ({', '.join(by)}) (increase({metric}{w}))", by)

    return build_kpis(
        ratings=(
            inc("tiering_satisfaction_rating_count", "tier"),
            inc("tiering_satisfaction_rating_sum", "tier"),
        ),
        purchases=(
            inc("tiering_purchases_total", "tier", "category"),
            inc("tiering_purchases_cny_total", "tier", "category"),
        ),
        conversions=inc("tiering_conversions_total", "tier"),
        branches={
            "inflow": inc("tiering_branch_inflow_cny_total", "branch_id"),
            "outflow": inc("tiering_branch_outflow_cny_total", "branch_id"),
            "lost": inc("tiering_branch_churned_customers_total", "branch_id"),
            "purchases": inc("tiering_branch_purchases_total", "branch_id"),
            "amount": inc("tiering_branch_purchases_cny_total", "branch_id"),
            "ratings": inc("tiering_branch_satisfaction_rating_count", "branch_id"),
            "points": inc("tiering_branch_satisfaction_rating_sum", "branch_id"),
        },
        policy=policy,
        days=seconds / 86_400,
    )


def build_kpis(
    ratings: tuple[Answer, Answer],
    purchases: tuple[Answer, Answer],
    conversions: Answer,
    branches: Mapping[str, Answer],
    policy: Policy,
    days: float,
) -> Kpis:
    """Prometheus' answers and the policy's targets → the sections' figures."""
    count, points = ratings
    satisfaction = {t: Rating(count.get((t,), 0.0), points.get((t,), 0.0)) for t in TIER_NAMES}
    bought, paid = purchases
    scale = days / TARGET_PERIOD_DAYS
    lines = []
    for tier in Tier:
        targets: Mapping[str, Target] = policy.purchase_targets.get(tier, {})
        for category in policy.products:
            key = (tier.name, category)
            target = targets.get(category)
            if target is None and not bought.get(key):
                continue
            lines.append(
                Purchases(
                    tier.name,
                    category,
                    bought.get(key, 0.0),
                    paid.get(key, 0.0),
                    None if target is None or not target.count else target.count * scale,
                    None
                    if target is None or not target.amount_fen
                    else target.amount_fen / 100 * scale,
                )
            )
    prompted = {
        t: (conversions.get((t,), 0.0), sum(p.count for p in lines if p.tier == t))
        for t in TIER_NAMES
    }
    names = {k[0] for answer in branches.values() for k in answer}
    branch_lines = [
        BranchLine(
            b,
            branches["inflow"].get((b,), 0.0) - branches["outflow"].get((b,), 0.0),
            branches["lost"].get((b,), 0.0),
            branches["purchases"].get((b,), 0.0),
            branches["amount"].get((b,), 0.0),
            Rating(branches["ratings"].get((b,), 0.0), branches["points"].get((b,), 0.0)),
        )
        for b in sorted(names)
    ]
    return Kpis(satisfaction, lines, prompted, branch_lines, days, policy.products)


def period_seconds(period: Period, now: datetime) -> int:
    """The part of the period that has passed by ``now``, in seconds."""
    return int((min(period.end, now) - period.start).total_seconds())
