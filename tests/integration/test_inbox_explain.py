"""The detail page's "Why this tier" (issue 18) on the real PostgreSQL: the manager responsible
for a notification reads the customer's current tier and balance, the policy version that
decided it, a pending downgrade's deadline and the last tier changes with what moved each; a
customer the ledger has no row for gets no section, and a manager who may not see the
notification still gets 404."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.harness.deployment import Deployment
from tests.integration.inbox_harness import english_inbox
from tests.integration.test_inbox import seed, sign_in
from tiering.i18n import format_time

AS_OF = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
DUE = AS_OF + timedelta(days=30)

BALANCE = """
INSERT INTO customer_balances (customer_id, balance, tier, version, as_of, branch_id, downgrade_due)
VALUES ($1, $2, $3, 3, $4, 'BR1', $5)
"""
CHANGE = """
INSERT INTO tier_changes (change_id, customer_id, previous_tier, new_tier, direction, balance,
                          trigger_event_id, event_time, decided_at, policy_version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)
"""


@pytest.fixture
async def inbox(deployment: Any) -> AsyncIterator[tuple[Deployment, dict[str, str], TestClient]]:
    d = await deployment("why")
    tokens = await seed(d)
    # n-own's customer: placed, moved up by a posting, revalued, now below the bound
    await d.fetch(BALANCE, "C-n-own", 45_000, "POTENTIAL", AS_OF, DUE)
    changes = [
        ("c1", None, "ORDINARY", "INITIAL", 100, "TX-OPEN", 3, "2026.1"),
        ("c2", "ORDINARY", "POTENTIAL", "UPGRADE", 60_000, "TX-SALARY-7", 2, "2026.2"),
        ("c3", "POTENTIAL", "PREMIUM", "UPGRADE", 500_100, "fx-rate:usd-1", 1, "2026.2"),
        (
            "c4",
            "PREMIUM",
            "POTENTIAL",
            "DOWNGRADE",
            450_000,
            "grace-expiry:C-n-own:X:1",
            0,
            "2026.3",
        ),
    ]
    for cid, previous, new, direction, yuan, trigger, days_ago, version in changes:
        at = AS_OF - timedelta(days=days_ago)
        await d.fetch(CHANGE, cid, "C-n-own", previous, new, direction, yuan, trigger, at, version)
    async with english_inbox(d) as client:
        yield d, tokens, client


async def test_the_manager_responsible_reads_why_the_customer_is_in_their_tier(
    inbox: Any,
) -> None:
    _d, tokens, client = inbox
    assert (await sign_in(client, tokens["MA"])).status == 303
    page = await client.get("/notifications/n-own")
    assert page.status == 200
    html = await page.text()
    assert "Why this tier" in html
    assert '<dd class="why-tier">Potential customer</dd>' in html
    assert '<dd class="why-policy">2026.3</dd>' in html
    assert "¥45,000.00" in html
    assert format_time(DUE, "en") in html
    # the changes newest first, each with what moved it
    grace = html.index("grace period ended")
    rate = html.index("A new exchange rate (usd-1)")
    salary = html.index("Posting TX-SALARY-7")
    assert grace < rate < salary
    assert "¥500,100.00" in html
    # in the reader's language (this browser asks for Traditional Chinese)
    zh = await client.get("/notifications/n-own", headers={"Accept-Language": "zh-TW"})
    text = await zh.text()
    assert "為何處於此層級" in text
    assert "記帳 TX-SALARY-7" in text
    assert format_time(DUE, "zh_Hant") in text


async def test_no_section_without_a_balance_row_and_none_for_others(inbox: Any) -> None:
    _d, tokens, client = inbox
    assert (await sign_in(client, tokens["MA"])).status == 303
    page = await client.get("/notifications/n-queue")  # a customer the ledger has no row for
    assert page.status == 200
    assert "Why this tier" not in await page.text()
    # the wealth team's notification is not Alice's: 404, nothing about the customer
    assert (await client.get("/notifications/n-wealth")).status == 404
