"""`make demo`'s inbox side as a newcomer meets it: the demo loads its managers (every team at
every branch, the same on a second run) and prints a sign-in link per team; opened against a
running `tiering inbox`, a link signs its manager in, and after a demo feed through a worker the
manager sees the notifications of their team at their branch."""

from __future__ import annotations

import asyncio
import re
import secrets
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.test_cli import tiering
from tests.harness.deployment import Deployment
from tests.harness.prometheus import http_status
from tests.harness.waiting import wait_for
from tiering.i18n.terms import team_name
from tiering.tools.demo.directory import SAMPLE_BRANCH

pytestmark = pytest.mark.integration

TEAMS = ("BRANCH_SERVICE", "CUSTOMER_MANAGER", "WEALTH_TEAM", "PRIVATE_BANKING")
LINK = re.compile(rf"^\s+({'|'.join(TEAMS)})\s+(.+?)\s+(http://\S+)$", re.MULTILINE)
#: the other links the demo prints: the sample branch's supervisor, a head-office private banker
OTHER_LINK = re.compile(
    r"^\s+(SUPERVISOR|HEAD_OFFICE PRIVATE_BANKING)\s+(.+?)\s+(http://\S+)$", re.M
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_env(d: Deployment) -> dict[str, str]:
    """The deployment, with an inbox secret and port of its own (as `make demo` sets them)."""
    return {
        **d.env,
        "TIERING_INBOX_SECRET": secrets.token_urlsafe(24),
        "TIERING_INBOX_PORT": str(free_port()),
    }


def printed_links(stdout: str) -> dict[str, tuple[str, str]]:
    """team → (manager's name, link), as the demo printed them."""
    return {team: (name, url) for team, name, url in LINK.findall(stdout)}


async def start_inbox(d: Deployment, env: dict[str, str], log_dir: Path) -> str:
    d.start_command(log_dir, "inbox", env=env)
    base = f"http://127.0.0.1:{env['TIERING_INBOX_PORT']}"

    async def answers() -> bool:
        assert all(p.poll() is None for p in d.workers), d.log_tail()
        return await asyncio.to_thread(http_status, f"{base}/healthz") == 200

    await wait_for(answers, 60, "the inbox to answer")
    return base


async def directory(d: Deployment) -> list[dict[str, Any]]:
    """Managers per branch and team, and when the last of them was written."""
    rows = await d.fetch(
        "SELECT branch_id, team, count(*) AS n, max(updated_at) AS at FROM managers"
        " GROUP BY 1, 2 ORDER BY 1, 2"
    )
    return [dict(r) for r in rows]


async def open_link(url: str) -> tuple[int, str, str]:
    """A browser's visit: follow the link with a cookie jar; (status, final path, page)."""
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    async with (
        aiohttp.ClientSession(cookie_jar=jar) as session,
        session.get(url) as response,
    ):
        return response.status, response.url.path, await response.text()


async def open_then(url: str, then: str) -> int:
    """Sign in with the link, then open ``then`` on the same inbox: its status."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        async with session.get(url) as response:
            assert response.status == 200
            page = response.url.with_path(then).with_query(None)
        async with session.get(page) as response:
            return response.status


async def test_the_demos_links_sign_its_managers_in(deployment: Any, tmp_path: Path) -> None:
    d = await deployment("dlinks")
    env = demo_env(d)
    first = await asyncio.to_thread(tiering, "demo", "--prepare-only", env=env)
    assert first.returncode == 0, first.stderr
    links = printed_links(first.stdout)
    assert list(links) == list(TEAMS), first.stdout

    teams = await directory(d)
    assert len({r["branch_id"] for r in teams}) >= 3
    assert "HQ" in {r["branch_id"] for r in teams}  # head office, the deployment's default
    assert {(r["branch_id"], r["team"]) for r in teams} == {
        (branch, team) for branch in {r["branch_id"] for r in teams} for team in TEAMS
    }
    supervisors = await d.fetch("SELECT branch_id FROM managers WHERE role = 'supervisor'")
    assert sorted(r["branch_id"] for r in supervisors) == sorted({r["branch_id"] for r in teams})

    # a second run changes nothing, and the links of the first keep working
    again = await asyncio.to_thread(tiering, "demo", "--prepare-only", env=env)
    assert again.returncode == 0, again.stderr
    assert list(printed_links(again.stdout)) == list(TEAMS)
    assert await directory(d) == teams

    base = await start_inbox(d, env, tmp_path)
    for team, (name, url) in links.items():
        assert url.startswith(f"{base}/")
        status, path, page = await open_link(url)
        assert (status, path) == (200, "/notifications"), (team, page)
        assert f"<strong>{name}</strong>" in page
        assert team_name(team, "zh_Hans_CN") in page  # the inbox's default language
    others = {what: url for what, _, url in OTHER_LINK.findall(first.stdout)}
    status, path, page = await open_link(others["HEAD_OFFICE PRIVATE_BANKING"])
    assert (status, path) == (200, "/notifications"), page
    assert team_name("PRIVATE_BANKING", "zh_Hans_CN") in page
    # the supervisor reads who looked at which customer; a manager may not
    assert await open_then(others["SUPERVISOR"], "/views") == 200
    assert await open_then(links["CUSTOMER_MANAGER"][1], "/views") == 404
    status, path, page = await open_link(links["WEALTH_TEAM"][1][:-4] + "AAAA")
    assert (status, path) == (401, "/signin/link")
    assert "<strong>" not in page


async def test_a_demo_manager_sees_the_demos_notifications(deployment: Any, tmp_path: Path) -> None:
    """The whole way: the feed through a worker that delivers to PostgreSQL, a sample manager's
    link, and in their inbox their team's notifications at their branch."""
    d = await deployment("dnotes")
    env = demo_env(d)
    d.start_worker(tmp_path)
    await d.wait_healthy()
    await start_inbox(d, env, tmp_path)
    result = await asyncio.to_thread(
        tiering,
        *("demo", "--customers", "300", "--postings", "4000", "--rate", "5000"),
        *("--no-follow", "--wait", "90", "--seed", "7"),
        env=env,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    assert "withdrawals declined for lack of funds" in result.stdout
    links = printed_links(result.stdout)
    assert list(links) == list(TEAMS), result.stdout

    # the sample managers work at one branch: their team with the most notifications there
    async def delivered() -> list[Any]:
        return await d.fetch(
            "SELECT team, count(*) AS n FROM notifications WHERE branch_id = $1"
            " GROUP BY team ORDER BY 2 DESC, 1",
            SAMPLE_BRANCH,
        )

    team = (await wait_for(delivered, 90, f"notifications at {SAMPLE_BRANCH}"))[0]["team"]
    status, _, page = await open_link(links[team][1])
    assert status == 200
    shown = re.findall(r'<tr data-id="([^"]+)"', page)
    theirs = await d.fetch(
        "SELECT notification_id FROM notifications WHERE team = $1 AND branch_id = $2",
        team,
        SAMPLE_BRANCH,
    )
    assert shown
    assert set(shown) <= {r["notification_id"] for r in theirs}
