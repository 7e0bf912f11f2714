"""The report as one self-contained HTML page: ``templates/report.html`` filled with the report's
figures in the reader's language, written the way the bank writes them: ¥ amounts, large totals
in 万元, days and times in China time, tiers and teams by the shared vocabulary (pure: no I/O
beyond reading the template). Names of machines, tables and metrics are shown as they are, in
``<code>``."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from functools import partial
from typing import Any

from babel.dates import format_date
from babel.lists import format_list
from babel.numbers import format_decimal, format_percent
from markupsafe import Markup, escape

from tiering.core.tiers import TIER_NAMES
from tiering.i18n import (
    Language,
    format_count,
    format_money,
    format_money_wan,
    format_time,
    translations,
)
from tiering.i18n.terms import N_
from tiering.tools.pages import html_tag, page_templates
from tiering.tools.report.figures import Note, Report, team_totals
from tiering.tools.report.interest import interest_rows
from tiering.tools.report.kpis import BranchLine, Kpis, Rating
from tiering.tools.report.labels import kind_label, team_label, tier_label
from tiering.tools.report.period import Period

Row = Sequence[object]

#: the <html lang> of each language (BCP 47)
#: what each chart shows, for who cannot see it (its alt text)
CHART_ALTS = {
    "tiers": N_("Customers and deposits per tier"),
    "changes": N_("Tier changes per day"),
    "notifications": N_("Notifications per team, acknowledged or not"),
    "growth": N_("Deposit growth per tier"),
}
#: where the figures come from, named as they are (the footer)
TABLES = ("customer_balances", "tier_changes", "notifications", "customer_profiles")
METRICS = (
    "tiering_inflow_cny_total",
    "tiering_outflow_cny_total",
    "tiering_churned_customers_total",
    "tiering_customers",
    "tiering_satisfaction_rating",
    "tiering_purchases_total",
    "tiering_conversions_total",
    "tiering_branch_*",
)


def render_html(report: Report, language: Language) -> str:
    """The whole page in ``language``: text, tables, and the charts as data: URIs."""
    template = page_templates("tiering.tools.report", "report", language).get_template(
        "report.html"
    )
    return template.render(**page_values(report, language))


def page_values(r: Report, language: Language) -> dict[str, Any]:
    customers = sum(t.customers for t in r.tiers_now)
    deposits = sum((t.balance for t in r.tiers_now), Decimal(0))
    notified = sum(n.count for n in r.notifications)
    acknowledged = sum(n.acknowledged for n in r.notifications)
    growth = sum(t.growth for t in r.trends) if r.trends is not None else None
    return {
        "html_tag": html_tag(language),
        "period": period_text(r.period, language),
        "generated": format_time(r.generated_at, language),
        "schema": _code(r.schema),
        "charts": {name: _image(name, png, language) for name, png in r.charts.items()},
        "summary": {
            "customers": customers,
            "customers_text": format_count(customers, language),
            "deposits": _wan(_fen(deposits), language),
            "upgrades": r.changes.total("upgrades"),
            "upgrades_text": format_count(r.changes.total("upgrades"), language),
            "downgrades": r.changes.total("downgrades"),
            "downgrades_text": format_count(r.changes.total("downgrades"), language),
            "notifications": notified,
            "notifications_text": format_count(notified, language),
            "acknowledged_share": _pct(acknowledged / notified if notified else None, language),
            "growth": None if growth is None else _wan(_fen(growth), language),
        },
        "tier_rows": _tier_rows(r, language),
        "change_rows": _change_rows(r, language),
        "team_rows": [
            (
                team_label(n.team, language),
                format_count(n.count, language),
                format_count(n.acknowledged, language),
                _pct(n.acknowledged_share, language),
            )
            for n in team_totals(r.notifications)
        ],
        "notification_rows": _notification_rows(r, language),
        "trend_rows": _trend_rows(r, language),
        "trends_notes": [note_text(n, language) for n in r.trends_notes],
        **kpi_values(r.kpis, language, r.branch_customers),
        "interest_rows": None if r.interest is None else interest_rows(r.interest, language),
        "interest_at": "" if r.interest is None else format_time(r.interest.at, language),
        "interest_half_life": 0 if r.interest is None else r.interest.half_life_days,
        "tables": _code_list(TABLES, language),
        "metrics": _code_list(METRICS, language),
        "metrics_doc": _code("docs/metrics.md"),
    }


def period_text(period: Period, language: Language) -> str:
    """The period's days as ``language`` writes them: ``2026年11月1日至2026年11月3日``."""
    first, last = _day(period.first, language), _day(period.last, language)
    if period.first == period.last:
        return first
    return translations(language, "report").gettext("%(first)s to %(last)s") % {
        "first": first,
        "last": last,
    }


