"""Effective-dated policy versions end to end on the real local Kafka and PostgreSQL:
``tiering policy publish`` sends a version; two workers, each holding some partitions, switch
to it at the same event time without a restart, re-placing the customers the new bounds move
(one TierChange each, with the new version and a trigger naming it), and the teams hear of it
grouped; a replay of the same input, batched otherwise, makes the same tier changes."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

from tests.e2e.test_cli import tiering
from tests.harness.deployment import release_test_port, take_test_port
from tests.harness.records import CODEC, DAY_MS, T0, posting
from tests.harness.waiting import wait_for
from tiering.core.bank_time import epoch_ms
from tiering.core.policy_file import default_policy_text
from tiering.core.teams import TEAM_OF
from tiering.core.tiers import Tier
from tiering.wire.codec import MANAGER_NOTIFICATION, TIER_CHANGE

#: T0 is 2025-11-25 00:00 China time; the new version is in force ten days on
SWITCH = T0 + 10 * DAY_MS
VERSION = "2025.12-raised"
CUSTOMERS = 40


def raised_policy(path: Path) -> Path:
    """The packaged policy with POTENTIAL from 100,000 (not 50,000), from 2025-12-05."""
    text = default_policy_text().replace('POTENTIAL = "50000.00"', 'POTENTIAL = "100000.00"', 1)
    text = text.replace("policy_version = ", f'policy_version = "{VERSION}"\n# was: ', 1)
    path.write_text(f"effective_from = 2025-12-05T00:00:00\n{text}", "utf-8")
    return path


def before_the_switch() -> list[dict[str, Any]]:
    """Half the customers at 60,000-79,500 (POTENTIAL, ORDINARY under the new bounds), half at
    150,000 (POTENTIAL under both)."""
    return [
        posting(
            f"open-{i}",
            f"C{i:03d}",
            "150000.00" if i % 2 else f"{60000 + 500 * i}.00",
            event_time_ms=T0 + i,
            branch_id=f"B{i % 3}",
        )
        for i in range(CUSTOMERS)
    ]


def after_the_switch() -> list[dict[str, Any]]:
    """A posting of every customer after the moment: every partition's stream time reaches it."""
    return [
        posting(f"later-{i}", f"C{i:03d}", "1.00", event_time_ms=SWITCH + DAY_MS + i)
        for i in range(CUSTOMERS)
    ]


async def tier_changes(d: Any) -> list[dict[str, Any]]:
    return [
        CODEC.decode(r.value, expect=TIER_CHANGE)[1] for r in await d.read_to_end("tier-changes")
    ]


