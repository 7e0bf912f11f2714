"""The `tiering` command as an operator uses it: help, clear errors, migrations, and the demo
feed against a real worker."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.deployment import ROOT
from tests.harness.waiting import wait_for
from tiering.core.policy_file import default_policy_text

pytestmark = pytest.mark.integration


def tiering(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TIERING_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "tiering", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_help_lists_the_commands() -> None:
    result = tiering("--help")
    assert result.returncode == 0
    for command in ("worker", "demo", "db", "topics", "policy", "explain"):
        assert command in result.stdout
    worker_help = tiering("worker", "--help")
    assert "TIERING_WEB_PORT" in worker_help.stdout


def test_a_bad_setting_is_named() -> None:
    result = tiering("topics", "create", env={"TIERING_WEB_PORT": "sixty"})
    assert result.returncode == 1
    assert "TIERING_WEB_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_policy_is_named(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(default_policy_text().replace('PREMIUM = "500000.00"', 'PREMIUM = "5000.00"'))
    result = tiering("policy", "check", str(path))
    assert result.returncode == 1
    assert "bounds must rise strictly" in result.stderr
    ok = tiering("policy", "check")
    assert ok.returncode == 0
    assert "POTENTIAL  from        50,000.00 CNY" in ok.stdout


async def test_migrations_apply_once(deployment) -> None:
    d = await deployment("mig")  # prepare() has migrated its schema already
    result = tiering("db", "migrate", env=d.env)
    assert result.returncode == 0, result.stderr
    assert f"schema {d.settings.db_schema}: up to date" in result.stdout


async def test_demo_feeds_a_worker_and_shows_tier_changes(deployment, tmp_path: Path) -> None:
    d = await deployment("demo")
    d.start_worker(tmp_path)
    await d.wait_healthy()
    result = await asyncio.to_thread(
        tiering,
        "demo",
        "--customers",
        "300",
        "--postings",
        "3000",
        "--rate",
        "5000",
        "--no-follow",
        "--wait",
        "90",
        "--seed",
        "7",
        env=d.env,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert "300 customers placed" in result.stdout.replace(",", "")

    async def all_rows() -> int:
        rows = await d.fetch("SELECT count(*) AS n FROM customer_balances")
        return rows[0]["n"] if rows[0]["n"] == 300 else 0

    await wait_for(all_rows, 60, "300 customer_balances rows")
