"""A simulation for people: tables in the terminal, CSV files for a spreadsheet, and an HTML
page with charts for whoever approves the change; every word in the reader's language (gettext
domain ``simulate``), tiers and teams named as everywhere else (:mod:`tiering.i18n.terms`)."""

from __future__ import annotations

import base64
import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup
from rich.console import Console
from rich.table import Table

from tiering.core.teams import Team
from tiering.core.tiers import Tier
from tiering.i18n import Language, format_count, format_time, translations
from tiering.i18n.terms import kind_name, team_name, tier_name
from tiering.tools.pages import html_tag, page_templates
from tiering.tools.report.charts import draw_chart
from tiering.tools.simulate.outcome import Simulation


@dataclass(frozen=True, slots=True)
class Tables:
    """The simulation's tables, their cells as the reader reads them."""

    moves: list[list[str]]  #: from, to, branch, customers
    teams: list[list[str]]  #: team, from, to, customers
    notices: list[list[str]]  #: team, kind, notifications
    workload: list[list[str]]  #: team, now, under the candidate, change


def tables(sim: Simulation, language: Language) -> Tables:
    _ = translations(language, "simulate").gettext
    count = lambda n: format_count(n, language)  # noqa: E731
    no_branch = _("(no branch: head office)")
    moves = [
        [tier_name(a, language), tier_name(b, language), branch or no_branch, count(n)]
        for (a, b, branch), n in sorted(sim.moves.items(), key=_move_order)
    ]
    teams = [
        [team_name(team, language), tier_name(a, language), tier_name(b, language), count(n)]
        for (team, a, b), n in sorted(sim.moves_by_team().items())
    ]
    notices: dict[tuple[Team, str], int] = {}
    for (team, _branch), n in sim.notices.items():
        key = (team, kind_name("POLICY_CHANGE", language))
        notices[key] = notices.get(key, 0) + n
    for (team, kind), n in sim.due.items():
        key = (team, _("%(kind)s (falls due anyway)") % {"kind": kind_name(kind, language)})
        notices[key] = notices.get(key, 0) + n
    notice_rows = [
        [team_name(team, language), kind, count(n)] for (team, kind), n in sorted(notices.items())
    ]
    workload = [
        [
            team_name(team, language),
            count(sim.before[team]),
            count(sim.after[team]),
            f"{sim.after[team] - sim.before[team]:+,}",
        ]
        for team in Team
    ]
    return Tables(moves, teams, notice_rows, workload)


def _move_order(item: tuple[tuple[Tier, Tier, str | None], int]) -> tuple[int, int, str]:
    (a, b, branch), _ = item
    return (a, b, branch or "")


def reading_label(language: Language) -> str:
    """The progress bar's label while the customers are read."""
    return translations(language, "simulate").gettext("Reading the customers")


def placing_label(language: Language) -> str:
    """The progress bar's label while each customer is re-placed under the candidate."""
    return translations(language, "simulate").gettext("Re-placing the customers")


def written(paths: list[Path], language: Language) -> str:
    files = ", ".join(str(p) for p in paths)
    return translations(language, "simulate").gettext("Written: %(files)s") % {"files": files}


def headline(sim: Simulation, language: Language) -> str:
    _ = translations(language, "simulate").gettext
    return _(
        "Policy %(candidate)s, in force from %(moment)s (China time), taking over from "
        "%(previous)s: %(moved)s of %(customers)s customers would move."
    ) % {
        "candidate": sim.candidate,
        "previous": sim.previous,
        "moment": format_time(sim.at_ms, language),
        "moved": format_count(sim.moved, language),
        "customers": format_count(sim.customers, language),
    }


