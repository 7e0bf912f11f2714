"""``tiering report``: a KPI snapshot of a period as one self-contained HTML file, for branch
heads who read reports rather than dashboards (POLICY §7).

From PostgreSQL: customers and deposits per tier now (``customer_balances``), tier changes per
day (``tier_changes``), notifications per team and kind with the acknowledged share
(``notifications``). From Prometheus, when it answers: deposit growth and churn per tier over
the period. Days are China Standard Time. Charts are PNG (matplotlib, Agg) inside the file.

The gathering talks to the services; everything after it (aggregation, charts, HTML) is pure.
"""

from __future__ import annotations

import asyncio
import base64
import html
import io
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from streams.core.notifier import TEAM_OF, TIER_NAMES_ZH
from streams.core.tiers import Tier
from streams.settings import Settings

CST = timezone(timedelta(hours=8), "CST")
TIERS = [t.name for t in Tier]
TEAMS = [TEAM_OF[t].value for t in Tier]
TIER_COLORS = {
    "ORDINARY": "#8e8e8e",
    "POTENTIAL": "#5794f2",
    "PREMIUM": "#a05fc8",
    "HIGH_END": "#d4a000",
}


# --- the period ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """From the first day's midnight to the end of the last day, China Standard Time."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"the period ends ({self.last}) before it starts ({self.first})")

    @classmethod
    def parse(cls, first: str, last: str) -> Period:
        """``--from`` and ``--to`` as YYYY-MM-DD."""
        days = []
        for option, text in (("--from", first), ("--to", last)):
            try:
                days.append(datetime.strptime(text, "%Y-%m-%d").date())
            except ValueError:
                raise ValueError(f"{option}: expected a day as YYYY-MM-DD, not {text!r}") from None
        return cls(days[0], days[1])

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, datetime.min.time(), CST)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), datetime.min.time(), CST)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def __str__(self) -> str:
        return f"{self.first:%Y-%m-%d} to {self.last:%Y-%m-%d}"


# --- what the report holds ----------------------------------------------------------------


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
    trends_note: str = ""
    charts: dict[str, bytes] = field(default_factory=dict)


# --- aggregation (pure) -------------------------------------------------------------------


def tiers_now(rows: Iterable[tuple[str, int, Decimal | None]]) -> list[TierNow]:
    """(tier, customers, balance) rows → one line per tier, in tier order, absent ones as 0."""
    found = {tier: (n, balance or Decimal(0)) for tier, n, balance in rows}
    return [TierNow(t, *found.get(t, (0, Decimal(0)))) for t in TIERS]


def daily_changes(
    rows: Iterable[tuple[date, str, str | None, str, int]], period: Period
) -> DailyChanges:
    """(day, direction, previous tier, new tier, count) rows → counts per day and tier.
    INITIAL placements are not changes of tier and are left out."""
    index = {day: n for n, day in enumerate(period.days)}
    upgrades = {t: [0] * len(index) for t in TIERS}
    downgrades = {t: [0] * len(index) for t in TIERS}
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
        for t in TIERS
    ]


# --- HTML (pure) --------------------------------------------------------------------------

_CSS = """
body { font: 15px/1.45 -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", sans-serif;
       color: #222; max-width: 960px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
.meta, .note, footer { color: #666; }
.note { background: #fff7e0; border-left: 4px solid #e0b400; padding: .5em .8em; }
table { border-collapse: collapse; margin: .8em 0; min-width: 60%; }
th, td { padding: .25em .8em; border-bottom: 1px solid #eee; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 600; border-top: 1px solid #999; }
img { max-width: 100%; display: block; margin: .8em 0; }
"""


def _e(value: object) -> str:
    return html.escape(str(value))


