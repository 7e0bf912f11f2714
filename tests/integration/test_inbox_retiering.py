"""A policy change in the inbox, on the real PostgreSQL (README "The policy lifecycle"): the
notifier's POLICY_CHANGE notices, stored as delivery stores them, reach every member of the
team at the branch (head office: the no-branch queue), and each notice's page counts the
re-tiering and lists its customers from ``tier_changes``, masked, a page at a time, only where
the reader looks after the tier; in Chinese too."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.harness.deployment import Deployment
from tests.integration.inbox_harness import english_inbox
from tests.integration.test_inbox import ack, add_notification, listed, next_event, signed_in
from tests.unit.ledger.test_policy_switch import RAISED, SWITCH
from tiering.core.bank_time import from_epoch_ms
from tiering.core.tiers import Tier
from tiering.delivery.service import INSERT_NOTIFICATION, notification_row
from tiering.directory.tokens import issue_token
from tiering.ledger.policy_switch import Moves, retiering_signals
from tiering.notify.notification import Notification
from tiering.notify.retiering import retiering_notice

MANAGERS = [
    # manager_id, name, team, branch, language, role
    ("MA", "Alice", "CUSTOMER_MANAGER", "BR1", None, "manager"),
    ("MB", "Bo", "CUSTOMER_MANAGER", "BR1", "zh_Hans_CN", "manager"),
    ("MC", "Carol", "CUSTOMER_MANAGER", "BR2", None, "manager"),
    ("MH", "Hana", "CUSTOMER_MANAGER", "HQ", None, "manager"),
    ("MW", "Wendy", "WEALTH_TEAM", "BR1", None, "manager"),
    ("S1", "Sun", "BRANCH_SERVICE", "BR1", None, "supervisor"),
]

#: per partition, what the switch did (customers: "P<partition>-<branch>-<from>-<to>-<n>")
MOVES: dict[int, Moves] = {
    0: {
        (Tier.POTENTIAL, Tier.ORDINARY, "BR1"): 40,
        (Tier.PREMIUM, Tier.POTENTIAL, "BR1"): 2,
        (Tier.PREMIUM, Tier.HIGH_END, "BR1"): 1,
        (Tier.POTENTIAL, Tier.ORDINARY, "BR2"): 2,
        (Tier.ORDINARY, Tier.POTENTIAL, None): 1,
    },
    1: {(Tier.POTENTIAL, Tier.ORDINARY, "BR1"): 15},
}
TRIGGER = "policy:2027.01-1"
AT = from_epoch_ms(SWITCH)

CHANGE = """
INSERT INTO tier_changes (change_id, customer_id, previous_tier, new_tier, direction, balance,
                          trigger_event_id, event_time, decided_at, policy_version)
VALUES ($1, $2, $3, $4, $5, 80000, $6, $7, $7, $8)
"""
BALANCE = """
INSERT INTO customer_balances (customer_id, balance, tier, version, as_of, branch_id)
VALUES ($1, 80000, $2, 1, $3, $4)
"""
#: as delivery writes a notification (tiering/delivery/service.py)


def customers(partition: int, moves: Moves) -> list[tuple[str, Tier, Tier, str | None]]:
    return [
        (f"P{partition}-{branch or 'NONE'}-{a.name}-{b.name}-{i:04d}", a, b, branch)
        for (a, b, branch), n in moves.items()
        for i in range(n)
    ]


def notices() -> list[Notification]:
    """The notifier's notices of the switch, from the ledger's grouped signals."""
    return [
        retiering_notice(signal)
        for partition, moves in MOVES.items()
        for signal in retiering_signals(RAISED, SWITCH, partition, moves)
    ]


async def store(d: Deployment, n: Notification) -> None:
    """As delivery writes it to the inbox."""
    await d.fetch(INSERT_NOTIFICATION, *notification_row(n))


def notice_of(tier: Tier, branch: str | None, partition: int = 0) -> str:
    """The id of the notice of ``tier``'s team at ``branch`` from ``partition``."""
    for signal in retiering_signals(RAISED, SWITCH, partition, MOVES[partition]):
        if (signal.tier, signal.branch_id) == (tier, branch):
            return retiering_notice(signal).notification_id
    raise AssertionError((tier, branch, partition))


