"""The managers' inbox in a real browser (Debian's chromium driven by Playwright; no browser is
downloaded): sign in through the form, see a new notification arrive without a reload,
acknowledge it, and meet a 404 for another branch's notification; a manager who reads Chinese
gets all of it in Chinese."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import ConsoleMessage, expect

from tests.e2e.browser import ARTIFACTS, chromium
from tests.harness.deployment import Deployment
from tests.integration.test_inbox_languages import Page, assert_reads_as
from tiering.directory.tokens import issue_token
from tiering.inbox.app import create_app

INSERT = """
INSERT INTO notifications (notification_id, customer_id, tier, team, manager_id, branch_id,
                           kind, priority, title, body, actions, source_event_id, created_at,
                           texts)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
"""
NOW = datetime.now(UTC)

#: what is in Alice's inbox before the browser opens it (and one of BR2's)
EXISTING = [
    # id, manager, branch, tier, kind, priority, title, body, actions, minutes ago, acked
    (
        "n-churn",
        "MA",
        "BR1",
        "POTENTIAL",
        "CHURN_RISK",
        "URGENT",
        "Balance halved within 30 days",
        "Customer Zhang ** (C****0417) fell from 182,000.00 to 76,500.00 CNY.",
        ["Call within 24 hours", "Ask about upcoming needs"],
        35,
        False,
    ),
    (
        "n-queue",
        None,
        "BR1",
        "POTENTIAL",
        "LARGE_DEPOSIT",
        "NORMAL",
        "Large deposit at the counter",
        "Customer Li * (C****2210) deposited 520,000.00 CNY.",
        ["Present the rate promotion"],
        80,
        False,
    ),
    (
        "n-near",
        "MA",
        "BR1",
        "POTENTIAL",
        "NEAR_UPGRADE",
        "LOW",
        "Close to Premium",
        "Customer Chen ** (C****7781) is at 96 % of the Premium bound.",
        ["Suggest consolidating accounts"],
        300,
        True,
    ),
    (
        "n-br2",
        "MC",
        "BR2",
        "PREMIUM",
        "TIER_UPGRADE",
        "HIGH",
        "Secret of branch two",
        "Customer Zhou ** (C****5555) moved up to Premium.",
        ["Arrange a review"],
        10,
        False,
    ),
]


async def insert(d: Deployment, row: tuple[Any, ...], texts: dict[str, Any] | None = None) -> None:
    nid, manager, branch, tier, kind, priority, title, body, actions, minutes, _ = row
    await d.fetch(
        INSERT,
        nid,
        f"C-2026{minutes:04d}",
        tier,
        "CUSTOMER_MANAGER",
        manager,
        branch,
        kind,
        priority,
        title,
        body,
        actions,
        f"src-{nid}",
        NOW - timedelta(minutes=minutes),
        json.dumps(texts or {}),
    )


def chinese(title: str, body: str, action: str) -> dict[str, Any]:
    """A notification's texts: the words given in Simplified, and others in the rest."""
    en = {"title": "In English", "body": "English body", "actions": ["English action"]}
    hant = {"title": "繁體標題", "body": "繁體內容", "actions": ["繁體建議"]}
    return {
        "zh_Hans_CN": {"title": title, "body": body, "actions": [action]},
        "zh_Hant": hant,
        "en": en,
    }


#: what is in Wang Li's inbox (branch BR3; she reads Simplified Chinese, says the directory)
WANG_LI = [
    (
        ("z-up", "MW", "BR3", "POTENTIAL", "TIER_UPGRADE", "HIGH", "Up", "", [], 20, False),
        chinese("客户 ••••0020 升级为潜力客户", "总存款 ¥61,200.00。", "三天内致电客户"),
    ),
    (
        ("z-churn", None, "BR3", "PREMIUM", "CHURN_RISK", "URGENT", "Churn", "", [], 40, False),
        chinese("客户 ••••0040 资金流失风险", "30 天内余额减少一半。", "尽快与客户面谈"),
    ),
]


