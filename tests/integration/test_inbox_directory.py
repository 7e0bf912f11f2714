"""The managers' directory and the inbox from the command line, on the real PostgreSQL:
`tiering import-managers`, `tiering managers token` and `tiering inbox`."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.e2e.test_cli import tiering
from tests.harness.deployment import ROOT
from tests.harness.prometheus import http_status
from tests.harness.waiting import wait_for

HEADER = ["manager_id", "name", "team", "branch_id", "email", "customer_id"]
TEAMS = ["BRANCH_SERVICE", "CUSTOMER_MANAGER", "WEALTH_TEAM", "PRIVATE_BANKING"]


def manager(i: int) -> list[str]:
    """Manager ``i``'s record (without the customer)."""
    return [
        f"M{i:04d}",
        f"Name {i}",
        TEAMS[i % 4],
        f"BR{i % 7 + 1}",
        f"m{i}@bank.example" if i % 3 else "",
    ]


LINES = 20_000
BAD_LINES = {
    # line number (the header is line 1) → (row, the words the report must use)
    101: (["M0001", "Name 1", "TELLERS", "BR1", "", "C-bad-1"], "team 'TELLERS' is not one of"),
    5_002: (["", "Nobody", "CUSTOMER_MANAGER", "BR1", "", "C-bad-2"], "manager_id is empty"),
    9_003: (["M0003", "Name 3", "WEALTH_TEAM", "BR1", "x@", "C-bad-3"], "not an e-mail address"),
    # the customer of line 2 again, for someone else
    15_004: ([*manager(3), "C000000"], "customer C000000 is already assigned to manager M0002"),
    19_005: (["M0004", "Name 4", "BRANCH_SERVICE", "", "", "C-bad-5"], "branch_id is empty"),
}
MANAGERS = 400


def write_directory(path: Path) -> dict[str, str]:
    """Write the file; return the good customer → manager assignments."""
    expected: dict[str, str] = {}
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for line in range(2, LINES + 2):
            if line in BAD_LINES:
                out.writerow(BAD_LINES[line][0])
                continue
            i = line % MANAGERS
            if line < 2 + MANAGERS // 4 and line % 2:
                out.writerow([*manager(i), ""])  # a manager-only line
                continue
            customer = f"C{line - 2:06d}"
            out.writerow([*manager(i), customer])
            expected[customer] = f"M{i:04d}"
    return expected


async def test_import_managers_loads_the_good_lines_and_names_the_bad(
    deployment: Any, tmp_path: Path
) -> None:
    d = await deployment("dir")
    path = tmp_path / "managers.csv"
    expected = write_directory(path)

    dry = await asyncio.to_thread(tiering, "import-managers", "--dry-run", str(path), env=d.env)
    assert dry.returncode == 1, dry.stderr
    assert "checked" in dry.stdout
    assert await d.fetch("SELECT 1 FROM managers") == []

    rejects = tmp_path / "rejected.csv"
    result = await asyncio.to_thread(
        tiering, "import-managers", str(path), "--rejects", str(rejects), env=d.env
    )
    assert result.returncode == 1, result.stderr
    assert f"loaded {MANAGERS:,} managers and {len(expected):,} customer assignments" in (
        result.stdout
    )
    assert f"rejected {len(BAD_LINES)} lines" in result.stdout
    reported = {
        int(text.split(":")[0].split()[-1]): text
        for text in result.stderr.splitlines()
        if text.strip().startswith("line ")
    }
    assert sorted(reported) == sorted(BAD_LINES)
    for line, (_, words) in BAD_LINES.items():
        assert words in reported[line]
    with rejects.open() as f:
        assert [int(r["line"]) for r in csv.DictReader(f)] == sorted(BAD_LINES)

    rows = await d.fetch("SELECT customer_id, manager_id FROM customer_managers")
    assert {r["customer_id"]: r["manager_id"] for r in rows} == expected
    managers = await d.fetch(
        "SELECT manager_id, name, team, branch_id, email, token_hash FROM managers"
    )
    assert len(managers) == MANAGERS
    by_id = {r["manager_id"]: r for r in managers}
    for i in (0, 1, 2, 399):
        m = by_id[f"M{i:04d}"]
        assert [m["manager_id"], m["name"], m["team"], m["branch_id"], m["email"] or ""] == (
            manager(i)
        )
        assert m["token_hash"] is None

    # the same file again changes nothing, not even updated_at
    before = await d.fetch("SELECT * FROM managers ORDER BY manager_id")
    before_assignments = await d.fetch("SELECT * FROM customer_managers ORDER BY customer_id")
    again = await asyncio.to_thread(tiering, "import-managers", str(path), env=d.env)
    assert again.returncode == 1
    assert await d.fetch("SELECT * FROM managers ORDER BY manager_id") == before
    assert (
        await d.fetch("SELECT * FROM customer_managers ORDER BY customer_id") == before_assignments
    )

    # a later file moves a customer and renames a manager
    change = tmp_path / "change.csv"
    with change.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        out.writerow(["M0005", "Renamed", "WEALTH_TEAM", "BR9", "", "C000000"])
    moved = await asyncio.to_thread(tiering, "import-managers", str(change), env=d.env)
    assert moved.returncode == 0, moved.stderr
    (row,) = await d.fetch(
        "SELECT c.manager_id, m.name, m.team FROM customer_managers c JOIN managers m"
        " USING (manager_id) WHERE customer_id = 'C000000'"
    )
    assert tuple(row) == ("M0005", "Renamed", "WEALTH_TEAM")


