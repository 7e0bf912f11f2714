"""``tiering policy simulate``'s counting and output, on states made by the ledger's own rules
(no services): the moves, the grouped notices, the workload, the CSV files and the page."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

from rich.console import Console

from tests.unit.ledger.test_policy_switch import SWITCH
from tests.unit.ledger.test_rules import POLICY, T0, Customer
from tiering.core.kinds import NotificationKind
from tiering.core.policy_versions import PolicyVersions
from tiering.core.teams import Team
from tiering.core.tiers import Tier
from tiering.ledger.postings import TxnType
from tiering.ledger.state import CustomerState
from tiering.tools.simulate.outcome import Simulation, simulate
from tiering.tools.simulate.output import render_html, show, write_csv

#: POTENTIAL from 100,000, in force from SWITCH
CANDIDATE = dataclasses.replace(
    POLICY,
    version="2027.01-1",
    lower_bounds_fen=(10_000_000, 50_000_000, 300_000_000),
    effective_from_ms=SWITCH,
)


def customer(customer_id: str, amount: str, branch: str, out: str | None = None) -> CustomerState:
    c = Customer(customer_id=customer_id)
    c.post(amount, at=T0)
    if out is not None:
        c.post(out, txn_type=TxnType.WITHDRAWAL, at=T0 + 1)
    assert c.state is not None
    c.state.branch_id = branch
    return c.state


def bank() -> list[tuple[int, list[tuple[str, CustomerState]]]]:
    return [
        (0, [("C1", customer("C1", "70000.00", "B1")), ("C2", customer("C2", "150000.00", "B1"))]),
        (1, [("C3", customer("C3", "80000.00", "B2")), ("C4", customer("C4", "20000.00", "B2"))]),
        # in grace since T0 + 1 under the packaged policy: its downgrade falls due before
        (2, [("C5", customer("C5", "600000.00", "B1", out="200000.00"))]),
    ]


def run() -> Simulation:
    late = dataclasses.replace(CANDIDATE, effective_from_ms=T0 + POLICY.downgrade_grace_ms + 10)
    return simulate(bank(), PolicyVersions(POLICY), late)


def test_the_moves_are_those_of_the_switch_per_branch_and_team() -> None:
    sim = run()
    assert (sim.customers, sim.previous, sim.candidate) == (5, POLICY.version, "2027.01-1")
    assert dict(sim.moves) == {
        (Tier.POTENTIAL, Tier.ORDINARY, "B1"): 1,
        (Tier.POTENTIAL, Tier.ORDINARY, "B2"): 1,
    }
    assert sim.moved == 2
    by_team = sim.moves_by_team()
    assert by_team[Team.CUSTOMER_MANAGER, Tier.POTENTIAL, Tier.ORDINARY] == 2
    assert by_team[Team.BRANCH_SERVICE, Tier.POTENTIAL, Tier.ORDINARY] == 2


def test_the_notices_and_what_falls_due_anyway_are_counted_apart() -> None:
    sim = run()
    # one grouped notice per team, branch and partition
    assert dict(sim.notices) == {
        (Team.BRANCH_SERVICE, "B1"): 1,
        (Team.CUSTOMER_MANAGER, "B1"): 1,
        (Team.BRANCH_SERVICE, "B2"): 1,
        (Team.CUSTOMER_MANAGER, "B2"): 1,
    }
    # C5's PREMIUM grace ended before the moment: the win-back and the hand-over
    assert dict(sim.due) == {
        (Team.WEALTH_TEAM, NotificationKind.TIER_DOWNGRADE): 1,
        (Team.CUSTOMER_MANAGER, NotificationKind.TIER_DOWNGRADE): 1,
    }


def test_the_workload_is_each_teams_customers_now_and_after() -> None:
    sim = run()
    assert sim.before == {Team.BRANCH_SERVICE: 1, Team.CUSTOMER_MANAGER: 3, Team.WEALTH_TEAM: 1}
    assert sim.after == {Team.BRANCH_SERVICE: 3, Team.CUSTOMER_MANAGER: 2}


def test_the_files_and_the_page(tmp_path: Path) -> None:
    sim = run()
    written = write_csv(tmp_path, sim)
    assert [p.name for p in written] == ["moves.csv", "notifications.csv", "workload.csv"]
    with (tmp_path / "moves.csv").open() as f:
        assert list(csv.reader(f)) == [
            ["from_tier", "to_tier", "branch_id", "customers"],
            ["POTENTIAL", "ORDINARY", "B1", "1"],
            ["POTENTIAL", "ORDINARY", "B2", "1"],
        ]
    with (tmp_path / "workload.csv").open() as f:
        rows = list(csv.reader(f))
    assert ["CUSTOMER_MANAGER", "3", "2"] in rows
    page = render_html(sim, "zh_Hans_CN")
    assert "政策 2027.01-1 的影响模拟" in page
    assert "5 位客户中将有 2 位变动层级" in page
    assert page.count("data:image/png;base64,") == 2
    console = Console(record=True, width=300)
    show(console, sim, "en")
    text = console.export_text()
    assert "2 of 5 customers would move" in text
    # per team, as the page shows it: each move concerns the team it leaves and the one it joins
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in text.splitlines()]
    assert "Moves per team" in text
    assert ["Customer managers", "Potential customer", "Ordinary customer", "2"] in rows
    assert ["Branch tellers and lobby manager", "Potential customer", "Ordinary customer", "2"] in (
        rows
    )
    assert "Workload per team" in text


def test_an_unreachable_kafka_ends_the_command_with_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tiering.cli import main
    from tiering.core.policy_file import default_policy_text

    candidate = tmp_path / "candidate.toml"
    candidate.write_text(f"effective_from = 2027-01-01T00:00:00\n{default_policy_text()}")
    env = {"TIERING_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}  # nothing listens there
    result = CliRunner().invoke(main, ["policy", "simulate", str(candidate)], env=env)
    assert result.exit_code == 1, result.output
    assert "cannot reach Kafka (TIERING_KAFKA_BOOTSTRAP_SERVERS)" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_second_bar_counts_every_customer_re_placed_and_no_reserved_key() -> None:
    from tiering.ledger.state import encode_state
    from tiering.ledger.versions_table import policies_key
    from tiering.tools.simulate.source import partitions

    stored = {
        p: {key.encode(): encode_state(state) for key, state in customers}
        for p, customers in bank()
    }
    stored[0][policies_key(0)] = b"the partition's versions, not a customer's state"
    told: list[tuple[int, int]] = []
    sim = simulate(
        partitions(stored, lambda done, total: told.append((done, total))),
        PolicyVersions(POLICY),
        dataclasses.replace(CANDIDATE, effective_from_ms=T0 + POLICY.downgrade_grace_ms + 10),
    )
    assert (told[0], told[-1]) == ((0, 5), (5, 5))
    assert dict(sim.moves) == dict(run().moves)  # the same as from the states themselves


def test_a_version_published_but_not_yet_in_force_re_places_first_and_is_not_counted() -> None:
    from tiering.core.policy_file import default_policy_text
    from tiering.core.policy_versions import published, read_version
    from tiering.ledger.policy_switch import switch_customer

    raised = default_policy_text().replace('POTENTIAL = "50000.00"', 'POTENTIAL = "100000.00"', 1)

    def version(name: str, day: str, text: str) -> str:
        text = text.replace("policy_version = ", f'policy_version = "{name}"\n# was: ', 1)
        return f"effective_from = 2025-12-{day}T00:00:00\n{text}"

    # published, in force from 2025-12-05: POTENTIAL from 100,000
    first = published(version("2025.12-a", "05", raised))
    # the candidate, from 2025-12-15: PREMIUM from 400,000 as well
    candidate = read_version(
        version("2025.12-b", "15", raised.replace('PREMIUM = "500000.00"', 'PREMIUM = "400000.00"'))
    )
    versions = PolicyVersions(POLICY, [first])

    def states() -> list[tuple[str, CustomerState]]:
        return [("C1", customer("C1", "70000.00", "B1")), ("C2", customer("C2", "450000.00", "B1"))]

    # the worker has not reached 2025-12-05 yet: C1 goes down then, under 2025.12-a, not
    # under the candidate; C2 goes up under the candidate
    ahead = simulate([(0, states())], versions, candidate, {0: None})
    assert dict(ahead.moves) == {(Tier.POTENTIAL, Tier.PREMIUM, "B1"): 1}
    assert ahead.previous == "2025.12-a"
    assert ahead.before == {Team.CUSTOMER_MANAGER: 2}
    assert ahead.after == {Team.BRANCH_SERVICE: 1, Team.WEALTH_TEAM: 1}
    # once it has switched (C1 re-placed already, the moment stored), the same
    done = states()
    for customer_id, state in done:
        switch_customer(
            state, customer_id, POLICY, read_version(first.text), first.effective_from_ms
        )
    after = simulate([(0, done)], versions, candidate, {0: first.effective_from_ms})
    assert dict(after.moves) == dict(ahead.moves)
