"""The report's charts, drawn as PNG (matplotlib's Agg backend, no display needed), every word
in the reader's language and Chinese in a font that has its glyphs (see ``fonts``)."""

from __future__ import annotations

import io
import textwrap
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from babel.dates import format_skeleton

from tiering.core.tiers import TIER_NAMES
from tiering.i18n import Language, translations
from tiering.i18n.terms import N_, tier_name
from tiering.tools.report.figures import Report, team_totals
from tiering.tools.report.fonts import FONT_PACKAGE, MissingFontError, chart_fonts
from tiering.tools.report.labels import team_label

TIER_COLORS = {
    "ORDINARY": "#8e8e8e",
    "POTENTIAL": "#5794f2",
    "PREMIUM": "#a05fc8",
    "HIGH_END": "#d4a000",
}

#: the units an axis of yuan is counted in, largest first: Chinese counts in 亿 and 万
MONEY_SCALES: dict[str, tuple[tuple[float, str], ...]] = {
    "zh": (
        (1e8, N_("hundred million yuan")),
        (1e4, N_("ten thousand yuan")),
        (1.0, N_("yuan")),
    ),
    "en": ((1e6, N_("million yuan")), (1e3, N_("thousand yuan")), (1.0, N_("yuan"))),
}


@dataclass
class Chart:
    png: bytes
    #: the drawn figure, kept for who wants to look at its texts (the tests)
    figure: Any


def draw_charts(report: Report, language: Language) -> dict[str, bytes]:
    """The page's charts as PNG: tiers now, changes per day, notifications, growth."""
    return {name: chart.png for name, chart in render_charts(report, language).items()}


def render_charts(report: Report, language: Language) -> dict[str, Chart]:
    """The charts, drawn; raises MissingFontError rather than draw a glyph as a box."""
    charts = {
        "tiers": draw_chart(language, lambda fig: _tiers_now(fig, report, language)),
        "changes": draw_chart(
            language, lambda fig: _changes_per_day(fig, report, language), (9, 4)
        ),
    }
    if report.notifications:
        teams = len(team_totals(report.notifications))
        charts["notifications"] = draw_chart(
            language, lambda fig: _notifications(fig, report, language), (9, 1.2 + 0.5 * teams)
        )
    if report.trends is not None:
        charts["growth"] = draw_chart(
            language, lambda fig: _growth(fig, report, language), (9, 3.2)
        )
    return charts


def money_scale(values: Iterable[float], language: Language) -> tuple[float, str]:
    """A divisor and its unit, in ``language``, that keep the largest of ``values`` readable."""
    largest = max((abs(v) for v in values), default=0.0)
    scales = MONEY_SCALES["en" if language == "en" else "zh"]
    divisor, unit = next(((d, u) for d, u in scales if largest >= d), scales[-1])
    return divisor, translations(language, "report").gettext(unit)


def draw_chart(
    language: Language, draw: Callable[[Any], None], size: tuple[float, float] = (9, 3.6)
) -> Chart:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    with (
        matplotlib.rc_context({"font.family": list(chart_fonts(language))}),
        warnings.catch_warnings(),
    ):
        # a glyph the fonts lack is drawn as a box: refuse instead
        warnings.filterwarnings("error", "Glyph .* missing from font", UserWarning)
        fig = Figure(figsize=size, dpi=110, layout="constrained")
        out = io.BytesIO()
        try:
            draw(fig)
            fig.savefig(out, format="png")
        except UserWarning as exc:
            raise MissingFontError(
                f"the report's charts in {language}: {exc} Install Debian's {FONT_PACKAGE}."
            ) from None
    return Chart(out.getvalue(), fig)


def _tiers(language: Language) -> list[str]:
    """The tiers' names as axis labels, wrapped."""
    return [textwrap.fill(tier_name(t, language), 12) for t in TIER_NAMES]


