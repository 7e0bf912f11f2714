"""Notifications reach each reader in their language, on the real Kafka and PostgreSQL: a WeCom
robot on loopback gets a card in Simplified Chinese for one webhook and in English for another;
the notifications table keeps every language; a record written with the first schema version
(no texts) is still delivered; the assigned manager's e-mail is in the manager's language."""

from __future__ import annotations

import dataclasses
import io
import json
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiohttp import web
from fastavro import parse_schema, schemaless_writer

from tests.harness.waiting import wait_for
from tests.integration.delivery_harness import (
    caught_up,
    configured,
    delivering,
    encoded,
    mail_server,
    notification,
    produce,
    serving,
)
from tiering.core.policy_file import load_policy
from tiering.core.signals import Signal
from tiering.core.tiers import Tier
from tiering.notify.notification import Notification
from tiering.notify.records import notification_record
from tiering.notify.rules import decide
from tiering.notify.state import NotifierState
from tiering.wire.codec import MAGIC, MANAGER_NOTIFICATION, schema_fingerprint, schema_history

T0 = 1_764_000_000_000


def upgrade(customer_id: str, manager_id: str | None = None) -> Notification:
    """What the notifier sends when ``customer_id`` reaches PREMIUM (all its texts)."""
    signal = Signal(
        signal_id=f"chg-{customer_id}",
        kind="TIER_CHANGE",
        customer_id=customer_id,
        tier=Tier.PREMIUM,
        event_time_ms=T0,
        balance_fen=600_000_00,
        branch_id="BR001",
        previous_tier=Tier.POTENTIAL,
        direction="UPGRADE",
    )
    n = decide(signal, NotifierState(), load_policy(), None).notification
    assert n is not None
    return dataclasses.replace(n, manager_id=manager_id)


def as_version_1(record: dict[str, Any]) -> tuple[bytes, bytes]:
    """A notification as a producer of the first schema version writes it: no texts."""
    v1 = schema_history(MANAGER_NOTIFICATION)[0]  # the oldest first
    buf = io.BytesIO()
    schemaless_writer(buf, parse_schema(v1), {k: v for k, v in record.items() if k != "texts"})
    return record["customer_id"].encode(), MAGIC + schema_fingerprint(v1) + buf.getvalue()


class Robot:
    """A WeCom group robot: keeps each card by the ``desk`` its URL names."""

    def __init__(self) -> None:
        self.cards: dict[str, list[str]] = {}

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        desk = request.query.get("desk", "?")
        self.cards.setdefault(desk, []).append(body["markdown"]["content"])
        return web.json_response({"errcode": 0, "errmsg": "ok"})


async def test_each_webhook_gets_the_card_in_its_language_and_the_inbox_keeps_all(
    deployment: Any, tmp_path: Path
) -> None:
    d = await deployment("dlvlang")
    robot = Robot()
    async with serving(robot.handle) as base:
        settings = configured(
            d,
            tmp_path,
            f"""
            [[webhook]]
            name = "wealth-cn"
            team = "WEALTH_TEAM"
            type = "wecom"
            url = "{base}/wecom?key=k&desk=cn"
            language = "zh_Hans_CN"

            [[webhook]]
            name = "wealth-en"
            team = "WEALTH_TEAM"
            type = "wecom"
            url = "{base}/wecom?key=k&desk=en"
            language = "en"
            """,
        )
        new = notification_record(upgrade("CUST00123456"))
        old = notification("OLD1")  # a plain record, written with schema version 1
        async with delivering(settings) as service:
            await produce(settings, [encoded(new), as_version_1(old)])

            async def delivered() -> list[Any]:
                assert service.running, "the delivery consumer died"
                rows = await d.fetch(
                    "SELECT notification_id FROM notification_channels WHERE status = 'delivered'"
                )
                return rows if len(rows) == 4 else []

            await wait_for(delivered, 60, "both notifications on both webhooks")
            await wait_for(lambda: caught_up(settings), 60, "the batch committed")
            rows = await d.fetch("SELECT notification_id, texts FROM notifications")

    cn = next(c for c in robot.cards["cn"] if "****3456" in c)
    assert cn.startswith("**升级至优质客户：客户 ****3456**")
    assert "> 层级：优质客户 · 类型：层级提升 · 团队：财富团队 · 网点：BR001" in cn
    assert "存款总额 ¥600,000.00" in cn
    assert "**建议措施**\n- 配备专属客户经理" in cn
    en = next(c for c in robot.cards["en"] if "****3456" in c)
    assert en.startswith("**Upgrade to Premium customer: customer ****3456**")
    assert "**Recommended actions**\n- Assign a dedicated customer manager" in en
    assert all("CUST00123456" not in c for cards in robot.cards.values() for c in cards)
    # the record without texts: its own title, the labels in the webhook's language
    assert any(
        c.startswith("**Upgrade OLD1**") and "层级：优质客户" in c for c in robot.cards["cn"]
    )

    texts = {r["notification_id"]: json.loads(r["texts"]) for r in rows}
    assert texts["OLD1"] == {}
    stored = texts[new["notification_id"]]
    assert set(stored) == {"zh_Hans_CN", "zh_Hant", "en"}
    assert stored["zh_Hans_CN"]["title"] == "升级至优质客户：客户 ****3456"
    assert stored["zh_Hant"]["title"] == "升級至優質客戶：客戶 ****3456"
    assert stored["en"]["actions"][0] == "Assign a dedicated customer manager"


async def test_the_assigned_manager_reads_their_email_in_their_own_language(
    deployment: Any, tmp_path: Path
) -> None:
    d = await deployment("dlvlangmail")
    await d.fetch(
        "INSERT INTO managers (manager_id, name, team, branch_id, email, language)"
        " VALUES ('M-W1', 'Wang', 'WEALTH_TEAM', 'BR001', 'wang@bank.example', 'en')"
    )
    with mail_server() as (mailbox, smtp_port):
        settings = configured(
            d,
            tmp_path,
            f"""
            [smtp]
            host = "127.0.0.1"
            port = {smtp_port}
            sender = "tiering@bank.example"
            language = "zh-TW"

            [smtp.to]
            WEALTH_TEAM = ["wealth-desk@bank.example"]
            """,
        )
        n = upgrade("CUST00123456", manager_id="M-W1")  # PREMIUM: HIGH, e-mailed
        async with delivering(settings) as service:
            await produce(settings, [encoded(notification_record(n))])

            async def mailed() -> list[Any]:
                assert service.running, "the delivery consumer died"
                rows = await d.fetch(
                    "SELECT channel FROM notification_channels WHERE status = 'delivered'"
                    " ORDER BY channel"
                )
                return rows if len(rows) == 2 else []

            channels = [r[0] for r in await wait_for(mailed, 60, "both e-mails")]

    assert channels == ["email", "email:manager"]
    by_recipient = {
        tuple(to): message_from_bytes(content, policy=policy.default)
        for to, content in mailbox.messages
    }
    desk = by_recipient[("wealth-desk@bank.example",)]
    assert desk["Subject"] == "【高】升級至優質客戶：客戶 ****3456"
    assert "建議措施：\n  - 配備專屬客戶經理" in desk.get_content().replace("\r\n", "\n")
    manager = by_recipient[("wang@bank.example",)]
    assert manager["Subject"] == "[High] Upgrade to Premium customer: customer ****3456"
    assert "Recommended actions:\n  - Assign a dedicated customer manager" in (
        manager.get_content().replace("\r\n", "\n")
    )
    assert desk["Message-ID"] != manager["Message-ID"]
