"""Who looked (issue 17, §9) on the real PostgreSQL: the detail page shows the full customer id
to the team responsible (everyone who passes VISIBLE) and records each view; lists, live rows,
URLs and the access log keep it masked or leave it out; a supervisor reads the views of their
branch's notifications (head office: all) in their language, anyone else gets 404 there."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.harness.deployment import Deployment
from tests.integration.test_inbox import (
    ack,
    add_notification,
    csrf_of,
    listed,
    next_event,
    seed,
    sign_in,
    signed_in,
)
from tiering.directory.managers import import_directory
from tiering.directory.tokens import issue_token
from tiering.i18n import CHINA_TIME, format_time
from tiering.inbox import supervision
from tiering.inbox.app import create_app
from tiering.inbox.frame import AccessLogger

#: the supervisors, as the directory file names them (the role column); S1 reads Traditional
SUPERVISORS = (
    "manager_id,name,team,branch_id,email,customer_id,language,role\n"
    "S1,Qian Hui,BRANCH_SERVICE,BR1,,,zh-TW,supervisor\n"
    "S2,Sun Li,BRANCH_SERVICE,BR2,,,en,supervisor\n"
    "SH,Zhou Ming,BRANCH_SERVICE,HQ,,,en,supervisor\n"
)
VIEWS = "SELECT notification_id, manager_id, language FROM notification_views ORDER BY view_id"


@pytest.fixture
async def inbox(
    deployment: Any, tmp_path: Path
) -> AsyncIterator[tuple[Deployment, dict[str, str], TestClient]]:
    d = await deployment("views")
    tokens = await seed(d)
    directory = tmp_path / "supervisors.csv"
    directory.write_text(SUPERVISORS)
    result = await import_directory(d.settings, directory)
    assert (result.managers, result.rejected) == (3, [])
    for supervisor in ("S1", "S2", "SH"):
        tokens[supervisor] = await issue_token(d.settings, supervisor)
    english = d.settings.model_copy(update={"language": "en"})
    server = TestServer(create_app(english, keepalive=0.3), host="127.0.0.1")
    # with the inbox's own access log, as `tiering inbox` serves it
    await server.start_server(access_log_class=AccessLogger)
    client = TestClient(server)
    await client.start_server()
    try:
        yield d, tokens, client
    finally:
        await client.close()


async def test_the_team_responsible_sees_the_full_id_and_nothing_else_does(
    inbox: Any, caplog: Any
) -> None:
    d, tokens, client = inbox
    caplog.set_level(logging.DEBUG)
    assert (await sign_in(client, tokens["MA"])).status == 303
    stream = await client.get("/events")
    # her own customer, her team's queue at her branch, a colleague's: she is responsible
    for nid in ("n-own", "n-queue", "n-colleague"):
        page = await client.get(f"/notifications/{nid}")
        assert page.status == 200, nid
        html = await page.text()
        assert f'<span class="customer-id">C-{nid}</span>' in html
        # not in the page's title, nor in any address on it
        title = re.search(r"<title>(.*?)</title>", html, re.S)
        assert title
        assert f"C-{nid}" not in title.group(1)
        for url in re.findall(r'(?:href|action|value)="([^"]*)"', html):
            assert f"C-{nid}" not in url, url
    # the list masks it (and so do the titles and bodies the worker wrote)
    assert "n-own" in await listed(client)
    assert "C-n-" not in await (await client.get("/notifications")).text()
    # a live row carries no customer id either
    await add_notification(d, "live-own", "MA", "CUSTOMER_MANAGER", "BR1")
    event = await next_event(stream)
    assert event["id"] == "live-own"
    assert "C-live-own" not in str(event)
    stream.close()
    assert (await ack(client, "n-own")).status == 303
    # the access log names routes; no log line names a customer or a notification
    assert "GET /notifications/{notification_id} 200" in caplog.text
    for secret in ("C-n-own", "C-n-queue", "C-live-own", "n-colleague"):
        assert secret not in caplog.text


async def test_each_detail_view_is_recorded_once_and_a_404_records_nothing(inbox: Any) -> None:
    d, tokens, client = inbox
    assert (await sign_in(client, tokens["MA"])).status == 303
    before = datetime.now(UTC)
    assert (await client.get("/notifications/n-own")).status == 200
    assert (await client.get("/notifications/n-own")).status == 200
    # absent, another branch's, another team's: the same 404, and nothing recorded
    for nid in ("no-such-id", "n-br2", "n-wealth"):
        assert (await client.get(f"/notifications/{nid}")).status == 404, nid
    # the list and acknowledging are not views of the detail page
    await listed(client)
    page = await client.get("/notifications")
    acked = await client.post(
        "/notifications/n-queue/ack",
        data={"csrf": csrf_of(await page.text()), "next": "/notifications"},
        allow_redirects=False,
    )
    assert acked.status == 303
    bob = await signed_in(client, tokens["MB"])
    try:
        assert (await bob.get("/notifications/n-queue")).status == 200
    finally:
        await bob.session.close()
    rows = await d.fetch(VIEWS)
    assert [tuple(r) for r in rows] == [
        ("n-own", "MA", "en"),
        ("n-own", "MA", "en"),
        ("n-queue", "MB", "en"),
    ]
    (when,) = await d.fetch("SELECT min(viewed_at) AS t FROM notification_views")
    assert before - timedelta(seconds=5) <= when["t"] <= datetime.now(UTC)


async def test_a_view_that_cannot_be_recorded_does_not_show_the_id(inbox: Any, caplog: Any) -> None:
    d, tokens, client = inbox
    caplog.set_level(logging.DEBUG)
    # the record refuses every insert, as a full disk or a broken constraint would
    await d.fetch(
        "CREATE FUNCTION refuse_views() RETURNS trigger AS $$"
        " BEGIN RAISE EXCEPTION 'refused for %', NEW.manager_id; END $$ LANGUAGE plpgsql"
    )
    await d.fetch(
        "CREATE TRIGGER refuse BEFORE INSERT ON notification_views"
        " FOR EACH ROW EXECUTE FUNCTION refuse_views()"
    )
    assert (await sign_in(client, tokens["MA"])).status == 303
    page = await client.get("/notifications/n-own")
    assert page.status == 200  # the page still helps, masked
    html = await page.text()
    assert "C-n-own" not in html
    assert "••••-own" in html
    assert "This view could not be recorded, so the full customer id is not shown." in html
    assert await d.fetch(VIEWS) == []
    assert "a view was not recorded (RaiseError)" in caplog.text
    assert "C-n-own" not in caplog.text


async def test_a_supervisor_reads_their_branchs_views_in_their_language(
    inbox: Any, monkeypatch: Any
) -> None:
    d, tokens, client = inbox
    assert (await sign_in(client, tokens["MA"])).status == 303
    for nid in ("n-own", "n-own-at-br2"):  # her customers at BR1 and at BR2
        assert (await client.get(f"/notifications/{nid}")).status == 200
    carol = await signed_in(client, tokens["MC"])
    try:
        assert (await carol.get("/notifications/n-br2")).status == 200
    finally:
        await carol.session.close()
    # a manager: no such page, and no link to it
    assert "/views" not in await (await client.get("/notifications")).text()
    assert (await client.get("/views")).status == 404
    recorded = len(await d.fetch(VIEWS))

    async def seen_by(supervisor: str, query: str = "") -> tuple[list[tuple[str, str]], str]:
        """(who looked, the masked customer) of each view on the page, and the page"""
        browser = await signed_in(client, tokens[supervisor])
        try:
            page = await browser.get(f"/views{query}")
            assert page.status == 200
            html = await page.text()
        finally:
            await browser.session.close()
        body = html.split('<tbody id="views">')[1].split("</tbody>")[0]
        row = r'<small class="muted">(\w+)</small>.*?<td>(••••[^<]*)</td>'
        return re.findall(row, body, re.S), html

    # BR1's supervisor, in Traditional Chinese: the one view of a BR1 notification
    customers, html = await seen_by("S1")
    assert customers == [("MA", "••••-own")]
    assert "查看紀錄" in html
    assert 'href="/views"' in html
    assert "Alice" in html
    assert "MA" in html
    assert "English" in html
    (row,) = await d.fetch(
        "SELECT viewed_at FROM notification_views WHERE notification_id = 'n-own'"
    )
    assert format_time(row["viewed_at"], "zh_Hant") in html
    assert "C-n-own" not in html
    # BR2's: the views of BR2's notifications, newest first; head office's: all of them
    carols, alices_br2, alices_br1 = ("MC", "••••-br2"), ("MA", "••••-br2"), ("MA", "••••-own")
    assert (await seen_by("S2"))[0] == [carols, alices_br2]
    assert (await seen_by("SH"))[0] == [carols, alices_br2, alices_br1]
    # filtered by manager and by China day
    assert (await seen_by("SH", "?manager=MC"))[0] == [carols]
    today = datetime.now(CHINA_TIME).date()
    assert len((await seen_by("SH", f"?day={today}"))[0]) == 3
    empty, html = await seen_by("SH", f"?day={today - timedelta(days=1)}")
    assert empty == []
    assert "No views match these filters." in html
    # a page at a time, older ones a link away
    monkeypatch.setattr(supervision, "VIEWS_LIMIT", 2)
    first, html = await seen_by("SH")
    assert first == [carols, alices_br2]
    older = re.search(r'<a href="(/views\?before=\d+)">Older views</a>', html)
    assert older, html
    assert (await seen_by("SH", older.group(1).removeprefix("/views")))[0] == [alices_br1]
    # reading the record is not a view; a supervisor's own reading follows VISIBLE
    assert len(await d.fetch(VIEWS)) == recorded
    s1 = await signed_in(client, tokens["S1"])
    try:
        assert (await s1.get("/notifications/n-own")).status == 404
    finally:
        await s1.session.close()


async def test_the_detail_page_says_which_risk_tolerance_the_products_were_kept_within(
    inbox: Any,
) -> None:
    """§9 audit trail, read by the manager: the level and its assessment day; an expired
    assessment (and its day) told apart from none at all."""
    d, tokens, client = inbox
    trail = "UPDATE notifications SET risk_level = $2, risk_assessed_on = $3, risk_expired_on = $4"
    await d.fetch(f"{trail} WHERE notification_id = $1", "n-own", 3, date(2025, 3, 1), None)
    await d.fetch(f"{trail} WHERE notification_id = $1", "n-queue", None, None, date(2024, 1, 2))
    assert (await sign_in(client, tokens["MA"])).status == 303
    said = {}
    for nid in ("n-own", "n-queue", "n-colleague"):
        page = await client.get(f"/notifications/{nid}")
        assert page.status == 200, nid
        found = re.search(r'<dd class="suitability">\s*(.*?)\s*</dd>', await page.text(), re.S)
        assert found, nid
        said[nid] = found.group(1)
    assert said == {
        "n-own": "Level 3 of 5, assessed on Mar 1, 2025: the products named are within it.",
        "n-queue": "Unknown: the assessment of Jan 2, 2024 had expired, so only the lowest-risk "
        "products are named. Ask the customer to be assessed again.",
        "n-colleague": "Unknown: no risk assessment was in force, so only the lowest-risk "
        "products are named.",
    }
