"""``tiering policy simulate`` when a version is published but its moment not yet reached, on
the real local Kafka and PostgreSQL: the workers will re-place the customers under that version
first, so the candidate's moves are only those it makes after it; and the same once a worker
has switched. Compared with the tier changes publishing the candidate then makes."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

from tests.e2e.test_cli import tiering
from tests.harness.records import CODEC, DAY_MS, T0, posting
from tests.harness.waiting import wait_for
from tiering.core.policy_file import default_policy_text
from tiering.wire.codec import TIER_CHANGE

#: T0 is 2025-11-25 00:00 China time: the first version from 2025-12-05, the candidate from
#: 2025-12-15
FIRST_AT, CANDIDATE_AT = T0 + 10 * DAY_MS, T0 + 20 * DAY_MS
RAISED = default_policy_text().replace('POTENTIAL = "50000.00"', 'POTENTIAL = "100000.00"', 1)
CUSTOMERS = 12


def version(path: Path, name: str, day: str, text: str) -> Path:
    text = text.replace("policy_version = ", f'policy_version = "{name}"\n# was: ', 1)
    path.write_text(f"effective_from = 2025-12-{day}T00:00:00\n{text}", "utf-8")
    return path


def postings(prefix: str, at: int, amounts: list[str]) -> list[dict[str, Any]]:
    return [
        posting(f"{prefix}-{i}", f"C{i:02d}", a, event_time_ms=at + i, branch_id=f"B{i % 2}")
        for i, a in enumerate(amounts)
    ]


def simulated_moves(d: Any, candidate: Path, out: Path) -> dict[tuple[str, str, str], int]:
    done = tiering("policy", "simulate", str(candidate), "--out", str(out), env=d.env)
    assert done.returncode == 0, done.stdout + done.stderr
    with (out / "moves.csv").open() as f:
        return {
            (r["from_tier"], r["to_tier"], r["branch_id"]): int(r["customers"])
            for r in csv.DictReader(f)
        }


async def test_simulate_counts_only_the_candidates_moves_after_a_version_still_to_come(
    deployment: Any, tmp_path: Path
) -> None:
    first = version(tmp_path / "first.toml", "2025.12-a", "05", RAISED)
    candidate = version(
        tmp_path / "candidate.toml",
        "2025.12-b",
        "15",
        RAISED.replace('PREMIUM = "500000.00"', 'PREMIUM = "400000.00"', 1),
    )
    d = await deployment("sp")
    d.start_worker(tmp_path)
    await d.wait_healthy()
    # every customer POTENTIAL: 70,000 (ORDINARY under the first version), 450,000 (PREMIUM
    # under the candidate), 150,000 (POTENTIAL under both)
    await d.produce(postings("open", T0, ["70000.00", "450000.00", "150000.00"] * 4))

    async def policy_changes(version: str, n: int) -> bool:
        rows = await d.fetch(
            "SELECT count(*) AS n FROM tier_changes WHERE trigger_event_id = $1",
            f"policy:{version}",
        )
        return rows[0]["n"] == n

    async def placed() -> bool:
        rows = await d.fetch("SELECT count(*) AS n FROM customer_balances")
        return rows[0]["n"] == CUSTOMERS

    await wait_for(placed, 60, "the customers placed")
    published = tiering("policy", "publish", str(first), env=d.env)
    assert published.returncode == 0, published.stdout + published.stderr
    await d.wait_settled()
    # the worker's stream time is before the first version's moment: nothing switched yet
    ahead = simulated_moves(d, candidate, tmp_path / "ahead")
    assert ahead == {("POTENTIAL", "PREMIUM", "B0"): 2, ("POTENTIAL", "PREMIUM", "B1"): 2}

    # past the first version's moment: the worker switches, and keeps how far in its table
    await d.produce(postings("between", FIRST_AT + DAY_MS, ["1.00"] * CUSTOMERS))
    await wait_for(lambda: policy_changes("2025.12-a", 4), 60, "the first version's moves")
    await d.wait_settled()
    assert simulated_moves(d, candidate, tmp_path / "switched") == ahead

    # publishing the candidate makes those moves, and only those
    published = tiering("policy", "publish", str(candidate), env=d.env)
    assert published.returncode == 0, published.stdout + published.stderr
    await d.produce(postings("after", CANDIDATE_AT + DAY_MS, ["1.00"] * CUSTOMERS))
    await wait_for(lambda: policy_changes("2025.12-b", 4), 60, "the candidate's moves")
    await d.wait_settled()
    changes = [
        CODEC.decode(r.value, expect=TIER_CHANGE)[1] for r in await d.read_to_end("tier-changes")
    ]
    branches = {
        r["customer_id"]: r["branch_id"]
        for r in await d.fetch("SELECT customer_id, branch_id FROM customer_balances")
    }
    made = Counter(
        (c["previous_tier"], c["new_tier"], branches[c["customer_id"]])
        for c in changes
        if c["trigger_event_id"] == "policy:2025.12-b"
    )
    assert dict(made) == ahead
