"""The report's charts, drawn as PNG (matplotlib's Agg backend, no display needed)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from tiering.core.tiers import TIER_NAMES
from tiering.tools.report.figures import Report, team_totals

TIER_COLORS = {
    "ORDINARY": "#8e8e8e",
    "POTENTIAL": "#5794f2",
    "PREMIUM": "#a05fc8",
    "HIGH_END": "#d4a000",
}


def draw_charts(report: Report) -> dict[str, bytes]:
    """The page's charts as PNG: tiers now, changes per day, notifications, growth."""
    charts = {
        "tiers": _png(lambda fig: _tiers_now(fig, report)),
        "changes": _png(lambda fig: _changes_per_day(fig, report), (9, 4)),
    }
    if report.notifications:
        teams = len(team_totals(report.notifications))
        charts["notifications"] = _png(
            lambda fig: _notifications(fig, report), (9, 1.2 + 0.5 * teams)
        )
    if report.trends is not None:
        charts["growth"] = _png(lambda fig: _growth(fig, report), (9, 3.2))
    return charts


def money_scale(values: Iterable[float]) -> tuple[float, str]:
    """A divisor and its name that keep the largest of ``values`` readable on an axis."""
    largest = max((abs(v) for v in values), default=0.0)
    if largest >= 1e6:
        return 1e6, "million CNY"
    if largest >= 1e3:
        return 1e3, "thousand CNY"
    return 1.0, "CNY"


def _png(draw: Callable[[Any], None], size: tuple[float, float] = (9, 3.6)) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=110, layout="constrained")
    draw(fig)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def _tiers_now(fig: Any, report: Report) -> None:
    """Customers and deposits per tier, side by side."""
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    left, right = fig.subplots(1, 2)
    counts = [float(t.customers) for t in report.tiers_now]
    divisor, unit = money_scale(float(t.balance) for t in report.tiers_now)
    money = [float(t.balance) / divisor for t in report.tiers_now]
    colors = [TIER_COLORS[t] for t in TIER_NAMES]
    for ax, values, title, fmt in (
        (left, counts, "Customers", "{:,.0f}"),
        (right, money, f"Deposits ({unit})", "{:,.2f}"),
    ):
        bars = ax.bar(TIER_NAMES, values, color=colors)
        ax.bar_label(bars, labels=[fmt.format(v) for v in values], fontsize=9)
        ax.set_title(title)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(axis="x", labelsize=9)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.margins(y=0.15)


def _changes_per_day(fig: Any, report: Report) -> None:
    """Upgrades above the axis by the tier reached, downgrades below by the tier left."""
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

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
    ax.set_xticks(x[::step], [f"{d:%m-%d}" for d in c.days[::step]], fontsize=9)
    ax.set_xlim(-0.6, len(x) - 0.4)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("downgrades  |  upgrades")
    ax.set_title(
        "Tier changes per day: upgrades above by tier reached, downgrades below by tier left"
    )
    handles = [Patch(color=TIER_COLORS[t], label=t) for t in TIER_NAMES]
    handles.append(Patch(facecolor="#bbb", hatch="//", edgecolor="white", label="downgrade"))
    fig.legend(handles=handles, loc="outside lower center", ncols=5, fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    ax.margins(y=0.1)


def _notifications(fig: Any, report: Report) -> None:
    """Notifications per team, the acknowledged part in green."""
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

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


def _growth(fig: Any, report: Report) -> None:
    """Credits minus debits per tier over the period."""
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
