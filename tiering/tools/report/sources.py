"""Where the report's figures come from: PostgreSQL (customers and deposits per tier now, tier
changes per day, notifications per team and kind) and Prometheus (deposit growth and churn per
tier, satisfaction, marketing completion and the KPIs per branch over the period, when it
answers)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta

from tiering.core.bank_time import DAY_MS
from tiering.i18n.terms import N_
from tiering.settings import Settings
from tiering.sinks.postgres.connection import connect
from tiering.tools.report.figures import (
    Note,
    Report,
    TierTrend,
    daily_changes,
    notification_lines,
    tier_trends,
    tiers_now,
)
from tiering.tools.report.interest import INTEREST_BY_TIER, MIN_SCORE, product_interest
from tiering.tools.report.kpis import Answer, kpis_from_prometheus, period_seconds
from tiering.tools.report.period import CST, Period

_TIERS_NOW = "SELECT tier, count(*), sum(balance) FROM customer_balances GROUP BY tier"
#: the branch's customers now, as the per-branch metrics label them (NONE: no branch)
_BRANCHES_NOW = "SELECT coalesce(branch_id, 'NONE'), count(*) FROM customer_balances GROUP BY 1"
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
    """Why Prometheus could not be read (its own words, or the system's), without the URL."""


def _instant(url: str, expr: str, at: datetime) -> dict[str, float]:
    """``expr`` at ``at``, as {tier: value}."""
    return {k[0]: v for k, v in _query(url, expr, at, ("tier",)).items()}


def _query(url: str, expr: str, at: datetime, by: tuple[str, ...]) -> Answer:
    """``expr`` at ``at``, as {the values of the labels ``by``: value}."""
    params = urllib.parse.urlencode({"query": expr, "time": f"{at.timestamp():.3f}"})
    try:
        # http(s) only: prometheus_url() checks the scheme
        with urllib.request.urlopen(f"{url}/api/v1/query?{params}", timeout=30) as response:  # noqa: S310
            answer = json.loads(response.read().decode())
    except urllib.error.HTTPError as exc:
        raise PrometheusError(f"HTTP {exc.code}: {exc.read().decode()[:200]}") from None
    except (OSError, ValueError) as exc:
        raise PrometheusError(str(exc)) from None
    if answer.get("status") != "success":
        raise PrometheusError(str(answer.get("error")))
    return {
        tuple(r["metric"].get(label, "") for label in by): float(r["value"][1])
        for r in answer["data"]["result"]
    }


def trends_from_prometheus(
    url: str, period: Period, now: datetime
) -> tuple[list[TierTrend] | None, list[Note]]:
    """Growth and churn per tier over the period (up to now), and notes for the page."""
    end = min(period.end, now)
    seconds = int((end - period.start).total_seconds())
    if seconds <= 0:
        return None, [
            Note(N_("The period has not started yet: there is no deposit growth or churn to show."))
        ]
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
        unreadable = N_(
            "Deposit growth and churn come from Prometheus at %(url)s, which could not be read "
            "(%(reason)s). The rest of this report is complete."
        )
        return None, [Note(unreadable, {"url": url, "reason": str(exc)})]
    if not first:
        empty = N_(
            "Prometheus at %(url)s holds no tiering metrics for this period, so deposit growth "
            "and churn cannot be shown."
        )
        return None, [Note(empty, {"url": url})]
    notes = []
    since = datetime.fromtimestamp(min(first.values()), CST)
    if since - period.start > timedelta(hours=1):
        partial = N_(
            "Prometheus holds data for this period only from %(since)s: growth and churn below "
            "cover that part."
        )
        notes.append(Note(partial, {"since": since}))
    if end < period.end:
        notes.append(Note(N_("Figures up to %(until)s."), {"until": end}))
    return tier_trends(inflow, outflow, churned, average), notes


async def gather(settings: Settings, period: Period, url: str, now: datetime) -> Report:
    """Everything the report shows, from PostgreSQL and (when it answers) Prometheus."""
    conn = await connect(settings, "tiering-report")
    try:
        now_rows = await conn.fetch(_TIERS_NOW)
        branch_rows = await conn.fetch(_BRANCHES_NOW)
        change_rows = await conn.fetch(_CHANGES, period.start, period.end)
        note_rows = await conn.fetch(_NOTIFICATIONS, period.start, period.end)
        interest_at = min(period.end, now)
        half_life_s = settings.policy.interest_half_life_ms / 1000
        interest_rows = await conn.fetch(INTEREST_BY_TIER, interest_at, half_life_s, MIN_SCORE)
    finally:
        await conn.close()
    report = Report(
        period=period,
        generated_at=now,
        schema=settings.db_schema,
        tiers_now=tiers_now((r[0], r[1], r[2]) for r in now_rows),
        changes=daily_changes(((r[0], r[1], r[2], r[3], r[4]) for r in change_rows), period),
        notifications=notification_lines((r[0], r[1], r[2], r[3]) for r in note_rows),
        interest=product_interest(
            ((r[0], r[1], r[2], r[3]) for r in interest_rows),
            settings.policy.products,
            interest_at,
            settings.policy.interest_half_life_ms // DAY_MS,
        ),
        branch_customers={r[0]: r[1] for r in branch_rows},
    )
    report.trends, report.trends_notes = await asyncio.to_thread(
        trends_from_prometheus, url, period, now
    )
    if report.trends is not None:
        seconds = period_seconds(period, now)
        end = min(period.end, now)

        def ask(expr: str, by: tuple[str, ...]) -> Answer:
            return _query(url, expr, end, by)

        try:
            report.kpis = await asyncio.to_thread(
                kpis_from_prometheus, ask, seconds, settings.policy
            )
        except PrometheusError as exc:
            unreadable = N_(
                "Satisfaction, marketing completion and the branches come from Prometheus at "
                "%(url)s, which could not be read (%(reason)s)."
            )
            report.trends_notes.append(Note(unreadable, {"url": url, "reason": str(exc)}))
    return report
