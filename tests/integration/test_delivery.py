"""Delivery on the real Kafka and PostgreSQL, to real HTTP robots and a real SMTP server on
loopback: retries, at most once per channel, e-mail by priority, the dead-letter path."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.harness.waiting import wait_for
from tests.integration.delivery_harness import (
    caught_up,
    configured,
    count,
    delivering,
    encoded,
    mail_server,
    notification,
    produce,
    serving,
)
from tiering.delivery.service import DeliveryService, run_delivery
from tiering.settings import Settings

WECOM_KEY = "wecom-key-0d6f1c"
DING_SECRET = "SECding-secret-77a2"
JSON_KEY = "json-hmac-key-5b1e"
SMTP_PASSWORD = "smtp-pass-9c3d"
SECRETS = (WECOM_KEY, DING_SECRET, JSON_KEY, SMTP_PASSWORD)


# --- a WeCom / DingTalk / JSON receiver --------------------------------------------------


@dataclass
class Robots:
    """Answers like the real robots; checks each request's shape and DingTalk signature."""

    #: a marker in the body -> how many requests carrying it fail with HTTP 500 first
    fail_first: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def on(self, path: str) -> list[dict[str, Any]]:
        return [body for p, body in self.requests if p == path]

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body = json.loads(raw)
        path = request.path
        self.requests.append((path, body))
        if path == "/wecom":
            if request.query.get("key") != WECOM_KEY:
                self.problems.append("wecom: wrong key")
            markdown = body.get("markdown", {})
            if body.get("msgtype") != "markdown" or not isinstance(markdown.get("content"), str):
                self.problems.append(f"wecom: bad shape {body}")
        elif path == "/dingtalk":
            ts = request.query.get("timestamp", "0")
            mac = hmac.new(DING_SECRET.encode(), f"{ts}\n{DING_SECRET}".encode(), hashlib.sha256)
            if request.query.get("sign") != base64.b64encode(mac.digest()).decode():
                self.problems.append("dingtalk: sign does not match")
                return web.json_response({"errcode": 310000, "errmsg": "sign not match"})
            if abs(int(ts) - time.time() * 1000) > 3_600_000:
                self.problems.append("dingtalk: timestamp more than an hour off")
            markdown = body.get("markdown", {})
            if body.get("msgtype") != "markdown" or set(markdown) != {"title", "text"}:
                self.problems.append(f"dingtalk: bad shape {body}")
        elif path == "/json":
            expected = hmac.new(JSON_KEY.encode(), raw, hashlib.sha256).hexdigest()
            if request.headers.get("X-Tiering-Signature") != f"sha256={expected}":
                self.problems.append("json: bad signature")
        elif path == "/down":
            return web.Response(status=500, text="down")
        for marker, left in self.fail_first.items():
            if left and marker in raw.decode():
                self.fail_first[marker] = left - 1
                return web.Response(status=500, text="try later")
        return web.json_response({"errcode": 0, "errmsg": "ok"})


@pytest.fixture
def secrets_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_WECOM_KEY", WECOM_KEY)
    monkeypatch.setenv("T_DING_SECRET", DING_SECRET)
    monkeypatch.setenv("T_JSON_KEY", JSON_KEY)
    monkeypatch.setenv("T_SMTP_PASSWORD", SMTP_PASSWORD)


@pytest.fixture
def delivery_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="tiering.delivery")
    return caplog


