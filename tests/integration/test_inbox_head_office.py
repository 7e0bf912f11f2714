"""Head office in the inbox, on the real PostgreSQL (issue 17.4, POLICY §4, §9): head-office
private banking sees every branch's private-banking notifications; a notification without a
branch is in the head-office queue of its team; nobody else sees more than before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.harness.deployment import Deployment
from tests.integration.inbox_harness import english_inbox
from tests.integration.test_inbox import (
    ack,
    add_notification,
    listed,
    next_event,
    seed,
    signed_in,
)
from tiering.directory.tokens import issue_token
from tiering.inbox.app import create_app

MANAGERS = [
    # manager_id, name, team, branch
    ("P-HQ", "Hui", "PRIVATE_BANKING", "HQ"),
    ("P-1", "Pan", "PRIVATE_BANKING", "BR1"),
    ("P-2", "Qiu", "PRIVATE_BANKING", "BR2"),
    ("W-HQ", "Wei", "WEALTH_TEAM", "HQ"),
    ("W-1", "Wu", "WEALTH_TEAM", "BR1"),
]

#: notification id → (manager_id, team, branch_id, tier, kind, minutes after T0)
NOTIFICATIONS: dict[str, tuple[str | None, str, str | None, str, str, int]] = {
    "pb-br1": (None, "PRIVATE_BANKING", "BR1", "HIGH_END", "TIER_UPGRADE", 1),
    "pb-br2": ("P-2", "PRIVATE_BANKING", "BR2", "HIGH_END", "LARGE_DEPOSIT", 2),
    "pb-none": (None, "PRIVATE_BANKING", None, "HIGH_END", "TIER_UPGRADE", 3),
    "w-br1": (None, "WEALTH_TEAM", "BR1", "PREMIUM", "TIER_UPGRADE", 4),
    "w-none": (None, "WEALTH_TEAM", None, "PREMIUM", "TIER_UPGRADE", 5),
}
#: what each manager sees, newest first
SEES = {
    "P-HQ": ["pb-none", "pb-br2", "pb-br1"],  # every branch's, and the team's head-office queue
    "P-1": ["pb-br1"],
    "P-2": ["pb-br2"],
    "W-HQ": ["w-none"],  # the wealth team's head-office queue, not the branches' queues
    "W-1": ["w-br1"],
}


@pytest.fixture
async def inbox(deployment: Any) -> AsyncIterator[tuple[Deployment, dict[str, str], TestClient]]:
    d = await deployment("hq")
    tokens = await seed(d, MANAGERS, NOTIFICATIONS)
    assert d.settings.head_office_branch == "HQ"  # the default
    async with english_inbox(d) as client:
        yield d, tokens, client


async def test_each_manager_sees_their_share_and_no_more(inbox: Any) -> None:
    _, tokens, client = inbox
    for manager_id, expected in SEES.items():
        browser = await signed_in(client, tokens[manager_id])
        try:
            assert await listed(browser) == expected, manager_id
            for nid in NOTIFICATIONS:
                detail = await browser.get(f"/notifications/{nid}")
                assert detail.status == (200 if nid in expected else 404), (manager_id, nid)
            assert await listed(browser, "?tier=HIGH_END") == [
                n for n in expected if NOTIFICATIONS[n][3] == "HIGH_END"
            ]
        finally:
            await browser.session.close()


async def test_head_office_acknowledges_a_branchs_and_branches_still_cannot(inbox: Any) -> None:
    d, tokens, client = inbox
    query = "SELECT acknowledged_by FROM notifications WHERE notification_id = $1"
    branch = await signed_in(client, tokens["P-1"])
    try:
        for nid in ("pb-br2", "pb-none"):  # another branch's, and the head-office queue's
            assert (await ack(branch, nid)).status == 404, nid
            assert (await d.fetch(query, nid))[0]["acknowledged_by"] is None
    finally:
        await branch.session.close()
    head_office = await signed_in(client, tokens["P-HQ"])
    try:
        for nid in ("pb-br2", "pb-none"):
            assert (await ack(head_office, nid)).status == 303, nid
            assert (await d.fetch(query, nid))[0]["acknowledged_by"] == "P-HQ"
        assert (await ack(head_office, "w-none")).status == 404  # another team's queue
        assert await listed(head_office, "?status=new") == ["pb-br1"]
    finally:
        await head_office.session.close()


async def test_live_events_follow_the_same_rule(inbox: Any) -> None:
    d, tokens, client = inbox
    head_office = await signed_in(client, tokens["P-HQ"])
    branch = await signed_in(client, tokens["W-1"])
    try:
        hq_stream = await head_office.get("/events")
        branch_stream = await branch.get("/events")
        assert hq_stream.status == branch_stream.status == 200
        await add_notification(d, "live-w-none", None, "WEALTH_TEAM", None, "PREMIUM")
        await add_notification(d, "live-pb-br3", None, "PRIVATE_BANKING", "BR3", "HIGH_END")
        await add_notification(d, "live-pb-none", None, "PRIVATE_BANKING", None, "HIGH_END")
        await add_notification(d, "live-w-br1", None, "WEALTH_TEAM", "BR1", "PREMIUM")
        # in order of arrival: each stream skips what its manager may not see
        assert [(await next_event(hq_stream))["id"] for _ in range(2)] == [
            "live-pb-br3",
            "live-pb-none",
        ]
        assert (await next_event(branch_stream))["id"] == "live-w-br1"
        hq_stream.close()
        branch_stream.close()
    finally:
        await head_office.session.close()
        await branch.session.close()


async def test_the_head_office_is_the_configured_branch(deployment: Any) -> None:
    """With TIERING_HEAD_OFFICE_BRANCH naming another branch, HQ is an ordinary branch."""
    d = await deployment("hq2")
    await d.fetch(
        "INSERT INTO managers (manager_id, name, team, branch_id) VALUES"
        " ('P-HQ', 'Hui', 'PRIVATE_BANKING', 'HQ'), ('P-HO', 'Ho', 'PRIVATE_BANKING', 'HO-01')"
    )
    for nid, branch in (("pb-br1", "BR1"), ("pb-none", None), ("pb-hq", "HQ")):
        await add_notification(d, nid, None, "PRIVATE_BANKING", branch, "HIGH_END")
    settings = d.settings.model_copy(update={"language": "en", "head_office_branch": "HO-01"})
    client = TestClient(TestServer(create_app(settings), host="127.0.0.1"))
    await client.start_server()
    try:
        hq = await signed_in(client, await issue_token(d.settings, "P-HQ"))
        ho = await signed_in(client, await issue_token(d.settings, "P-HO"))
        assert await listed(hq) == ["pb-hq"]
        assert sorted(await listed(ho)) == ["pb-br1", "pb-hq", "pb-none"]
        await hq.session.close()
        await ho.session.close()
    finally:
        await client.close()
