"""E-mail messages and their recipients."""

from __future__ import annotations

from email import message_from_bytes, policy

from tests.unit.delivery.test_routes import CHANNELS
from tests.unit.sinks.test_webhooks import notification
from tiering.sinks.channels.config import parse_channels
from tiering.sinks.channels.email import build_message, message_id, recipients


def test_recipients_team_then_manager_each_once() -> None:
    smtp = parse_channels(CHANNELS, {}).smtp
    assert smtp is not None
    n = notification()
    assert recipients(smtp, n, None) == ["wealth@bank.example", "desk@bank.example"]
    assert recipients(smtp, n, "desk@bank.example") == ["wealth@bank.example", "desk@bank.example"]
    assert recipients(smtp, n, "m7@bank.example")[-1] == "m7@bank.example"
    assert recipients(smtp, notification(team="BRANCH_SERVICE"), None) == []


def test_message() -> None:
    smtp = parse_channels(CHANNELS, {}).smtp
    assert smtp is not None
    n = notification(title="客户升级\r\nBcc: x@evil.example")
    to = ["a@bank.example", "b@bank.example"]
    msg = message_from_bytes(build_message(smtp, n, to, "en").as_bytes(), policy=policy.default)
    assert msg["Subject"] == "[High] 客户升级 Bcc: x@evil.example"  # one line: no header injection
    assert msg["Bcc"] is None
    assert msg["From"] == "tiering@bank.example"
    assert msg["To"] == "a@bank.example, b@bank.example"
    assert msg["Message-ID"] == message_id(n, "tiering@bank.example")
    assert msg["Message-ID"].startswith("<tiering.")
    assert msg["Message-ID"].endswith("@bank.example>")
    assert msg.get_content_type() == "text/plain"
    text = msg.get_content()
    assert "客户 张* (尾号 **34) 存款达到 600,000.00" in text
    assert "Recommended actions:\n  - 电话问候\n  - 推荐理财产品" in text
    assert "Priority: High\nTier: Premium customer\nKind: Tier upgrade\n" in text
    assert "Created: Nov 25, 2025, 12:00:00\u202fAM\n" in text  # China time


def test_message_id_is_derived_from_the_notification_id() -> None:
    a, b = notification(), notification(notification_id="other")
    assert message_id(a, "x@bank.example") == message_id(a, "x@bank.example")
    assert message_id(a, "x@bank.example") != message_id(b, "x@bank.example")