def assert_no_secret_in(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


# --- tests ---------------------------------------------------------------------------------


async def test_webhooks_retry_until_delivered_and_a_redelivery_sends_nothing(
    deployment: Any, tmp_path: Path, secrets_in_env: None, delivery_logs: Any
) -> None:
    d = await deployment("dlv")
    robots = Robots(fail_first={"Upgrade N1": 3})
    async with serving(robots.handle) as base:
        settings = configured(
            d,
            tmp_path,
            f"""
            [[webhook]]
            name = "wealth-wecom"
            team = "WEALTH_TEAM"
            type = "wecom"
            url = "{base}/wecom?key=${{T_WECOM_KEY}}"
            language = "en"

            [[webhook]]
            name = "desk-ding"
            team = "*"
            type = "dingtalk"
            url = "{base}/dingtalk?access_token=tok"
            secret = "${{T_DING_SECRET}}"
            min_priority = "HIGH"
            language = "en"
            """,
        )
        before = {k: count(*k) for k in [("wecom", "retried"), ("wecom", "delivered")]}
        n1 = notification("N1")  # WEALTH_TEAM, NORMAL: WeCom only, which fails 3 times
        n2 = notification("N2", team="PRIVATE_BANKING", priority="URGENT")  # DingTalk only
        async with delivering(settings) as service:
            await produce(settings, [encoded(n1), encoded(n2)])

            async def both_delivered() -> list[Any]:
                assert service.running, "the delivery consumer died"
                rows = await d.fetch(
                    "SELECT notification_id, channel, attempts FROM notification_channels"
                    " WHERE status = 'delivered' ORDER BY 1"
                )
                return rows if len(rows) == 2 else []

            rows = await wait_for(both_delivered, 60, "both notifications delivered")
            assert [tuple(r) for r in rows] == [
                ("N1", "webhook:wealth-wecom", 4),
                ("N2", "webhook:desk-ding", 1),
            ]
            channels = await d.fetch("SELECT count(*) FROM notification_channels")
            assert channels[0][0] == 2  # N1 is not HIGH enough for DingTalk, N2 not WEALTH
            assert len(robots.on("/wecom")) == 4
            assert len(robots.on("/dingtalk")) == 1
            assert robots.problems == []
            ding = robots.on("/dingtalk")[0]["markdown"]
            assert ding["title"] == "[Urgent] Upgrade N2"
            assert "- Call the customer\n- Offer a term deposit" in ding["text"]
            assert robots.on("/wecom")[-1]["markdown"]["content"].startswith("**Upgrade N1**")

            attempts = await d.fetch(
                "SELECT attempt, outcome, error FROM notification_deliveries"
                " WHERE notification_id = 'N1' AND channel = 'webhook:wealth-wecom'"
                " ORDER BY attempt"
            )
            assert [tuple(r) for r in attempts] == [
                (1, "retried", "HTTP 500"),
                (2, "retried", "HTTP 500"),
                (3, "retried", "HTTP 500"),
                (4, "delivered", None),
            ]
            assert count("wecom", "retried") - before["wecom", "retried"] == 3
            assert count("wecom", "delivered") - before["wecom", "delivered"] == 1

            inbox = await d.fetch(
                "SELECT notification_id, team, priority, actions, created_at, received_at"
                " FROM notifications ORDER BY 1"
            )
            assert [r["notification_id"] for r in inbox] == ["N1", "N2"]
            assert inbox[0]["actions"] == ["Call the customer", "Offer a term deposit"]
            assert int(inbox[0]["created_at"].timestamp() * 1000) == 1_764_000_000_123

            # The same notification again (a replay, a restart): nothing more goes out.
            await produce(settings, [encoded(n1)])
            await wait_for(lambda: caught_up(settings), 60, "the redelivery to be handled")
            assert len(robots.requests) == 5
            rows = await d.fetch("SELECT count(*) AS n FROM notification_deliveries")
            assert rows[0]["n"] == 5
    assert_no_secret_in(delivery_logs.text)
    assert "C-N1" not in delivery_logs.text  # no customer data in the logs


async def test_email_for_high_priority_to_the_team_and_the_manager(
    deployment: Any, tmp_path: Path, secrets_in_env: None, delivery_logs: Any
) -> None:
    d = await deployment("dlvmail")
    await d.fetch(
        "INSERT INTO managers (manager_id, name, team, branch_id, email)"
        " VALUES ('M7', 'Manager Seven', 'PRIVATE_BANKING', 'B001', 'm7@bank.example')"
    )
    with mail_server() as (mailbox, smtp_port):
        settings = configured(
            d,
            tmp_path,
            f"""
            [smtp]
            host = "127.0.0.1"
            port = {smtp_port}
            password = "${{T_SMTP_PASSWORD}}"
            sender = "tiering@bank.example"
            language = "en"

            [smtp.to]
            PRIVATE_BANKING = ["pb-desk@bank.example"]
            """,
        )
        high = notification("H1", team="PRIVATE_BANKING", priority="HIGH", manager_id="M7")
        normal = notification("L1", team="PRIVATE_BANKING", priority="NORMAL", manager_id="M7")
        async with delivering(settings) as service:
            await produce(settings, [encoded(normal), encoded(high)])

            async def mailed() -> list[Any]:
                assert service.running, "the delivery consumer died"
                return await d.fetch(
                    "SELECT notification_id FROM notification_channels"
                    " WHERE channel = 'email' AND status = 'delivered'"
                )

            assert [r[0] for r in await wait_for(mailed, 60, "the e-mail")] == ["H1"]
            await wait_for(lambda: caught_up(settings), 60, "both notifications handled")

    assert len(mailbox.messages) == 1  # the NORMAL one is in the inbox only
    to, content = mailbox.messages[0]
    assert to == ["pb-desk@bank.example", "m7@bank.example"]
    msg = message_from_bytes(content, policy=policy.default)
    assert msg["Subject"] == "[High] Upgrade H1"
    assert msg["Message-ID"].startswith("<tiering.")
    text = msg.get_content().replace("\r\n", "\n")  # CRLF on the wire
    assert "Recommended actions:\n  - Call the customer" in text
    inbox = await d.fetch("SELECT notification_id FROM notifications ORDER BY 1")
    assert [r[0] for r in inbox] == ["H1", "L1"]
    assert_no_secret_in(delivery_logs.text)


async def test_a_channel_that_always_fails_is_dead_lettered_and_bad_records_too(
    deployment: Any, tmp_path: Path, secrets_in_env: None, delivery_logs: Any
) -> None:
    d = await deployment("dlvdlq")
    robots = Robots()
    async with serving(robots.handle) as base:
        settings = configured(
            d,
            tmp_path,
            f"""
            [[webhook]]
            name = "signed-json"
            team = "*"
            type = "json"
            url = "{base}/json"
            secret = "${{T_JSON_KEY}}"

            [[webhook]]
            name = "always-down"
            team = "WEALTH_TEAM"
            type = "json"
            url = "{base}/down?token=${{T_WECOM_KEY}}"
            """,
            delivery_max_attempts=3,
        )
        failed_before = count("webhook", "failed")
        doomed = notification("F1")
        key, value = encoded(doomed)
        async with delivering(settings) as service:
            # Same key, so the same partition: F1 is read after the garbage.
            await produce(settings, [(key, b"not avro at all"), (key, value)])

            async def failed() -> list[Any]:
                assert service.running, "the delivery consumer died"
                return await d.fetch(
                    "SELECT attempts FROM notification_channels"
                    " WHERE channel = 'webhook:always-down' AND status = 'failed'"
                )

            assert [r[0] for r in await wait_for(failed, 60, "the channel to fail")] == [3]
            await wait_for(lambda: caught_up(settings), 60, "the batch to be committed")
            letters = await d.read_to_end("manager-notifications.dlq")
            attempts = await d.fetch(
                "SELECT attempt, outcome, error FROM notification_deliveries"
                " WHERE channel = 'webhook:always-down' ORDER BY attempt"
            )
            signed = await d.fetch(
                "SELECT status FROM notification_channels WHERE channel = 'webhook:signed-json'"
            )

    assert [tuple(r) for r in attempts] == [
        (1, "retried", "HTTP 500"),
        (2, "retried", "HTTP 500"),
        (3, "failed", "HTTP 500"),
    ]
    assert count("webhook", "failed") - failed_before == 1
    assert [r[0] for r in signed] == ["delivered"]
    assert robots.problems == []
    assert robots.on("/json")[0]["created_at"] == "2025-11-24T16:00:00.123+00:00"

    by_reason = {dict(r.headers)["dlq.reason"]: r for r in letters}
    assert len(letters) == 2
    assert set(by_reason) == {b"undecodable", b"delivery_failed"}
    bad = by_reason[b"undecodable"]
    assert bad.value == b"not avro at all"
    dead = by_reason[b"delivery_failed"]
    headers = dict(dead.headers)
    assert (dead.key, dead.value) == (key, value)
    assert headers["dlq.channel"] == b"webhook:always-down"
    assert headers["dlq.error"] == b"HTTP 500"
    assert headers["dlq.topic"] == settings.topic("manager-notifications").encode()
    for letter in letters:
        assert_no_secret_in(b"".join(v for _, v in letter.headers).decode())
    assert_no_secret_in(delivery_logs.text)


async def test_a_stop_between_retries_releases_the_channel_and_a_restart_finishes_it(
    deployment: Any, tmp_path: Path, secrets_in_env: None
) -> None:
    d = await deployment("dlvstop")
    robots = Robots(fail_first={"Upgrade S1": 1})
    async with serving(robots.handle) as base:
        toml = f"""
            [[webhook]]
            name = "wealth-wecom"
            team = "WEALTH_TEAM"
            type = "wecom"
            url = "{base}/wecom?key=${{T_WECOM_KEY}}"
            """
        # The first retry would wait about a minute: the stop comes before it.
        slow = configured(d, tmp_path, toml, delivery_backoff_seconds=60.0)
        service = DeliveryService(slow, stop_timeout=0.5)
        await service.start()
        try:
            await produce(slow, [encoded(notification("S1"))])

            async def first_attempt_failed() -> list[Any]:
                assert service.running, "the delivery consumer died"
                return await d.fetch("SELECT outcome FROM notification_deliveries")

            assert [r[0] for r in await wait_for(first_attempt_failed, 60, "attempt 1")] == [
                "retried"
            ]
        finally:
            await service.stop()
        assert await d.fetch("SELECT * FROM notification_channels") == []  # released
        assert not await caught_up(slow)  # and the batch not committed

        async with delivering(slow.model_copy(update={"delivery_backoff_seconds": 0.01})):
            await wait_for(lambda: caught_up(slow), 60, "the redelivery to be handled")
        attempts = await d.fetch(
            "SELECT attempt, outcome FROM notification_deliveries ORDER BY attempt"
        )
        assert [tuple(r) for r in attempts] == [(1, "retried"), (2, "delivered")]
        status = await d.fetch("SELECT status, attempts FROM notification_channels")
        assert [tuple(r) for r in status] == [("delivered", 2)]
        assert len(robots.on("/wecom")) == 2


async def test_run_delivery_runs_until_cancelled_and_commits_what_it_handled(
    deployment: Any,
) -> None:
    d = await deployment("dlvrun")
    settings: Settings = d.settings.model_copy(update={"channels_file": None})
    task = asyncio.create_task(run_delivery(settings))
    try:
        await produce(settings, [encoded(notification("R1"))])

        async def in_inbox() -> list[Any]:
            assert not task.done(), "run_delivery ended by itself"
            return await d.fetch("SELECT notification_id FROM notifications")

        await wait_for(in_inbox, 60, "the notification in the inbox")
        await wait_for(lambda: caught_up(settings), 60, "the offsets committed")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert await d.fetch("SELECT * FROM notification_channels") == []  # the inbox only