def show(console: Console, sim: Simulation, language: Language) -> None:
    _ = translations(language, "simulate").gettext
    t = tables(sim, language)
    console.print(headline(sim, language), soft_wrap=True)
    heads = {
        "moves": (_("From"), _("To"), _("Branch"), _("Customers")),
        "teams": (_("Team"), _("From"), _("To"), _("Customers")),
        "notices": (_("Team"), _("Kind"), _("Notifications")),
        "workload": (_("Team"), _("Customers now"), _("Under the candidate"), _("Change")),
    }
    for name, title, rows, numeric_from in (
        ("moves", _("Moves between tiers"), t.moves, 3),
        ("teams", _("Moves per team"), t.teams, 3),
        ("notices", _("Notifications the teams would get"), t.notices, 2),
        ("workload", _("Workload per team"), t.workload, 1),
    ):
        table = Table(title=title)
        for i, head in enumerate(heads[name]):
            table.add_column(head, justify="right" if i >= numeric_from else "left")
        for row in rows:
            table.add_row(*row)
        console.print(table)


def write_csv(folder: Path, sim: Simulation) -> list[Path]:
    """moves.csv, notifications.csv and workload.csv: codes, not words, for a spreadsheet."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    files: dict[str, tuple[list[str], list[list[Any]]]] = {
        "moves.csv": (
            ["from_tier", "to_tier", "branch_id", "customers"],
            [[a.name, b.name, br or "", n] for (a, b, br), n in sorted(sim.moves.items())],
        ),
        "notifications.csv": (
            ["team", "kind", "branch_id", "notifications", "falls_due_anyway"],
            [
                [t.value, "POLICY_CHANGE", br or "", n, "no"]
                for (t, br), n in sorted(
                    sim.notices.items(), key=lambda i: (i[0][0], i[0][1] or "")
                )
            ]
            + [[t.value, k.value, "", n, "yes"] for (t, k), n in sorted(sim.due.items())],
        ),
        "workload.csv": (
            ["team", "customers_now", "customers_candidate"],
            [[t.value, sim.before[t], sim.after[t]] for t in Team],
        ),
    }
    for name, (head, rows) in files.items():
        path = folder / name
        with path.open("w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(head)
            out.writerows(rows)
        written.append(path)
    return written


def render_html(sim: Simulation, language: Language) -> str:
    _ = translations(language, "simulate").gettext
    template = page_templates("tiering.tools.simulate", "simulate", language).get_template(
        "simulation.html"
    )
    t = tables(sim, language)
    return template.render(
        html_tag=html_tag(language),
        headline=headline(sim, language),
        candidate=sim.candidate,
        tables=t,
        charts={
            "moves": _image(_moves_chart(sim, language), _("Customers moving, per move")),
            "workload": _image(
                _workload_chart(sim, language), _("Customers per team, now and under the candidate")
            ),
        },
    )


def _image(png: bytes, alt: str) -> Markup:
    data = base64.b64encode(png).decode()
    return Markup('<img src="data:image/png;base64,%s" alt="%s">') % (data, alt)


def _moves_chart(sim: Simulation, language: Language) -> bytes:
    pairs: dict[tuple[Tier, Tier], int] = {}
    for (a, b, _), n in sim.moves.items():
        pairs[a, b] = pairs.get((a, b), 0) + n
    labels = [f"{tier_name(a, language)} → {tier_name(b, language)}" for a, b in sorted(pairs)]
    values = [pairs[p] for p in sorted(pairs)]

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        ax.barh(labels or [""], values or [0], color="#5794f2")
        ax.set_xlabel(translations(language, "simulate").gettext("Customers"))
        ax.invert_yaxis()

    return draw_chart(language, draw).png


def _workload_chart(sim: Simulation, language: Language) -> bytes:
    _ = translations(language, "simulate").gettext
    teams = [team_name(t, language) for t in Team]

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        xs = range(len(teams))
        ax.bar([x - 0.2 for x in xs], [sim.before[t] for t in Team], 0.4, label=_("Now"))
        ax.bar(
            [x + 0.2 for x in xs], [sim.after[t] for t in Team], 0.4, label=_("Under the candidate")
        )
        ax.set_xticks(list(xs), teams)
        ax.set_ylabel(_("Customers"))
        ax.legend()

    return draw_chart(language, draw).png