def decisions(changes: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(
        (
            c["change_id"],
            c["customer_id"],
            c["new_tier"],
            c["direction"],
            epoch_ms(c["event_time"]),
            c["policy_version"],
            c["trigger_event_id"],
        )
        for c in changes
    )


async def test_two_workers_switch_at_the_same_event_time_and_a_replay_agrees(
    deployment: Any, tmp_path: Path
) -> None:
    policy_file = raised_policy(tmp_path / "raised.toml")
    d = await deployment("pv")
    second = take_test_port()
    try:
        d.start_worker(tmp_path)
        d.start_worker(tmp_path, port=second)
        await d.wait_healthy()
        await d.wait_healthy(port=second)
        await d.produce(before_the_switch())

        async def placed() -> bool:
            rows = await d.fetch("SELECT count(*) AS n FROM customer_balances")
            return rows[0]["n"] == CUSTOMERS

        await wait_for(placed, 60, f"{CUSTOMERS} customers placed")
        # what publishing would do, first: read from the ledger's changelog as it stands
        await d.wait_settled()
        simulated = tiering(
            "policy", "simulate", str(policy_file), "--out", str(tmp_path / "sim"), env=d.env
        )
        assert simulated.returncode == 0, simulated.stdout + simulated.stderr
        assert f"{CUSTOMERS} 位客户中将有 {CUSTOMERS // 2} 位变动层级" in simulated.stdout
        with (tmp_path / "sim" / "moves.csv").open() as f:
            expected = {
                (r["from_tier"], r["to_tier"], r["branch_id"]): int(r["customers"])
                for r in csv.DictReader(f)
            }
        with (tmp_path / "sim" / "notifications.csv").open() as f:
            notified = list(csv.DictReader(f))
        with (tmp_path / "sim" / "workload.csv").open() as f:
            workload = {r["team"]: int(r["customers_candidate"]) for r in csv.DictReader(f)}
        published = tiering("policy", "publish", str(policy_file), env=d.env)
        assert published.returncode == 0, published.stdout + published.stderr
        assert f"policy {VERSION}, in force from 2025-12-05 00:00:00 China time" in (
            published.stdout
        )
        again = tiering("policy", "publish", str(policy_file), env=d.env)
        assert "published already, unchanged" in again.stdout
        listed = tiering("policy", "versions", env=d.env)
        assert f"{VERSION}  in force from 2025-12-05 00:00:00" in listed.stdout
        await d.produce(after_the_switch())

        async def switched() -> bool:
            rows = await d.fetch(
                "SELECT count(*) AS n FROM tier_changes WHERE trigger_event_id = $1",
                f"policy:{VERSION}",
            )
            return rows[0]["n"] == CUSTOMERS // 2

        await wait_for(switched, 60, "the customers below the new bound re-placed")
        await d.wait_settled()
        live = await tier_changes(d)
        replaced = [c for c in live if c["trigger_event_id"] == f"policy:{VERSION}"]
        assert sorted(c["customer_id"] for c in replaced) == [
            f"C{i:03d}" for i in range(0, CUSTOMERS, 2)
        ]
        assert {
            (c["previous_tier"], c["new_tier"], c["direction"], c["policy_version"])
            for c in replaced
        } == {("POTENTIAL", "ORDINARY", "DOWNGRADE", VERSION)}
        # every partition switched at the moment itself, on both workers
        assert {epoch_ms(c["event_time"]) for c in replaced} == {SWITCH}
        # simulate said so beforehand, move for move and branch for branch
        branches = {
            r["customer_id"]: r["branch_id"]
            for r in await d.fetch("SELECT customer_id, branch_id FROM customer_balances")
        }
        moved = Counter(
            (c["previous_tier"], c["new_tier"], branches[c["customer_id"]]) for c in replaced
        )
        assert dict(moved) == expected
        for port in (None, second):
            moved = await d.metric("tiering_tier_changes_total", port=port, direction="DOWNGRADE")
            assert moved > 0, f"the worker on port {port} re-placed no one"
        in_force = [
            await d.metric("tiering_policy_partitions", port=port, version=VERSION)
            for port in (None, second)
        ]
        assert sum(in_force) == d.partitions
        # the teams heard of it grouped, per team and branch, not customer by customer
        told = [
            CODEC.decode(r.value, expect=MANAGER_NOTIFICATION)[1]
            for r in await d.read_to_end("manager-notifications")
        ]
        assert [n for n in told if n["kind"] == "TIER_DOWNGRADE"] == []
        notices = [n for n in told if n["kind"] == "POLICY_CHANGE"]
        assert {(n["team"], n["branch_id"]) for n in notices} == {
            (team, f"B{b}") for team in ("BRANCH_SERVICE", "CUSTOMER_MANAGER") for b in range(3)
        }
        assert all(n["customer_id"] == "" for n in notices)
        assert len(notices) <= 2 * 3 * d.partitions
        # simulate counted those notices beforehand, per team and branch (one per partition),
        # and nothing falling due anyway
        assert Counter((n["team"], n["kind"], n["branch_id"]) for n in notices) == Counter(
            {
                (r["team"], r["kind"], r["branch_id"]): int(r["notifications"])
                for r in notified
                if r["falls_due_anyway"] == "no"
            }
        )
        assert [r for r in notified if r["falls_due_anyway"] == "yes"] == []
        rows = await d.fetch("SELECT tier, count(*) AS n FROM customer_balances GROUP BY tier")
        assert {r["tier"]: r["n"] for r in rows} == {
            "ORDINARY": CUSTOMERS // 2,
            "POTENTIAL": CUSTOMERS // 2,
        }
        # and each team's workload under the candidate
        teams = Counter({TEAM_OF[Tier[r["tier"]]].value: r["n"] for r in rows})
        assert {team: n for team, n in workload.items() if n} == dict(teams)
    finally:
        release_test_port(second)

    # The replay: the same input into a new deployment, the version first, then every
    # posting in one go; the same decisions, ids and all.
    r = await deployment("pv-replay")
    done = tiering("policy", "publish", str(policy_file), env=r.env)
    assert done.returncode == 0, done.stdout + done.stderr
    await r.produce([*before_the_switch(), *after_the_switch()])
    (tmp_path / "replay").mkdir()
    r.start_worker(tmp_path / "replay")
    await r.wait_healthy()
    await r.wait_processed(2 * CUSTOMERS)
    await r.wait_settled()
    assert decisions(await tier_changes(r)) == decisions(live)