@pytest.fixture
async def inbox(deployment: Any) -> AsyncIterator[tuple[Deployment, str, str]]:
    """A deployment with Alice (BR1), Carol (BR2) and Wang Li (BR3, who reads Simplified
    Chinese), the inbox served in this process on a free loopback port, and the sign-in tokens
    of Alice and Wang Li."""
    d = await deployment("browser")
    for manager_id, name, branch, language in (
        ("MA", "Alice Wang", "BR1", None),
        ("MC", "Carol Zhou", "BR2", None),
        ("MW", "王丽", "BR3", "zh_Hans_CN"),
    ):
        await d.fetch(
            "INSERT INTO managers (manager_id, name, team, branch_id, language)"
            " VALUES ($1, $2, 'CUSTOMER_MANAGER', $3, $4)",
            *(manager_id, name, branch, language),
        )
    for row in EXISTING:
        await insert(d, row)
    for row, texts in WANG_LI:
        await insert(d, row, texts)
    await d.fetch(
        "UPDATE notifications SET acknowledged_at = now(), acknowledged_by = 'MA'"
        " WHERE notification_id = 'n-near'"
    )
    tokens = {m: await issue_token(d.settings, m) for m in ("MA", "MW")}
    runner = web.AppRunner(create_app(d.settings))
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        yield d, f"http://127.0.0.1:{port}", tokens
    finally:
        await runner.cleanup()


async def test_sign_in_live_arrival_acknowledge_and_404(inbox: Any) -> None:
    d, base, tokens = inbox
    token = tokens["MA"]
    problems: list[str] = []
    async with chromium() as browser:
        # an English browser; Alice has no language in the directory: English pages
        page = await browser.new_page(viewport={"width": 1280, "height": 760}, locale="en-US")

        def on_console(message: ConsoleMessage) -> None:
            # a Content-Security-Policy violation or a script error shows here; the
            # wrong token's 401 and the 404 below are expected
            if message.type == "error" and "Failed to load resource" not in message.text:
                problems.append(message.text)

        page.on("console", on_console)
        page.on("pageerror", lambda error: problems.append(str(error)))

        # not signed in: the inbox sends to the sign-in form
        await page.goto(f"{base}/notifications")
        await expect(page).to_have_url(f"{base}/signin")
        await page.get_by_label("Sign-in token").fill("a wrong token")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("alert")).to_have_text("Sign-in failed.")
        await page.get_by_label("Sign-in token").fill(token)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page).to_have_url(f"{base}/notifications")
        await expect(page.locator(".who")).to_contain_text("Alice Wang")
        rows = page.locator("#notifications tr")
        await expect(rows).to_have_count(3)  # not branch 2's
        await expect(page.locator("#new-count")).to_have_text("2 new")

        # the event stream is open; then a new notification arrives, without a reload
        await expect(page.locator("body")).to_have_attribute("data-live", "on")
        await page.evaluate("window.inboxMarker = 'same page'")  # gone if the page reloads
        await insert(
            d,
            (
                "n-live",
                "MA",
                "BR1",
                "PREMIUM",
                "TIER_UPGRADE",
                "HIGH",
                "Moved up to Premium",
                "Customer Wang ** (C****3306) reached 512,400.00 CNY.",
                ["Introduce the wealth team", "Book a face-to-face review"],
                0,
                False,
            ),
        )
        live_row = page.locator('tr[data-id="n-live"]')
        await expect(live_row).to_be_visible()
        await expect(rows.first).to_have_attribute("data-id", "n-live")
        await expect(rows).to_have_count(4)
        await expect(page.locator("#new-count")).to_have_text("3 new")
        assert await page.evaluate("window.inboxMarker") == "same page"  # no reload
        await page.screenshot(path=str(ARTIFACTS / "inbox.png"), full_page=True)

        # acknowledge it with its button
        await live_row.get_by_role("button", name="Acknowledge").click()
        await expect(page.locator('tr[data-id="n-live"] .state')).to_have_text("Acknowledged")
        await expect(page.locator("#new-count")).to_have_text("2 new")
        (row,) = await d.fetch(
            "SELECT acknowledged_at, acknowledged_by FROM notifications"
            " WHERE notification_id = 'n-live'"
        )
        assert row["acknowledged_at"] is not None
        assert row["acknowledged_by"] == "MA"

        # another branch's notification, by its URL: the same 404 as a missing one
        response = await page.goto(f"{base}/notifications/n-br2")
        assert response is not None
        assert response.status == 404
        await expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        assert "Secret of branch two" not in await page.content()
    assert problems == []


