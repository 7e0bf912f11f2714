"""The managers' inbox on the real PostgreSQL: sign-in, what each manager may see (§9), the
acknowledgement, the filters and the live events."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from tests.harness.deployment import Deployment
from tests.harness.waiting import wait_for
from tests.integration.inbox_harness import english_inbox
from tiering.directory.tokens import issue_token

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)

MANAGERS = [
    # manager_id, name, team, branch
    ("MA", "Alice", "CUSTOMER_MANAGER", "BR1"),
    ("MB", "Bob", "CUSTOMER_MANAGER", "BR1"),
    ("MC", "Carol", "CUSTOMER_MANAGER", "BR2"),
    ("MW", "Wendy", "WEALTH_TEAM", "BR1"),
]

#: notification id → (manager_id, team, branch_id, tier, kind, minutes after T0)
NOTIFICATIONS: dict[str, tuple[str | None, str, str | None, str, str, int]] = {
    "n-own": ("MA", "CUSTOMER_MANAGER", "BR1", "POTENTIAL", "TIER_UPGRADE", 1),
    "n-queue": (None, "CUSTOMER_MANAGER", "BR1", "POTENTIAL", "LARGE_DEPOSIT", 2),
    "n-colleague": ("MB", "CUSTOMER_MANAGER", "BR1", "POTENTIAL", "CHURN_RISK", 3),
    "n-own-at-br2": ("MA", "CUSTOMER_MANAGER", "BR2", "PREMIUM", "TIER_UPGRADE", 4),
    "n-br2": ("MC", "CUSTOMER_MANAGER", "BR2", "POTENTIAL", "TIER_UPGRADE", 5),
    "n-br2-queue": (None, "CUSTOMER_MANAGER", "BR2", "POTENTIAL", "LARGE_DEPOSIT", 6),
    "n-wealth": (None, "WEALTH_TEAM", "BR1", "PREMIUM", "TIER_UPGRADE", 7),
    "n-no-branch": (None, "CUSTOMER_MANAGER", None, "POTENTIAL", "OTHER", 8),
}
#: what Alice (MA) sees, newest first
ALICE_SEES = ["n-own-at-br2", "n-colleague", "n-queue", "n-own"]
HIDDEN_FROM_ALICE = ["n-br2", "n-br2-queue", "n-wealth", "n-no-branch"]

INSERT_NOTIFICATION = """
INSERT INTO notifications (notification_id, customer_id, tier, team, manager_id, branch_id,
                           kind, priority, title, body, actions, source_event_id, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
"""


async def add_notification(
    d: Deployment,
    notification_id: str,
    manager_id: str | None,
    team: str,
    branch_id: str | None,
    tier: str = "POTENTIAL",
    kind: str = "TIER_UPGRADE",
    created_at: datetime | None = None,
    title: str | None = None,
) -> None:
    await d.fetch(
        INSERT_NOTIFICATION,
        notification_id,
        f"C-{notification_id}",
        tier,
        team,
        manager_id,
        branch_id,
        kind,
        "HIGH",
        title or f"Title of {notification_id}",
        "Customer C****89 moved up a tier.",
        ["Call the customer", "Offer a review"],
        f"src-{notification_id}",
        created_at or datetime.now(UTC),
    )


async def seed(
    d: Deployment, managers: Any = MANAGERS, notes: Any = NOTIFICATIONS
) -> dict[str, str]:
    """The managers and the notifications (by default the four above); their sign-in tokens."""
    for row in managers:
        sql = "INSERT INTO managers (manager_id, name, team, branch_id) VALUES ($1, $2, $3, $4)"
        await d.fetch(sql, *row)
    for nid, (manager, team, branch, tier, kind, minutes) in notes.items():
        await add_notification(
            d, nid, manager, team, branch, tier, kind, T0 + timedelta(minutes=minutes)
        )
    return {m[0]: await issue_token(d.settings, m[0]) for m in managers}


@pytest.fixture
async def inbox(deployment: Any) -> AsyncIterator[tuple[Deployment, dict[str, str], TestClient]]:
    d = await deployment("inbox")
    tokens = await seed(d)
    async with english_inbox(d) as client:
        yield d, tokens, client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def sign_in(client: TestClient, token: str) -> ClientResponse:
    page = await client.get("/signin")
    assert page.status == 200
    return await client.post(
        "/signin",
        data={"csrf": csrf_of(await page.text()), "token": token},
        allow_redirects=False,
    )


async def signed_in(client: TestClient, token: str) -> TestClient:
    """Another browser on the same server, signed in with ``token``."""
    other = TestClient(client.server)
    assert (await sign_in(other, token)).status == 303
    return other


async def listed(client: TestClient, query: str = "") -> list[str]:
    response = await client.get(f"/notifications{query}")
    assert response.status == 200
    return re.findall(r'<tr data-id="([^"]+)"', await response.text())


async def ack(client: TestClient, notification_id: str) -> ClientResponse:
    page = await client.get("/notifications")
    return await client.post(
        f"/notifications/{notification_id}/ack",
        data={"csrf": csrf_of(await page.text()), "next": "/notifications"},
        allow_redirects=False,
    )


async def test_sign_in_with_a_good_and_a_bad_token(inbox: Any, caplog: Any) -> None:
    _, tokens, client = inbox
    caplog.set_level(logging.DEBUG)
    health = await client.get("/healthz")
    assert health.status == 200

    # not signed in: the pages send to the sign-in page, the event stream refuses
    response = await client.get("/notifications", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/signin"
    assert (await client.get("/events")).status == 401

    bad = await sign_in(client, "not-a-token")
    assert bad.status == 401
    text = await bad.text()
    assert "Sign-in failed." in text
    assert "not-a-token" not in text
    assert (await client.get("/notifications", allow_redirects=False)).status == 303

    good = await sign_in(client, tokens["MA"])
    assert good.status == 303
    assert good.headers["Location"] == "/notifications"
    cookie = good.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    page = await client.get("/notifications")
    assert page.status == 200
    assert "Alice" in await page.text()
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self' 'nonce-" in csp
    assert "unsafe-inline" not in csp

    # no token, hash or customer in the logs
    for secret in (tokens["MA"], "not-a-token", "C-n-own"):
        assert secret not in caplog.text

    # sign out: the session ends
    signout = await client.post(
        "/signout", data={"csrf": csrf_of(await page.text())}, allow_redirects=False
    )
    assert signout.status == 303
    assert (await client.get("/notifications", allow_redirects=False)).status == 303


async def test_a_form_without_the_sessions_csrf_token_is_refused(inbox: Any) -> None:
    d, tokens, client = inbox
    page = await client.get("/signin")
    refused = await client.post("/signin", data={"csrf": "guess", "token": tokens["MA"]})
    assert refused.status == 403
    assert (await sign_in(client, tokens["MA"])).status == 303
    # the token from before sign-in is worth nothing after it
    stale = await client.post(
        "/notifications/n-own/ack",
        data={"csrf": csrf_of(await page.text())},
        allow_redirects=False,
    )
    assert stale.status == 403
    no_token = await client.post("/notifications/n-own/ack", allow_redirects=False)
    assert no_token.status == 403
    rows = await d.fetch(
        "SELECT acknowledged_at FROM notifications WHERE notification_id = 'n-own'"
    )
    assert rows[0]["acknowledged_at"] is None


async def test_a_new_token_ends_the_old_sessions(inbox: Any) -> None:
    d, tokens, client = inbox
    assert (await sign_in(client, tokens["MA"])).status == 303
    assert (await client.get("/notifications", allow_redirects=False)).status == 200
    new_token = await issue_token(d.settings, "MA")
    assert (await client.get("/notifications", allow_redirects=False)).status == 303
    assert (await sign_in(client, tokens["MA"])).status == 401
    assert (await sign_in(client, new_token)).status == 303


async def test_a_manager_sees_own_and_team_at_branch_only(inbox: Any) -> None:
    d, tokens, client = inbox
    assert (await sign_in(client, tokens["MA"])).status == 303
    assert await listed(client) == ALICE_SEES
    for nid in ALICE_SEES:
        detail = await client.get(f"/notifications/{nid}")
        assert detail.status == 200, nid
        assert f"Title of {nid}" in await detail.text()

    absent = await client.get("/notifications/no-such-id")
    assert absent.status == 404
    absent_page = re.sub(r"nonce-[^']+", "", await absent.text())
    for nid in HIDDEN_FROM_ALICE:
        hidden = await client.get(f"/notifications/{nid}")
        assert hidden.status == 404, nid
        text = await hidden.text()
        assert f"Title of {nid}" not in text
        assert re.sub(r"nonce-[^']+", "", text) == absent_page  # nothing tells them apart
        refused = await ack(client, nid)
        assert refused.status == 404, nid
    assert (await ack(client, "no-such-id")).status == 404
    rows = await d.fetch(
        "SELECT count(*) AS n FROM notifications WHERE acknowledged_at IS NOT NULL"
    )
    assert rows[0]["n"] == 0

    # Carol, at BR2, sees her team's BR2 ones (Alice's customer at BR2 too), none of BR1
    other = TestClient(client.server)
    try:
        assert (await sign_in(other, tokens["MC"])).status == 303
        assert await listed(other) == ["n-br2-queue", "n-br2", "n-own-at-br2"]
        assert (await other.get("/notifications/n-own")).status == 404
    finally:
        await other.session.close()


async def test_acknowledging_is_recorded_once(inbox: Any) -> None:
    d, tokens, client = inbox
    assert (await sign_in(client, tokens["MA"])).status == 303
    first = await ack(client, "n-queue")
    assert first.status == 303
    assert first.headers["Location"] == "/notifications"
    query = (
        "SELECT acknowledged_at, acknowledged_by FROM notifications"
        " WHERE notification_id = 'n-queue'"
    )
    (row,) = await d.fetch(query)
    assert row["acknowledged_by"] == "MA"
    assert row["acknowledged_at"] is not None

    again = await ack(client, "n-queue")
    assert again.status == 303
    assert await d.fetch(query) == [row]

    # Bob, in the same team at the same branch, acknowledging it later changes nothing
    bob = TestClient(client.server)
    try:
        assert (await sign_in(bob, tokens["MB"])).status == 303
        assert (await ack(bob, "n-queue")).status == 303
    finally:
        await bob.session.close()
    assert await d.fetch(query) == [row]

    detail = await client.get("/notifications/n-queue")
    assert "Acknowledged" in await detail.text()
    # an unsafe "next" does not redirect elsewhere
    page = await client.get("/notifications")
    away = await client.post(
        "/notifications/n-own/ack",
        data={"csrf": csrf_of(await page.text()), "next": "//evil.example/"},
        allow_redirects=False,
    )
    assert away.headers["Location"] == "/notifications/n-own"


async def test_filters(inbox: Any) -> None:
    _, tokens, client = inbox
    assert (await sign_in(client, tokens["MA"])).status == 303
    assert await listed(client, "?tier=PREMIUM") == ["n-own-at-br2"]
    assert await listed(client, "?kind=TIER_UPGRADE") == ["n-own-at-br2", "n-own"]
    assert await listed(client, "?tier=POTENTIAL&kind=TIER_UPGRADE") == ["n-own"]
    assert (await ack(client, "n-colleague")).status == 303
    assert await listed(client, "?status=acknowledged") == ["n-colleague"]
    assert await listed(client, "?status=new") == ["n-own-at-br2", "n-queue", "n-own"]
    assert await listed(client, "?tier=GOLD&status=whatever") == ALICE_SEES
    empty = await client.get("/notifications?kind=IDLE_FUNDS")
    assert "No notifications match these filters." in await empty.text()


async def test_the_page_escapes_what_it_shows(inbox: Any) -> None:
    d, tokens, client = inbox
    await add_notification(d, "n-html", "MA", "CUSTOMER_MANAGER", "BR1", title="<b>x</b>")
    assert (await sign_in(client, tokens["MA"])).status == 303
    for url in ("/notifications", "/notifications/n-html"):
        text = await (await client.get(url)).text()
        assert "&lt;b&gt;x&lt;/b&gt;" in text
        assert "<b>x</b>" not in text


async def next_event(response: ClientResponse, timeout: float = 10) -> dict[str, Any]:
    """The next ``notification`` event on an SSE stream (comments skipped)."""

    async def read() -> dict[str, Any]:
        event = ""
        while True:
            line = (await response.content.readline()).decode()
            assert line, "the stream ended"
            if line.startswith("event: "):
                event = line[7:].strip()
            elif line.startswith("data: ") and event == "notification":
                return dict(json.loads(line[6:]))

    return await asyncio.wait_for(read(), timeout)


async def test_live_events_carry_only_what_the_manager_may_see(inbox: Any) -> None:
    d, tokens, client = inbox
    assert (await sign_in(client, tokens["MA"])).status == 303
    stream = await client.get("/events")
    assert stream.status == 200
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    # keep-alive comments while nothing happens (every 0.3 s in this app)
    lines = [(await asyncio.wait_for(stream.content.readline(), 5)).decode() for _ in range(5)]
    assert ": keep-alive\n" in lines

    filtered = await client.get("/events?tier=PREMIUM")
    await add_notification(d, "live-br2", "MC", "CUSTOMER_MANAGER", "BR2")
    await add_notification(d, "live-wealth", None, "WEALTH_TEAM", "BR1")
    await add_notification(d, "live-queue", None, "CUSTOMER_MANAGER", "BR1", tier="POTENTIAL")
    await add_notification(d, "live-own", "MA", "CUSTOMER_MANAGER", "BR2", tier="PREMIUM")
    first, second = await next_event(stream), await next_event(stream)
    assert [first["id"], second["id"]] == ["live-queue", "live-own"]
    assert first["html"].startswith('<tr data-id="live-queue"')
    assert "Acknowledge" in first["html"]
    assert (await next_event(filtered))["id"] == "live-own"  # the page's filters apply
    stream.close()
    filtered.close()


async def test_stopping_the_server_ends_open_event_streams(inbox: Any) -> None:
    _, tokens, client = inbox
    assert (await sign_in(client, tokens["MA"])).status == 303
    stream = await client.get("/events")
    assert stream.status == 200
    # without the streams told to end, aiohttp would wait for them up to its shutdown timeout
    await asyncio.wait_for(client.server.close(), 10)
    rest = await asyncio.wait_for(stream.content.read(), 10)
    assert b"event: notification" not in rest
    stream.close()


async def test_live_events_survive_a_lost_listener_connection(inbox: Any) -> None:
    d, tokens, client = inbox
    assert (await sign_in(client, tokens["MA"])).status == 303
    stream = await client.get("/events")
    name = f"tiering-inbox-listener:{d.settings.db_schema}"[:63]
    pids = "SELECT pid FROM pg_stat_activity WHERE application_name = $1"
    (old,) = await d.fetch(pids, name)
    await d.fetch("SELECT pg_terminate_backend($1)", old["pid"])

    async def listening_again() -> bool:
        # a new connection whose last statement, finished, is the LISTEN
        rows = await d.fetch(pids + " AND state = 'idle' AND query LIKE 'LISTEN %'", name)
        return [r["pid"] for r in rows] not in ([], [old["pid"]])

    await wait_for(listening_again, 20, "the inbox to LISTEN on a new connection")
    await add_notification(d, "after-reconnect", "MA", "CUSTOMER_MANAGER", "BR1")
    assert (await next_event(stream))["id"] == "after-reconnect"
    stream.close()