def _yuan(value: Decimal | float) -> str:
    return f"{value:,.2f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _table(
    head: Sequence[str], rows: Sequence[Sequence[object]], numeric_from: int, total: bool = False
) -> str:
    """An HTML table; columns from ``numeric_from`` on are right-aligned figures, and with
    ``total`` the last row is set apart."""

    def cells(row: Sequence[object], tag: str) -> str:
        return "".join(
            f'<{tag} class="n">{_e(c)}</{tag}>' if i >= numeric_from else f"<{tag}>{_e(c)}</{tag}>"
            for i, c in enumerate(row)
        )

    body = [
        f'<tr class="total">{cells(r, "td")}</tr>'
        if total and n == len(rows) - 1
        else f"<tr>{cells(r, 'td')}</tr>"
        for n, r in enumerate(rows)
    ]
    return (
        f"<table><thead><tr>{cells(head, 'th')}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _img(charts: Mapping[str, bytes], name: str, alt: str) -> str:
    png = charts.get(name)
    if png is None:
        return ""
    data = base64.b64encode(png).decode()
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def render_html(report: Report) -> str:
    """The whole page: text, tables, and the charts as data: URIs."""
    r = report
    charts = r.charts
    customers = sum(t.customers for t in r.tiers_now)
    deposits = sum((t.balance for t in r.tiers_now), Decimal(0))
    tier_rows: list[Sequence[object]] = [
        (
            t.tier,
            TIER_NAMES_ZH[Tier[t.tier]],
            f"{t.customers:,}",
            _pct(t.customers / customers if customers else None),
            _yuan(t.balance),
            _pct(float(t.balance / deposits) if deposits else None),
        )
        for t in r.tiers_now
    ]
    tier_rows.append(("all tiers", "", f"{customers:,}", "", _yuan(deposits), ""))

    c = r.changes
    change_rows: list[Sequence[object]] = [
        (t, f"{c.total('upgrades', t):,}", f"{c.total('downgrades', t):,}") for t in TIERS
    ]
    change_rows.append(("all tiers", f"{c.total('upgrades'):,}", f"{c.total('downgrades'):,}"))

    notes_rows: list[Sequence[object]] = [
        (n.team, n.kind, f"{n.count:,}", f"{n.acknowledged:,}", _pct(n.acknowledged_share))
        for n in r.notifications
    ]
    all_n = sum(n.count for n in r.notifications)
    all_ack = sum(n.acknowledged for n in r.notifications)
    notes_rows.append(
        ("all teams", "", f"{all_n:,}", f"{all_ack:,}", _pct(all_ack / all_n if all_n else None))
    )
    team_rows = [
        (n.team, f"{n.count:,}", f"{n.acknowledged:,}", _pct(n.acknowledged_share))
        for n in team_totals(r.notifications)
    ]

    if r.trends is None:
        trends = f'<p class="note">{_e(r.trends_note)}</p>'
    else:
        trend_rows = [
            (
                t.tier,
                _yuan(t.inflow),
                _yuan(t.outflow),
                _yuan(t.growth),
                f"{t.churned:,.0f}",
                "–" if t.average_customers is None else f"{t.average_customers:,.0f}",
                _pct(t.churn_rate),
            )
            for t in r.trends
        ]
        trends = (
            (f'<p class="note">{_e(r.trends_note)}</p>' if r.trends_note else "")
            + _img(charts, "growth", "Deposit growth per tier")
            + _table(
                (
                    "tier",
                    "credits (CNY)",
                    "debits (CNY)",
                    "growth (CNY)",
                    "customers lost",
                    "average customers",
                    "churn rate",
                ),
                trend_rows,
                1,
            )
            + "<p>Growth is credits minus debits posted for the tier's customers; churn is the"
            " customers who left the tier downward or emptied their accounts, as a share of the"
            " tier's average size over the period.</p>"
        )

    when = r.generated_at.astimezone(CST)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Deposit tiering KPI report, {_e(r.period)}</title>
<style>{_CSS}</style></head>
<body>
<h1>Deposit tiering: KPI report</h1>
<p class="meta">Period {_e(r.period)} (China Standard Time) · generated {when:%Y-%m-%d %H:%M} CST
· schema {_e(r.schema)}</p>

<h2>Customers and deposits per tier now</h2>
{_img(charts, "tiers", "Customers and deposits per tier")}
{_table(("tier", "", "customers", "share", "deposits (CNY)", "share"), tier_rows, 2, True)}

<h2>Tier changes per day</h2>
<p>Upgrades by the tier reached, downgrades by the tier left, on the day (CST) the change took
effect; initial placements are not counted.</p>
{_img(charts, "changes", "Tier changes per day")}
{_table(("tier", "upgrades into", "downgrades out of"), change_rows, 1, True)}

<h2>Notifications to the teams</h2>
{_img(charts, "notifications", "Notifications per team, acknowledged or not")}
{_table(("team", "notifications", "acknowledged", "acknowledged share"), team_rows, 1)}
{_table(("team", "kind", "notifications", "acknowledged", "share"), notes_rows, 2, True)}

<h2>Deposit growth and churn per tier</h2>
{trends}

<footer><p>Sources: PostgreSQL tables customer_balances, tier_changes and notifications;
Prometheus metrics tiering_inflow_cny_total, tiering_outflow_cny_total,
tiering_churned_customers_total and tiering_customers (see docs/metrics.md).</p></footer>
</body></html>
"""


# --- charts -------------------------------------------------------------------------------


def _png(draw: Callable[[Any], None], size: tuple[float, float] = (9, 3.6)) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=110, layout="constrained")
    draw(fig)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def money_scale(values: Iterable[float]) -> tuple[float, str]:
    """A divisor and its name that keep the largest of ``values`` readable on an axis."""
    largest = max((abs(v) for v in values), default=0.0)
    if largest >= 1e6:
        return 1e6, "million CNY"
    if largest >= 1e3:
        return 1e3, "thousand CNY"
    return 1.0, "CNY"


def draw_charts(report: Report) -> dict[str, bytes]:
    """The page's charts as PNG: tiers now, changes per day, notifications, growth."""
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    charts: dict[str, bytes] = {}
    colors = [TIER_COLORS[t] for t in TIERS]

    def tiers(fig: Any) -> None:
        left, right = fig.subplots(1, 2)
        counts = [float(t.customers) for t in report.tiers_now]
        divisor, unit = money_scale(float(t.balance) for t in report.tiers_now)
        money = [float(t.balance) / divisor for t in report.tiers_now]
        for ax, values, title, fmt in (
            (left, counts, "Customers", "{:,.0f}"),
            (right, money, f"Deposits ({unit})", "{:,.2f}"),
        ):
            bars = ax.bar(TIERS, values, color=colors)
            ax.bar_label(bars, labels=[fmt.format(v) for v in values], fontsize=9)
            ax.set_title(title)
            ax.spines[["top", "right"]].set_visible(False)
            ax.tick_params(axis="x", labelsize=9)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
            ax.margins(y=0.15)

    def changes(fig: Any) -> None:
        ax = fig.subplots()
        c = report.changes
        x = list(range(len(c.days)))
        up = [0] * len(x)
        down = [0] * len(x)
        for t in TIERS:
            ax.bar(x, c.upgrades[t], bottom=up, color=TIER_COLORS[t])
            up = [a + b for a, b in zip(up, c.upgrades[t], strict=True)]
            minus = [-v for v in c.downgrades[t]]
            ax.bar(x, minus, bottom=down, color=TIER_COLORS[t], hatch="//", edgecolor="white")
            down = [a + b for a, b in zip(down, minus, strict=True)]
        ax.axhline(0, color="#444", linewidth=0.8)
        step = max(1, len(x) // 12)
        ax.set_xticks(x[::step], [f"{d:%m-%d}" for d in c.days[::step]], fontsize=9)
        ax.set_xlim(-0.6, len(x) - 0.4)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("downgrades  |  upgrades")
        ax.set_title(
            "Tier changes per day: upgrades above by tier reached, downgrades below by tier left"
        )
        handles = [Patch(color=TIER_COLORS[t], label=t) for t in TIERS]
        handles.append(Patch(facecolor="#bbb", hatch="//", edgecolor="white", label="downgrade"))
        fig.legend(handles=handles, loc="outside lower center", ncols=5, fontsize=8, frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        ax.margins(y=0.1)

    def notifications(fig: Any) -> None:
        ax = fig.subplots()
        lines = team_totals(report.notifications)
        names = [n.team for n in lines]
        acked = [n.acknowledged for n in lines]
        open_ = [n.count - n.acknowledged for n in lines]
        ax.barh(names, acked, color="#3d9a50", label="acknowledged")
        ax.barh(names, open_, left=acked, color="#d0d0d0", label="not acknowledged")
        for i, n in enumerate(lines):
            label = f"  {n.count:,} ({n.acknowledged_share:.0%} acknowledged)"
            ax.text(n.count, i, label, va="center", fontsize=9)
        ax.invert_yaxis()
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.set_xlabel("notifications in the period")
        fig.legend(loc="outside upper right", ncols=2, fontsize=8, frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        ax.margins(x=0.3)

    def growth(fig: Any) -> None:
        ax = fig.subplots()
        trends = report.trends or []
        divisor, unit = money_scale(t.growth for t in trends)
        values = [t.growth / divisor for t in trends]
        bars = ax.bar(
            [t.tier for t in trends],
            values,
            color=["#3d9a50" if v >= 0 else "#c0392b" for v in values],
        )
        ax.bar_label(bars, labels=[f"{t.growth:+,.0f}" for t in trends], fontsize=9)
        ax.axhline(0, color="#444", linewidth=0.8)
        ax.set_title("Deposit growth over the period: credits minus debits, CNY")
        ax.set_ylabel(unit)
        ax.spines[["top", "right"]].set_visible(False)
        ax.margins(y=0.2)

    charts["tiers"] = _png(tiers)
    charts["changes"] = _png(changes, (9, 4))
    if report.notifications:
        teams = len(team_totals(report.notifications))
        charts["notifications"] = _png(notifications, (9, 1.2 + 0.5 * teams))
    if report.trends is not None:
        charts["growth"] = _png(growth, (9, 3.2))
    return charts


# --- gathering ----------------------------------------------------------------------------

_TIERS_NOW = "SELECT tier, count(*), sum(balance) FROM customer_balances GROUP BY tier"
_CHANGES = """
SELECT (event_time AT TIME ZONE 'Asia/Shanghai')::date AS day, direction, previous_tier,
       new_tier, count(*)
FROM tier_changes
WHERE event_time >= $1 AND event_time < $2 AND direction <> 'INITIAL'
GROUP BY 1, 2, 3, 4
"""
_NOTIFICATIONS = """
SELECT team, kind, count(*), count(acknowledged_at)
FROM notifications
WHERE created_at >= $1 AND created_at < $2
GROUP BY team, kind
"""


def prometheus_url(settings: Settings) -> str:
    """TIERING_PROMETHEUS_URL (checked to be http or https by Settings)."""
    return settings.prometheus_url.rstrip("/")


class PrometheusError(Exception):
    pass


def _instant(url: str, expr: str, at: datetime) -> dict[str, float]:
    """``expr`` at ``at``, as {tier: value}."""
    params = urllib.parse.urlencode({"query": expr, "time": f"{at.timestamp():.3f}"})
    try:
        # http(s) only: prometheus_url() checks the scheme
        with urllib.request.urlopen(f"{url}/api/v1/query?{params}", timeout=30) as response:  # noqa: S310
            answer = json.loads(response.read().decode())
    except urllib.error.HTTPError as exc:
        raise PrometheusError(f"{url} answered {exc.code}: {exc.read().decode()[:200]}") from None
    except (OSError, ValueError) as exc:
        raise PrometheusError(f"{url} did not answer ({exc})") from None
    if answer.get("status") != "success":
        raise PrometheusError(f"{url}: {answer.get('error')}")
    return {r["metric"].get("tier", ""): float(r["value"][1]) for r in answer["data"]["result"]}


def trends_from_prometheus(
    url: str, period: Period, now: datetime
) -> tuple[list[TierTrend] | None, str]:
    """Growth and churn per tier over the period (up to now), and a note for the page."""
    end = min(period.end, now)
    seconds = int((end - period.start).total_seconds())
    if seconds <= 0:
        return None, "The period has not started yet: no deposit growth or churn to show."
    window = f"[{seconds}s]"
    # Subqueries at about 500 steps over the period, but no coarser than the data: a Prometheus
    # that has only scraped for a few minutes still answers.
    step = f"{max(15, seconds // 500)}s"
    try:
        inflow = _instant(url, f"sum by (tier) (increase(tiering_inflow_cny_total{window}))", end)
        outflow = _instant(url, f"sum by (tier) (increase(tiering_outflow_cny_total{window}))", end)
        churned = _instant(
            url, f"sum by (tier) (increase(tiering_churned_customers_total{window}))", end
        )
        average = _instant(
            url, f"avg_over_time(sum by (tier) (tiering_customers)[{seconds}s:{step}])", end
        ) or _instant(url, "sum by (tier) (tiering_customers)", end)
        first = _instant(
            url, f"min_over_time(timestamp(count(tiering_customers))[{seconds}s:{step}])", end
        ) or _instant(url, "timestamp(count(tiering_customers))", end)
    except PrometheusError as exc:
        return None, (
            f"Deposit growth and churn come from Prometheus, which could not be read: {exc}. "
            "The rest of this report is complete."
        )
    if not first:
        return None, (
            f"Prometheus ({url}) holds no tiering metrics for this period, so deposit growth "
            "and churn cannot be shown."
        )
    note = ""
    since = datetime.fromtimestamp(min(first.values()), CST)
    if since - period.start > timedelta(hours=1):
        note = (
            f"Prometheus holds data for this period only from {since:%Y-%m-%d %H:%M} CST: "
            "growth and churn below cover that part."
        )
    if end < period.end:
        note = (note + " " if note else "") + f"Figures up to {end:%Y-%m-%d %H:%M} CST."
    return tier_trends(inflow, outflow, churned, average), note


async def gather(settings: Settings, period: Period, url: str, now: datetime) -> Report:
    import asyncpg

    conn = await asyncpg.connect(
        settings.database_url.get_secret_value(),
        server_settings={"search_path": settings.db_schema, "application_name": "tiering-report"},
    )
    try:
        now_rows = await conn.fetch(_TIERS_NOW)
        change_rows = await conn.fetch(_CHANGES, period.start, period.end)
        note_rows = await conn.fetch(_NOTIFICATIONS, period.start, period.end)
    finally:
        await conn.close()
    report = Report(
        period=period,
        generated_at=now,
        schema=settings.db_schema,
        tiers_now=tiers_now((r[0], r[1], r[2]) for r in now_rows),
        changes=daily_changes(((r[0], r[1], r[2], r[3], r[4]) for r in change_rows), period),
        notifications=notification_lines((r[0], r[1], r[2], r[3]) for r in note_rows),
    )
    report.trends, report.trends_note = await asyncio.to_thread(
        trends_from_prometheus, url, period, now
    )
    return report


async def build_report(
    settings: Settings,
    period: Period,
    out: Path,
    url: str | None = None,
    status: Callable[[str], None] = lambda _: None,
) -> Report:
    """Gather, draw and write the report to ``out``; ``status`` hears what is happening."""
    url = url or prometheus_url(settings)
    started = time.monotonic()
    status(f"reading PostgreSQL (schema {settings.db_schema}) and Prometheus ({url})")
    report = await gather(settings, period, url, datetime.now(CST))
    status("drawing the charts")
    report.charts = await asyncio.to_thread(draw_charts, report)
    status(f"writing {out}")
    await asyncio.to_thread(out.write_text, render_html(report), encoding="utf-8")
    status(f"done in {time.monotonic() - started:.1f}s")
    return report