async def test_a_file_without_the_columns_loads_nothing(deployment: Any, tmp_path: Path) -> None:
    d = await deployment("dirh")
    path = tmp_path / "bad.csv"
    path.write_text("manager_id,name\nM1,Wang\n")
    result = await asyncio.to_thread(tiering, "import-managers", str(path), env=d.env)
    assert result.returncode == 1
    assert "missing: team, branch_id, email, customer_id" in result.stderr
    assert "Traceback" not in result.stderr


async def test_managers_token(deployment: Any, tmp_path: Path) -> None:
    d = await deployment("tok")
    path = tmp_path / "one.csv"
    path.write_text(",".join(HEADER) + "\nM1,Wang Fang,CUSTOMER_MANAGER,BR1,,C1\n")
    assert (
        await asyncio.to_thread(tiering, "import-managers", str(path), env=d.env)
    ).returncode == 0

    first = await asyncio.to_thread(tiering, "managers", "token", "M1", env=d.env)
    assert first.returncode == 0, first.stderr
    token = first.stdout.strip()
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    assert "shown once" in first.stderr
    (row,) = await d.fetch("SELECT token_hash FROM managers WHERE manager_id = 'M1'")
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()

    second = await asyncio.to_thread(tiering, "managers", "token", "M1", env=d.env)
    assert second.stdout.strip() != token

    unknown = await asyncio.to_thread(tiering, "managers", "token", "NOBODY", env=d.env)
    assert unknown.returncode == 1
    assert "no manager 'NOBODY' in the directory" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_tiering_inbox_serves_until_sigterm(deployment: Any, tmp_path: Path) -> None:
    d = await deployment("srv")
    port = free_port()
    log = tmp_path / "inbox.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "tiering", "inbox", "--port", str(port)),
            env={**tiering_env(), **d.env},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:

        async def healthy() -> bool:
            assert proc.returncode is None, log.read_text()
            return await asyncio.to_thread(http_status, f"http://127.0.0.1:{port}/healthz") == 200

        await wait_for(healthy, 30, "the inbox to answer /healthz")
        signin = await asyncio.to_thread(http_status, f"http://127.0.0.1:{port}/signin")
        assert signin == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 30)
    assert code == 0, log.read_text()
    text = log.read_text()
    assert f"managers' inbox on http://127.0.0.1:{port}/" in text
    assert "GET /healthz 200" in text  # the access log names routes
    assert "Traceback" not in text


async def test_tiering_inbox_on_an_unmigrated_schema_says_so(deployment: Any) -> None:
    d = await deployment("nomig")
    env = {**d.env, "TIERING_DATABASE_SCHEMA": f"{d.settings.db_schema}_none"}
    result = await asyncio.to_thread(tiering, "inbox", "--port", str(free_port()), env=env)
    assert result.returncode == 1
    assert "run `tiering db migrate`" in result.stderr
    assert "Traceback" not in result.stderr


def tiering_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TIERING_")}