@pytest.fixture
async def inbox(deployment: Any) -> AsyncIterator[tuple[Deployment, dict[str, str], TestClient]]:
    d = await deployment("retier")
    for row in MANAGERS:
        sql = (
            "INSERT INTO managers (manager_id, name, team, branch_id, language, role)"
            " VALUES ($1, $2, $3, $4, $5, $6)"
        )
        await d.fetch(sql, *row)
    for partition, moves in MOVES.items():
        for customer, a, b, branch in customers(partition, moves):
            direction = "UPGRADE" if b > a else "DOWNGRADE"
            await d.fetch(BALANCE, customer, b.name, AT, branch)
            await d.fetch(
                CHANGE,
                f"x-{customer}",
                customer,
                a.name,
                b.name,
                direction,
                TRIGGER,
                AT,
                "2027.01-1",
            )
    # what is no re-placement stays out: the same customer's earlier posting
    early = AT - timedelta(days=3)
    first = customers(0, MOVES[0])[0][0]
    await d.fetch(CHANGE, "x-early", first, "ORDINARY", "POTENTIAL", "UPGRADE", "T-1", early, "1")
    for n in notices():
        await store(d, n)
    # one BR1 customer has a notification of the team at BR1, another one only at BR2
    await add_notification(d, "n-p0-br1", None, "CUSTOMER_MANAGER", "BR1", created_at=early)
    await add_notification(d, "n-p1-br2", None, "CUSTOMER_MANAGER", "BR2", created_at=early)
    await d.fetch(
        "UPDATE notifications SET customer_id = $1 WHERE notification_id = 'n-p0-br1'",
        "P0-BR1-PREMIUM-POTENTIAL-0001",
    )
    await d.fetch(
        "UPDATE notifications SET customer_id = $1 WHERE notification_id = 'n-p1-br2'",
        "P1-BR1-POTENTIAL-ORDINARY-0003",
    )
    tokens = {m[0]: await issue_token(d.settings, m[0]) for m in MANAGERS}
    async with english_inbox(d) as client:
        yield d, tokens, client


def flat(html: str) -> str:
    return re.sub(r"\s+", " ", html)


async def page(browser: TestClient, path: str, status: int = 200) -> str:
    response = await browser.get(path)
    assert response.status == status, path
    return flat(await response.text())


@asynccontextmanager
async def browser(client: TestClient, token: str) -> AsyncIterator[TestClient]:
    """Another browser on the inbox, signed in with ``token``; closed on leaving."""
    other = await signed_in(client, token)
    try:
        yield other
    finally:
        await other.session.close()


async def test_every_member_of_the_team_at_the_branch_sees_the_notices(inbox: Any) -> None:
    _, tokens, client = inbox
    br1 = {notice_of(Tier.POTENTIAL, "BR1", 0), notice_of(Tier.POTENTIAL, "BR1", 1)}
    for manager, expected in {
        "MA": br1,
        "MB": br1,
        "MC": {notice_of(Tier.POTENTIAL, "BR2")},
        "MH": {notice_of(Tier.POTENTIAL, None)},  # the no-branch customers: head office's
        "MW": {notice_of(Tier.PREMIUM, "BR1")},
        "S1": {notice_of(Tier.ORDINARY, "BR1"), notice_of(Tier.ORDINARY, "BR1", 1)},
    }.items():
        async with browser(client, tokens[manager]) as someone:
            assert set(await listed(someone, "?kind=POLICY_CHANGE")) == expected, manager
    async with browser(client, tokens["MA"]) as alice:
        html = await page(alice, "/notifications")
        assert "Policy 2027.01-1 re-tiered customers of Potential customer" in html
        assert "<td>Policy change</td>" in html
        # the notice's own counts, of its branch and partition, and no customer named
        assert "40 customers moved out of Potential customer: 40 to Ordinary customer." in html
        assert "P0-" not in html
        # another branch's notice is a 404, like any notification not Alice's
        await page(alice, f"/notifications/{notice_of(Tier.POTENTIAL, 'BR2')}", 404)


async def test_the_notices_page_counts_the_change_where_the_reader_looks_after_the_tier(
    inbox: Any,
) -> None:
    _, tokens, client = inbox
    async with browser(client, tokens["MA"]) as alice:
        html = await page(alice, f"/notifications/{notice_of(Tier.POTENTIAL, 'BR1', 1)}")
        assert "Re-tiering under policy 2027.01-1" in html
        # both partitions' moves at BR1, the team's tier only (not PREMIUM → HIGH_END), no BR2
        assert (
            "<td>BR1</td> <td>Potential customer</td> <td>Ordinary customer</td>"
            ' <td class="num"></td> <td class="num">55</td>'
        ) in html
        assert (
            "<td>BR1</td> <td>Premium customer</td> <td>Potential customer</td>"
            ' <td class="num">2</td>'
        ) in html
        assert "High-end customer</td>" not in html
        assert "<td>BR2</td>" not in html
        assert (
            '<th scope="row" colspan="3">Total</th><td class="num">2</td><td class="num">55</td>'
            in html
        )
        # no customer line or risk tolerance for a notice about no one customer
        assert "Risk tolerance used" not in html
        assert "Shown to the team responsible" not in html
        # the customers, masked, 50 a page, by branch and id
        assert "Customers 1–50 of 57, by branch." in html
        shown = re.findall(r"••••(\d{4})", html)
        assert len(shown) == 50
        assert "P0-BR1" not in html
        assert "P1-BR1" not in html
        # a link to the customer's newest notification Alice may see; none to one at BR2
        assert '<a href="/notifications/n-p0-br1">••••0001</a>' in html
        assert "n-p1-br2" not in html
        rest = await page(
            alice, f"/notifications/{notice_of(Tier.POTENTIAL, 'BR1', 1)}?customers=2"
        )
        assert "Customers 51–57 of 57, by branch." in rest
        assert len(re.findall(r"••••\d{4}", rest)) == 7
        assert 'href="?customers=1" rel="prev"' in rest
        # a page past the end is the last
        assert "Customers 51–57 of 57" in await page(
            alice, f"/notifications/{notice_of(Tier.POTENTIAL, 'BR1', 1)}?customers=9"
        )