async def test_a_manager_who_reads_chinese_gets_the_page_in_chinese(inbox: Any) -> None:
    d, base, tokens = inbox
    problems: list[str] = []
    async with chromium() as browser:
        # the browser asks for English; the directory says she reads Simplified Chinese
        page = await browser.new_page(viewport={"width": 1280, "height": 760}, locale="en-US")
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on(
            "console",
            lambda m: problems.append(m.text) if m.type == "error" else None,
        )

        # before she signs in, nothing says who she is: the browser's language
        await page.goto(f"{base}/signin")
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await page.get_by_label("Sign-in token").fill(tokens["MW"])
        await page.get_by_role("button", name="Sign in").click()

        await expect(page).to_have_url(f"{base}/notifications")
        await expect(page.locator("html")).to_have_attribute("lang", "zh-Hans-CN")
        await expect(page).to_have_title("通知 · 客户经理收件箱")
        await expect(page.get_by_role("heading", name=re.compile("^通知"))).to_be_visible()
        await expect(page.locator("#new-count")).to_have_text("2 条待确认")
        await expect(page.locator(".who")).to_contain_text("王丽")
        await expect(page.locator("body")).to_have_attribute("data-live", "on")
        live = page.locator("#live")
        await expect(live).to_have_text("实时更新中：新通知将显示在最上方。")
        rows = page.locator("#notifications tr")
        await expect(rows.first).to_contain_text("客户 ••••0020 升级为潜力客户")
        await expect(rows.first).to_contain_text("潜力客户")  # the tier, from the terms
        await expect(rows.nth(1)).to_contain_text("紧急")  # the priority

        # a new one arrives, rendered for this connection in her language
        row = ("z-live", "MW", "BR3", "PREMIUM", "TIER_UPGRADE", "HIGH", "Up", "", [], 0, 0)
        title = "客户 ••••0000 升级为优质客户"
        await insert(d, row, chinese(title, "总存款 ¥512,400.00。", "介绍财富团队"))
        live_row = page.locator('tr[data-id="z-live"]')
        await expect(live_row).to_contain_text(title)
        await expect(page.locator("#new-count")).to_have_text("3 条待确认")
        await expect(live).to_have_text(f"新通知：{title}")
        # everything rendered, the script's words included, is Chinese (masked customer
        # ids, her name, her id and her branch's apart)
        assert_reads_as(Page(await page.content()), "zh_Hans_CN", ("王丽", "BR3", "MW"))
        await page.screenshot(path=str(ARTIFACTS / "inbox-zh.png"), full_page=True)

        await live_row.get_by_role("button", name="确认").click()
        await expect(page.locator('tr[data-id="z-live"] .state')).to_have_text("已确认")
        await page.get_by_role("link", name=title).click()
        await expect(page.get_by_role("heading", name="建议措施")).to_be_visible()
        await expect(page.locator(".detail")).to_contain_text("介绍财富团队")
        # the detail page shows her, of the team responsible, the customer's whole id
        await expect(page.locator(".customer-id")).to_have_text("C-20260000")
        whole_id = ("王丽", "BR3", "MW", "C-20260000")
        assert_reads_as(Page(await page.content()), "zh_Hans_CN", whole_id)
    assert problems == []