def note_text(note: Note, language: Language) -> Markup:
    """A note in ``language``: times in China time, names (a URL, an error) as ``<code>``."""
    values = {
        key: format_time(value, language) if isinstance(value, datetime) else _code(value)
        for key, value in note.values.items()
    }
    return escape(translations(language, "report").gettext(note.message)) % values


def _tier_rows(r: Report, language: Language) -> list[Row]:
    _ = translations(language, "report").gettext
    customers = sum(t.customers for t in r.tiers_now)
    deposits = sum((t.balance for t in r.tiers_now), Decimal(0))
    rows: list[Row] = [
        (
            tier_label(t.tier, language),
            format_count(t.customers, language),
            _pct(t.customers / customers if customers else None, language),
            format_money(_fen(t.balance), language),
            _pct(float(t.balance / deposits) if deposits else None, language),
        )
        for t in r.tiers_now
    ]
    total = format_money(_fen(deposits), language)
    rows.append((_("All tiers"), format_count(customers, language), "", total, ""))
    return rows


def _change_rows(r: Report, language: Language) -> list[Row]:
    _ = translations(language, "report").gettext
    c = r.changes
    rows: list[Row] = [
        (
            tier_label(t, language),
            format_count(c.total("upgrades", t), language),
            format_count(c.total("downgrades", t), language),
        )
        for t in TIER_NAMES
    ]
    all_up, all_down = c.total("upgrades"), c.total("downgrades")
    rows.append((_("All tiers"), format_count(all_up, language), format_count(all_down, language)))
    return rows


def _notification_rows(r: Report, language: Language) -> list[Row]:
    _ = translations(language, "report").gettext
    rows: list[Row] = [
        (
            team_label(n.team, language),
            kind_label(n.kind, language),
            format_count(n.count, language),
            format_count(n.acknowledged, language),
            _pct(n.acknowledged_share, language),
        )
        for n in r.notifications
    ]
    all_n = sum(n.count for n in r.notifications)
    all_ack = sum(n.acknowledged for n in r.notifications)
    rows.append(
        (
            _("All teams"),
            "",
            format_count(all_n, language),
            format_count(all_ack, language),
            _pct(all_ack / all_n if all_n else None, language),
        )
    )
    return rows


def _trend_rows(r: Report, language: Language) -> list[Row] | None:
    if r.trends is None:
        return None
    return [
        (
            tier_label(t.tier, language),
            format_money(_fen(t.inflow), language),
            format_money(_fen(t.outflow), language),
            format_money(_fen(t.growth), language),
            format_count(round(t.churned), language),
            "–"
            if t.average_customers is None
            else format_count(round(t.average_customers), language),
            _pct(t.churn_rate, language),
        )
        for t in r.trends
    ]


