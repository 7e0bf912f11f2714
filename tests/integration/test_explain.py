"""Explaining a decision (issue 18) through a real worker: a customer moved up by a posting and
then below the bound has a pending downgrade, whose deadline the ledger writes to
``customer_balances.downgrade_due``; ``tiering explain`` shows the tier, the policy version,
the posting that moved it and the deadline, and names an unknown customer with exit status 1."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.e2e.test_cli import tiering
from tests.harness.records import DAY_MS, T0, posting
from tests.harness.waiting import wait_for
from tiering.core.bank_time import epoch_ms
from tiering.i18n import format_time
from tiering.i18n.terms import tier_name

CUSTOMER = "C00018001"


async def test_explain_shows_the_tier_its_cause_and_the_pending_downgrade(
    deployment, tmp_path: Path
) -> None:
    d = await deployment("explain")
    d.start_worker(tmp_path)
    await d.wait_healthy()
    grace = d.settings.policy.downgrade_grace_ms
    assert grace > 0
    below_at = T0 + 2 * DAY_MS
    await d.produce(
        [
            posting("EX-OPEN", CUSTOMER, "100000.00", event_time_ms=T0, branch_id="BR018"),
            posting("EX-UP", CUSTOMER, "500000.00", event_time_ms=T0 + DAY_MS, branch_id="BR018"),
            posting("EX-DOWN", CUSTOMER, "200000.00", "WITHDRAWAL", event_time_ms=below_at),
        ]
    )

    async def balance_row() -> list | None:
        rows = await d.fetch(
            "SELECT tier, balance, downgrade_due FROM customer_balances"
            " WHERE customer_id = $1 AND version = 3",
            CUSTOMER,
        )
        return rows or None

    [row] = await wait_for(balance_row, 60, "the customer's third balance row")
    # still PREMIUM: below the bound since the withdrawal, downgraded only after the grace
    assert row["tier"] == "PREMIUM"
    assert epoch_ms(row["downgrade_due"]) == below_at + grace

    env = {**d.env, "COLUMNS": "250"}
    shown = await asyncio.to_thread(tiering, "explain", CUSTOMER, "--language", "en", env=env)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert CUSTOMER in out
    assert tier_name("PREMIUM", "en") in out
    assert d.settings.policy.version in out
    assert "posting EX-UP" in out
    assert "¥400,000.00" in out
    assert format_time(below_at + grace, "en") in out

    # Simplified Chinese by default
    chinese = await asyncio.to_thread(tiering, "explain", CUSTOMER, env=env)
    assert chinese.returncode == 0, chinese.stderr
    assert tier_name("PREMIUM", "zh_Hans_CN") in chinese.stdout
    assert format_time(below_at + grace, "zh_Hans_CN") in chinese.stdout

    unknown = await asyncio.to_thread(tiering, "explain", "C-NOBODY", "--language", "en", env=env)
    assert unknown.returncode == 1
    assert "C-NOBODY" in unknown.stderr
    assert "knows no customer" in unknown.stderr
    assert "Traceback" not in unknown.stderr