def _tiers_now(fig: Any, report: Report, language: Language) -> None:
    """Customers and deposits per tier, side by side."""
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    _ = translations(language, "report").gettext
    left, right = fig.subplots(1, 2)
    counts = [float(t.customers) for t in report.tiers_now]
    divisor, unit = money_scale((float(t.balance) for t in report.tiers_now), language)
    money = [float(t.balance) / divisor for t in report.tiers_now]
    colors = [TIER_COLORS[t] for t in TIER_NAMES]
    for ax, values, title, fmt in (
        (left, counts, _("Customers"), "{:,.0f}"),
        (right, money, _("Deposits (%(unit)s)") % {"unit": unit}, "{:,.2f}"),
    ):
        bars = ax.bar(_tiers(language), values, color=colors)
        ax.bar_label(bars, labels=[fmt.format(v) for v in values], fontsize=9)
        ax.set_title(title)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(axis="x", labelsize=9)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.margins(y=0.15)


def _day(day: date, language: Language) -> str:
    return format_skeleton("MMMd", day, locale=language)


def _changes_per_day(fig: Any, report: Report, language: Language) -> None:
    """Upgrades above the axis by the tier reached, downgrades below by the tier left."""
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    _ = translations(language, "report").gettext
    ax = fig.subplots()
    c = report.changes
    x = list(range(len(c.days)))
    up = [0] * len(x)
    down = [0] * len(x)
    for t in TIER_NAMES:
        ax.bar(x, c.upgrades[t], bottom=up, color=TIER_COLORS[t])
        up = [a + b for a, b in zip(up, c.upgrades[t], strict=True)]
        minus = [-v for v in c.downgrades[t]]
        ax.bar(x, minus, bottom=down, color=TIER_COLORS[t], hatch="//", edgecolor="white")
        down = [a + b for a, b in zip(down, minus, strict=True)]
    ax.axhline(0, color="#444", linewidth=0.8)
    step = max(1, len(x) // 12)
    ax.set_xticks(x[::step], [_day(d, language) for d in c.days[::step]], fontsize=9)
    ax.set_xlim(-0.6, len(x) - 0.4)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(_("downgrades  |  upgrades"))
    ax.set_title(
        _("Tier changes per day: upgrades above by tier reached, downgrades below by tier left")
    )
    handles = [Patch(color=TIER_COLORS[t], label=tier_name(t, language)) for t in TIER_NAMES]
    handles.append(Patch(facecolor="#bbb", hatch="//", edgecolor="white", label=_("downgrade")))
    fig.legend(handles=handles, loc="outside lower center", ncols=5, fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    ax.margins(y=0.1)


def _notifications(fig: Any, report: Report, language: Language) -> None:
    """Notifications per team, the acknowledged part in green."""
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    _ = translations(language, "report").gettext
    ax = fig.subplots()
    lines = team_totals(report.notifications)
    names = [team_label(n.team, language) for n in lines]
    acked = [n.acknowledged for n in lines]
    open_ = [n.count - n.acknowledged for n in lines]
    ax.barh(names, acked, color="#3d9a50", label=_("acknowledged"))
    ax.barh(names, open_, left=acked, color="#d0d0d0", label=_("not acknowledged"))
    for i, n in enumerate(lines):
        label = _("%(count)s (%(share)s acknowledged)") % {
            "count": f"{n.count:,}",
            "share": f"{n.acknowledged_share:.0%}",
        }
        ax.text(n.count, i, f"  {label}", va="center", fontsize=9)
    ax.invert_yaxis()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_xlabel(_("notifications in the period"))
    fig.legend(loc="outside upper right", ncols=2, fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    ax.margins(x=0.3)


def _growth(fig: Any, report: Report, language: Language) -> None:
    """Credits minus debits per tier over the period."""
    _ = translations(language, "report").gettext
    ax = fig.subplots()
    trends = report.trends or []
    divisor, unit = money_scale((t.growth for t in trends), language)
    values = [t.growth / divisor for t in trends]
    bars = ax.bar(
        [textwrap.fill(tier_name(t.tier, language), 12) for t in trends],
        values,
        color=["#3d9a50" if v >= 0 else "#c0392b" for v in values],
    )
    ax.bar_label(bars, labels=[f"{v:+,.2f}" if v else "0" for v in values], fontsize=9)
    ax.axhline(0, color="#444", linewidth=0.8)
    ax.set_title(_("Deposit growth over the period: credits minus debits"))
    ax.set_ylabel(unit)
    ax.spines[["top", "right"]].set_visible(False)
    ax.margins(y=0.2)