async def test_each_reader_gets_their_own_branches(inbox: Any) -> None:
    _, tokens, client = inbox
    async with browser(client, tokens["MC"]) as carol:
        html = await page(carol, f"/notifications/{notice_of(Tier.POTENTIAL, 'BR2')}")
        assert "<td>BR2</td> <td>Potential customer</td> <td>Ordinary customer</td>" in html
        assert "<td>BR1</td>" not in html
        assert "Customers 1–2 of 2, by branch." in html
    async with browser(client, tokens["MH"]) as hana:
        html = await page(hana, f"/notifications/{notice_of(Tier.POTENTIAL, None)}")
        assert "<td>No branch (head office)</td> <td>Ordinary customer</td>" in html
        assert (
            '<th scope="row" colspan="3">Total</th><td class="num">1</td><td class="num">0</td>'
            in html
        )
    # the wealth team's notice: the moves out of PREMIUM, to either tier
    async with browser(client, tokens["MW"]) as wendy:
        html = await page(wendy, f"/notifications/{notice_of(Tier.PREMIUM, 'BR1')}")
        assert "High-end customer</td>" in html
        assert (
            '<th scope="row" colspan="3">Total</th><td class="num">0</td><td class="num">3</td>'
            in html
        )


async def test_in_chinese(inbox: Any) -> None:
    _, tokens, client = inbox
    async with browser(client, tokens["MB"]) as bo:  # the directory says Bo reads Simplified
        html = await page(bo, "/notifications")
        assert "政策 2027.01-1 调整了潜力客户的客户分层" in html
        assert "政策调整" in html
        detail = await page(bo, f"/notifications/{notice_of(Tier.POTENTIAL, 'BR1')}")
        assert "政策 2027.01-1 下的层级调整" in detail
        assert "第 1–50 位客户，共 57 位，按网点排列。" in detail
        assert "40 位客户转出潜力客户：40 位转为普通客户。" in detail
    # Traditional, by the browser's choice
    async with browser(client, tokens["MA"]) as alice:
        response = await alice.get(
            f"/notifications/{notice_of(Tier.POTENTIAL, 'BR1')}",
            headers={"Accept-Language": "zh-TW"},
        )
        traditional = flat(await response.text())
        assert "政策 2027.01-1 下的層級調整" in traditional
        assert "轉出" in traditional


async def test_acknowledged_live_and_supervised_like_any_notice(inbox: Any) -> None:
    d, tokens, client = inbox
    async with browser(client, tokens["MA"]) as alice:
        stream = await alice.get("/events?kind=POLICY_CHANGE")
        assert stream.status == 200
        # a later version's notice arrives live, with its title
        later = retiering_signals(
            dataclasses.replace(RAISED, version="2027.02-1"),
            SWITCH + 86_400_000,
            0,
            {(Tier.POTENTIAL, Tier.ORDINARY, "BR1"): 1},
        )
        n = retiering_notice(next(s for s in later if s.tier == Tier.POTENTIAL))
        await store(d, n)
        event = await next_event(stream)
        assert event["id"] == n.notification_id
        assert event["title"] == "Policy 2027.02-1 re-tiered customers of Potential customer"
        stream.close()
        # read and acknowledged once, for the team
        nid = notice_of(Tier.POTENTIAL, "BR1")
        await page(alice, f"/notifications/{nid}")
        assert (await ack(alice, nid)).status == 303
        row = await d.fetch(
            "SELECT acknowledged_by FROM notifications WHERE notification_id = $1", nid
        )
        assert row[0]["acknowledged_by"] == "MA"
    # Alice's view is in the record, with no customer to mask
    async with browser(client, tokens["S1"]) as sun:
        views = await page(sun, "/views")
        assert "<td>Policy change</td>" in views
        assert "<td>—</td>" in views
