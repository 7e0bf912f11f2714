"""The report as one self-contained HTML page: ``templates/report.html`` filled with the report's
figures, formatted the way the bank writes them (pure: no I/O beyond reading the template)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from typing import Any

import jinja2

from tiering.core.tiers import TIER_NAMES, TIER_NAMES_ZH, Tier
from tiering.tools.report.figures import Report, team_totals
from tiering.tools.report.period import CST

Row = Sequence[object]


def render_html(report: Report) -> str:
    """The whole page: text, tables, and the charts as data: URIs."""
    return _templates().get_template("report.html").render(**page_values(report))


@cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("tiering.tools.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def page_values(r: Report) -> dict[str, Any]:
    return {
        "period": str(r.period),
        "generated": f"{r.generated_at.astimezone(CST):%Y-%m-%d %H:%M}",
        "schema": r.schema,
        "charts": {
            name: "data:image/png;base64," + base64.b64encode(png).decode()
            for name, png in r.charts.items()
        },
        "tier_rows": _tier_rows(r),
        "change_rows": _change_rows(r),
        "team_rows": [
            (n.team, f"{n.count:,}", f"{n.acknowledged:,}", _pct(n.acknowledged_share))
            for n in team_totals(r.notifications)
        ],
        "notification_rows": _notification_rows(r),
        "trend_rows": _trend_rows(r),
        "trends_note": r.trends_note,
    }


def _tier_rows(r: Report) -> list[Row]:
    customers = sum(t.customers for t in r.tiers_now)
    deposits = sum((t.balance for t in r.tiers_now), Decimal(0))
    rows: list[Row] = [
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
    rows.append(("all tiers", "", f"{customers:,}", "", _yuan(deposits), ""))
    return rows


def _change_rows(r: Report) -> list[Row]:
    c = r.changes
    rows: list[Row] = [
        (t, f"{c.total('upgrades', t):,}", f"{c.total('downgrades', t):,}") for t in TIER_NAMES
    ]
    rows.append(("all tiers", f"{c.total('upgrades'):,}", f"{c.total('downgrades'):,}"))
    return rows


def _notification_rows(r: Report) -> list[Row]:
    rows: list[Row] = [
        (n.team, n.kind, f"{n.count:,}", f"{n.acknowledged:,}", _pct(n.acknowledged_share))
        for n in r.notifications
    ]
    all_n = sum(n.count for n in r.notifications)
    all_ack = sum(n.acknowledged for n in r.notifications)
    rows.append(
        ("all teams", "", f"{all_n:,}", f"{all_ack:,}", _pct(all_ack / all_n if all_n else None))
    )
    return rows


def _trend_rows(r: Report) -> list[Row] | None:
    if r.trends is None:
        return None
    return [
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


def _yuan(value: Decimal | float) -> str:
    return f"{value:,.2f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"
