"""The managers' inbox in a real browser (Debian's chromium driven by Playwright; no browser is
downloaded): sign in through the form, see a new notification arrive without a reload,
acknowledge it, and meet a 404 for another branch's notification."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import ConsoleMessage, async_playwright, expect

from tests.harness.deployment import ROOT, Deployment
from tiering.directory.tokens import issue_token
from tiering.inbox.app import create_app

ARTIFACTS = ROOT / "tests" / "e2e" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

INSERT = """
INSERT INTO notifications (notification_id, customer_id, tier, team, manager_id, branch_id,
                           kind, priority, title, body, actions, source_event_id, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
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


async def insert(d: Deployment, row: tuple[Any, ...], team: str = "CUSTOMER_MANAGER") -> None:
    nid, manager, branch, tier, kind, priority, title, body, actions, minutes, _ = row
    await d.fetch(
        INSERT,
        nid,
        f"C-{nid}",
        tier,
        team,
        manager,
        branch,
        kind,
        priority,
        title,
        body,
        actions,
        f"src-{nid}",
        NOW - timedelta(minutes=minutes),
    )


@pytest.fixture
async def inbox(deployment: Any) -> AsyncIterator[tuple[Deployment, str, str]]:
    """A deployment with Alice (BR1) and Carol (BR2), the inbox served in this process on a
    free loopback port, and Alice's sign-in token."""
    d = await deployment("browser")
    for manager_id, name, branch in (("MA", "Alice Wang", "BR1"), ("MC", "Carol Zhou", "BR2")):
        await d.fetch(
            "INSERT INTO managers (manager_id, name, team, branch_id)"
            " VALUES ($1, $2, 'CUSTOMER_MANAGER', $3)",
            manager_id,
            name,
            branch,
        )
    for row in EXISTING:
        await insert(d, row)
    await d.fetch(
        "UPDATE notifications SET acknowledged_at = now(), acknowledged_by = 'MA'"
        " WHERE notification_id = 'n-near'"
    )
    token = await issue_token(d.settings, "MA")
    runner = web.AppRunner(create_app(d.settings))
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        yield d, f"http://127.0.0.1:{port}", token
    finally:
        await runner.cleanup()


async def test_sign_in_live_arrival_acknowledge_and_404(inbox: Any) -> None:
    d, base, token = inbox
    expect.set_options(timeout=15_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 760})

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
        finally:
            await browser.close()
    assert problems == []
