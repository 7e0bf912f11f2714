"""What a KPI report holds, and how the rows read from PostgreSQL and Prometheus become its
figures (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from tiering.core.teams import TEAM_OF
from tiering.core.tiers import TIER_NAMES, Tier
from tiering.tools.report.interest import ProductInterest
from tiering.tools.report.kpis import Kpis
from tiering.tools.report.period import Period

TEAMS = [TEAM_OF[t].value for t in Tier]


@dataclass(frozen=True)
class TierNow:
    tier: str
    customers: int
    balance: Decimal


@dataclass
class DailyChanges:
    """Upgrades per day by the tier reached, downgrades per day by the tier left."""

    days: list[date]
    upgrades: dict[str, list[int]]
    downgrades: dict[str, list[int]]

    def total(self, kind: str, tier: str | None = None) -> int:
        counts = self.upgrades if kind == "upgrades" else self.downgrades
        return sum(sum(v) for t, v in counts.items() if tier is None or t == tier)


@dataclass(frozen=True)
class NotificationLine:
    team: str
    kind: str
    count: int
    acknowledged: int

    @property
    def acknowledged_share(self) -> float:
        return self.acknowledged / self.count if self.count else 0.0


@dataclass(frozen=True)
class TierTrend:
    """Deposit growth and churn of one tier over the period (from Prometheus)."""

    tier: str
    inflow: float
    outflow: float
    churned: float
    average_customers: float | None

    @property
    def growth(self) -> float:
        return self.inflow - self.outflow

    @property
    def churn_rate(self) -> float | None:
        if not self.average_customers:
            return None
        return self.churned / self.average_customers


@dataclass(frozen=True)
class Note:
    """A sentence for the page, worded there in the reader's language: ``message`` is the
    English msgid (marked with ``N_`` where it is written), ``values`` its placeholders. A
    datetime is shown in China time; text is shown as it is, as a name (a URL, an error)."""

    message: str
    values: Mapping[str, str | datetime] = field(default_factory=dict)


@dataclass
class Report:
    period: Period
    generated_at: datetime
    schema: str
    tiers_now: list[TierNow]
    changes: DailyChanges
    notifications: list[NotificationLine]
    trends: list[TierTrend] | None = None
    #: why there are no trends, or what limits them
    trends_notes: list[Note] = field(default_factory=list)
    #: satisfaction, marketing completion, per branch (from Prometheus, with the trends)
    kpis: Kpis | None = None
    #: §6 customers with interest per tier and product category now (from PostgreSQL)
    interest: ProductInterest | None = None
    #: customers per branch now (PostgreSQL; ``NONE``: no branch), for §7.3 churn per branch
    branch_customers: dict[str, int] = field(default_factory=dict)
    charts: dict[str, bytes] = field(default_factory=dict)


def tiers_now(rows: Iterable[tuple[str, int, Decimal | None]]) -> list[TierNow]:
    """(tier, customers, balance) rows → one line per tier, in tier order, absent ones as 0."""
    found = {tier: (n, balance or Decimal(0)) for tier, n, balance in rows}
    return [TierNow(t, *found.get(t, (0, Decimal(0)))) for t in TIER_NAMES]


def daily_changes(
    rows: Iterable[tuple[date, str, str | None, str, int]], period: Period
) -> DailyChanges:
    """(day, direction, previous tier, new tier, count) rows → counts per day and tier.
    INITIAL placements are not changes of tier and are left out."""
    index = {day: n for n, day in enumerate(period.days)}
    upgrades = {t: [0] * len(index) for t in TIER_NAMES}
    downgrades = {t: [0] * len(index) for t in TIER_NAMES}
    for day, direction, previous, new, count in rows:
        if day not in index:
            continue
        if direction == "UPGRADE":
            upgrades[new][index[day]] += count
        elif direction == "DOWNGRADE" and previous is not None:
            downgrades[previous][index[day]] += count
    return DailyChanges(period.days, upgrades, downgrades)


def notification_lines(rows: Iterable[tuple[str, str, int, int]]) -> list[NotificationLine]:
    """(team, kind, count, acknowledged) rows → lines in §4 team order, then by count."""
    lines = [NotificationLine(team, kind, n, ack) for team, kind, n, ack in rows]
    rank = {team: n for n, team in enumerate(TEAMS)}
    return sorted(lines, key=lambda x: (rank.get(x.team, len(rank)), -x.count, x.kind))


def team_totals(lines: Sequence[NotificationLine]) -> list[NotificationLine]:
    totals: dict[str, list[int]] = {}
    for line in lines:
        t = totals.setdefault(line.team, [0, 0])
        t[0] += line.count
        t[1] += line.acknowledged
    return notification_lines((team, "all", n, ack) for team, (n, ack) in totals.items())


def tier_trends(
    inflow: Mapping[str, float],
    outflow: Mapping[str, float],
    churned: Mapping[str, float],
    average_customers: Mapping[str, float],
) -> list[TierTrend]:
    """Prometheus answers per tier → one line per tier (a tier it does not name counts 0)."""
    return [
        TierTrend(
            t,
            inflow.get(t, 0.0),
            outflow.get(t, 0.0),
            churned.get(t, 0.0),
            average_customers.get(t),
        )
        for t in TIER_NAMES
    ]