def kpi_values(
    k: Kpis | None, language: Language, branch_customers: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """The satisfaction, marketing and per-branch sections' rows (None: no figures).
    ``branch_customers``: each branch's customers now, which its churn rate divides by."""
    if k is None:
        return {
            "rating_rows": None,
            "purchase_rows": None,
            "prompted_rows": None,
            "branch_rows": None,
            "target_days": "",
        }
    _ = translations(language, "report").gettext
    n = partial(_round_count, language=language)
    money = partial(_money, language=language)

    def rating(r: Rating) -> tuple[str, str]:
        return n(r.ratings), "–" if r.average is None else format_decimal(
            r.average, "0.00", locale=language
        )

    def category(code: str) -> str:
        product = k.products.get(code)
        return product.in_language(language) if product is not None else code

    def branch(code: str) -> str:
        return {"NONE": _("No branch"), "OTHER": _("Other branches")}.get(code, code)

    def churn(b: BranchLine) -> tuple[str, str]:
        """§7.3 per branch: its customers now, and the share of them who left in the period
        (``OTHER`` folds many branches: neither is known)."""
        customers = (branch_customers or {}).get(b.branch)
        if not customers:
            return "–", "–"
        return format_count(customers, language), _pct(b.lost / customers, language)

    rated = [r for r in k.satisfaction.values() if r.ratings]
    return {
        "rating_rows": [(tier_label(t, language), *rating(r)) for t, r in k.satisfaction.items()]
        if rated
        else [],
        "purchase_rows": [
            (
                tier_label(p.tier, language),
                category(p.category),
                n(p.count),
                "–" if p.target_count is None else n(p.target_count),
                _pct(p.count_done, language),
                money(p.amount),
                "–" if p.target_amount is None else money(p.target_amount),
                _pct(p.amount_done, language),
            )
            for p in k.purchases
        ],
        "prompted_rows": [
            (
                tier_label(t, language),
                n(bought),
                n(prompted),
                _pct(prompted / bought if bought else None, language),
            )
            for t, (prompted, bought) in k.prompted.items()
        ],
        "branch_rows": [
            (
                branch(b.branch),
                money(b.growth),
                n(b.lost),
                *churn(b),
                n(b.purchases),
                money(b.amount),
                rating(b.rating)[1],
            )
            for b in k.branches
        ],
        "target_days": format_decimal(k.days, "0.#", locale=language),
    }


def _round_count(value: float, language: Language) -> str:
    """A count from Prometheus' increase() (extrapolated, so not always whole), as a whole."""
    return format_count(round(value), language)


def _money(yuan: float, language: Language) -> str:
    return format_money(_fen(yuan), language)


def _fen(yuan: Decimal | float) -> int:
    """Yuan (exact from PostgreSQL, a float from Prometheus) as fen, rounded half even."""
    return int((Decimal(str(yuan)) * 100).quantize(Decimal(1), ROUND_HALF_EVEN))


def _wan(fen: int, language: Language) -> str:
    """A large total: ``5,487.65万元``; a negative one with its sign in front."""
    return f"-{format_money_wan(-fen, language)}" if fen < 0 else format_money_wan(fen, language)


def _day(day: date, language: Language) -> str:
    return format_date(day, "medium", locale=language)


def _pct(value: float | None, language: Language) -> str:
    return "–" if value is None else format_percent(value, "#,##0.0%", locale=language)


def _image(name: str, png: bytes, language: Language) -> Markup:
    """A chart as an ``<img>`` with the PNG inside (a data: URI)."""
    alt = translations(language, "report").gettext(CHART_ALTS[name])
    source = "data:image/png;base64," + base64.b64encode(png).decode()
    return Markup('<img alt="%s" src="%s">') % (alt, source)


def _code(name: str) -> Markup:
    return Markup("<code>%s</code>") % name


def _code_list(names: Sequence[str], language: Language) -> Markup:
    """Names as ``<code>``, listed as ``language`` lists: ``a、b和c``, ``a, b, and c``."""
    pattern = escape(format_list([f"%(n{i})s" for i in range(len(names))], locale=language))
    return pattern % {f"n{i}": _code(name) for i, name in enumerate(names)}
