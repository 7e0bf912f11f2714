"""A customer manager who reads Chinese, the whole way on the real services: the directory says
so, a deposit moves her customer up, the WeCom robot of her team gets the card in Simplified
Chinese (the deployment's default language), and in a real browser that asks for English she
signs in and finds the same notification in Chinese, with the policy's actions in her script."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from playwright.async_api import expect

from tests.e2e.browser import chromium
from tests.harness.records import posting
from tests.harness.waiting import wait_for
from tests.integration.delivery_harness import serving
from tiering.directory.managers import import_directory
from tiering.directory.tokens import issue_token
from tiering.inbox.app import create_app

CUSTOMER = "CUST00004321"


async def test_her_wecom_card_and_her_inbox_are_in_chinese(deployment: Any, tmp_path: Path) -> None:
    d = await deployment("zhmanager")
    directory = tmp_path / "managers.csv"
    directory.write_text(
        "manager_id,name,team,branch_id,email,customer_id,language\n"
        f"M-W1,王丽,WEALTH_TEAM,BR001,,{CUSTOMER},zh-CN\n",
        encoding="utf-8",
    )
    loaded = await import_directory(d.settings, directory)
    assert (loaded.managers, loaded.rejected) == (1, [])
    token = await issue_token(d.settings, "M-W1")

    cards: list[str] = []

    async def robot(request: web.Request) -> web.Response:
        cards.append((await request.json())["markdown"]["content"])
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async with serving(robot) as robot_url:
        channels = tmp_path / "channels.toml"
        channels.write_text(
            f'[[webhook]]\nname = "wealth-desk"\nteam = "WEALTH_TEAM"\ntype = "wecom"\n'
            f'url = "{robot_url}/wecom?key=demo"\n',  # no language: the deployment's
            encoding="utf-8",
        )
        d.start_command(tmp_path, "worker", env={"TIERING_CHANNELS_FILE": str(channels)})
        await d.wait_healthy()
        now_ms = int(time.time() * 1000)
        await d.produce(
            [posting("zh-1", CUSTOMER, "600000.00", event_time_ms=now_ms, branch_id="BR001")]
        )

        async def both_cards() -> bool:
            return len(cards) >= 2

        # the deposit both moves her up and is a large one (§5): two cards
        await wait_for(both_cards, 120, "the wealth team's two WeCom cards")

    titles = sorted(card.splitlines()[0].strip("*") for card in cards)
    assert titles == ["升级至优质客户：客户 ****4321", "大额存入 ¥600,000.00：客户 ****4321"]
    (card,) = [c for c in cards if c.startswith("**升级")]
    assert "团队：财富团队" in card
    assert "¥600,000.00" in card
    assert "**建议措施**\n- 配备专属客户经理" in card
    assert CUSTOMER not in card

    runner = web.AppRunner(create_app(d.settings))
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        async with chromium() as browser:
            page = await browser.new_page(locale="en-US")
            await page.goto(f"{base}/signin")
            await page.get_by_label("Sign-in token").fill(token)
            await page.get_by_role("button", name="Sign in").click()
            await expect(page).to_have_url(f"{base}/notifications")
            # the directory's language wins over the browser's
            await expect(page.locator("html")).to_have_attribute("lang", "zh-Hans-CN")
            await expect(page.locator(".who")).to_contain_text("王丽")
            # the list names the tier and the kind; the detail has the whole notification
            row = page.locator("#notifications tr", has_text="层级提升")
            await expect(row).to_contain_text("优质客户")
            await expect(row).to_contain_text("层级提升")
            assert CUSTOMER not in await page.locator("#notifications").inner_text()
            await row.get_by_role("link").first.click()
            await expect(page.get_by_role("heading", name="建议措施")).to_be_visible()
            detail = page.locator(".detail")
            await expect(detail).to_contain_text(re.compile("升级至优质客户"))
            await expect(detail).to_contain_text("配备专属客户经理")
            await expect(detail).to_contain_text("¥600,000.00")
            # §9: she is responsible, so the detail names the customer in full (the card and
            # the list do not)
            text = await page.locator("main").inner_text()
            assert CUSTOMER in text
            words = re.sub(rf"{CUSTOMER}|[A-Z]{{2}}\d{{3}}|M-W1", "", text)
            english = re.findall(r"[A-Za-z]{3,}", words)
            assert english == [], english
    finally:
        await runner.cleanup()
