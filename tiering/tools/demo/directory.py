"""The demo bank's managers: a directory with every team (§4) at every branch of the synthetic
bank, loaded before the feed starts, and a sign-in link to the inbox for one sample manager of
each team, so that a newcomer goes from a tier change on the screen to the notification the
team's manager sees.

The directory is a CSV file in the format ``tiering import-managers`` reads, written beside the
worker's data directory and loaded the same way: loading it again changes nothing. No customer
is assigned to a manager: notifications go to the team's queue at the customer's branch, which
every manager of the team at that branch sees. Each branch also has a supervisor (role
``supervisor``: reads who looked at which customer, §9), and head office
(``TIERING_HEAD_OFFICE_BRANCH``) has every team, with two private bankers who see every
branch's HIGH_END customers (§4), and a supervisor of its own.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from tiering.core.teams import Team
from tiering.directory.links import inbox_url, sign_in_link
from tiering.directory.managers import COLUMNS, ImportResult, import_directory
from tiering.settings import Settings
from tiering.tools.demo.bank import BRANCHES

#: managers per team at each branch: the lobby and the customer managers see the most
TEAM_SIZES = {
    Team.BRANCH_SERVICE: 2,
    Team.CUSTOMER_MANAGER: 2,
    Team.WEALTH_TEAM: 1,
    Team.PRIVATE_BANKING: 1,
}
_CODES = {
    Team.BRANCH_SERVICE: "BS",
    Team.CUSTOMER_MANAGER: "CM",
    Team.WEALTH_TEAM: "WT",
    Team.PRIVATE_BANKING: "PB",
}
_SURNAMES = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu")
_GIVEN = ("Fang", "Wei", "Min", "Jing", "Lei", "Yan", "Tao", "Xin", "Hui", "Jun", "Li", "Na")
#: head office: private banking sees every branch's HIGH_END customers, so it has more bankers
HEAD_OFFICE_SIZES = {**dict.fromkeys(Team, 1), Team.PRIVATE_BANKING: 2}
#: a supervisor sits with the branch's service team (the lobby manager on duty)
SUPERVISOR_TEAM = Team.BRANCH_SERVICE
#: the sample managers whose links are printed work at the first branch
SAMPLE_BRANCH = next(iter(BRANCHES))


@dataclass(frozen=True, slots=True)
class DemoManager:
    manager_id: str
    name: str
    team: Team
    branch_id: str
    role: str = "manager"


@dataclass(frozen=True, slots=True)
class SampleLink:
    manager: DemoManager
    url: str


def demo_managers(head_office: str) -> list[DemoManager]:
    """Every manager of the demo bank, at its branches and at ``head_office``: the same on
    every run."""
    managers: list[DemoManager] = []

    def add(branch: str, code: str, team: Team, role: str = "manager") -> None:
        i = len(managers)
        name = f"{_SURNAMES[(i + i // len(_GIVEN)) % len(_SURNAMES)]} {_GIVEN[i % len(_GIVEN)]}"
        managers.append(DemoManager(f"DEMO-{branch}-{code}", name, team, branch, role))

    for branch, sizes in [*((b, TEAM_SIZES) for b in BRANCHES), (head_office, HEAD_OFFICE_SIZES)]:
        for team, size in sizes.items():
            for n in range(1, size + 1):
                add(branch, f"{_CODES[team]}-{n}", team)
        add(branch, "SV-1", SUPERVISOR_TEAM, "supervisor")
    return managers


def sample_managers(head_office: str) -> list[DemoManager]:
    """One manager of each team at :data:`SAMPLE_BRANCH`, in the order of the tiers; then that
    branch's supervisor and a head-office private banker."""
    everyone = demo_managers(head_office)
    return [
        *(
            next(
                m
                for m in everyone
                if (m.team, m.branch_id, m.role) == (team, SAMPLE_BRANCH, "manager")
            )
            for team in Team
        ),
        next(m for m in everyone if (m.branch_id, m.role) == (SAMPLE_BRANCH, "supervisor")),
        next(m for m in everyone if (m.team, m.branch_id) == (Team.PRIVATE_BANKING, head_office)),
    ]


def write_directory(path: Path, head_office: str) -> Path:
    """The demo's directory as ``tiering import-managers`` reads it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow((*COLUMNS, "role"))
        for m in demo_managers(head_office):
            email = f"{m.manager_id.lower()}@demo-bank.example"
            out.writerow([m.manager_id, m.name, m.team.value, m.branch_id, email, "", m.role])
    return path


def directory_file(settings: Settings) -> Path:
    """Beside the worker's data directory: ``.local/demo/managers.csv`` by default."""
    return settings.data_dir.parent / "demo" / "managers.csv"


async def load_directory(settings: Settings) -> tuple[Path, ImportResult]:
    path = write_directory(directory_file(settings), settings.head_office_branch)
    return path, await import_directory(settings, path)


async def sample_links(settings: Settings) -> list[SampleLink]:
    """A sign-in link for each sample manager (``NoLinkSecretError`` without an inbox
    secret)."""
    return [
        SampleLink(m, await sign_in_link(settings, m.manager_id))
        for m in sample_managers(settings.head_office_branch)
    ]


def show_links(console: Console, settings: Settings, links: list[SampleLink]) -> None:
    """The links, one a line and never wrapped (a wrapped link cannot be clicked)."""
    console.print(
        f"[bold]Managers' inbox[/] {inbox_url(settings)}/ : sign in as a sample manager of "
        f"{BRANCHES[SAMPLE_BRANCH]} ({SAMPLE_BRANCH}), each sees the notifications for their "
        "team's customers at the branch:",
        highlight=False,
    )
    for link in links:
        m = link.manager
        if m.role == "supervisor":
            what = "SUPERVISOR"  # reads who looked at which customer, on /views
        elif m.branch_id != SAMPLE_BRANCH:
            what = f"HEAD_OFFICE {m.team.value}"  # every branch's HIGH_END customers
        else:
            what = m.team.value
        console.print(f"  {what:<17} {m.name:<12} {link.url}", soft_wrap=True)
