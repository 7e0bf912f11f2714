"""E-mail messages, recipients, and which channels a notification goes out on."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from sinks.delivery.config import parse_channels
from sinks.delivery.email import build_message, message_id, recipients
from sinks.delivery.notification import PRIORITIES, priority_at_least
from sinks.delivery.service import DeliveryService, backoff_seconds
from streams.settings import Settings
from tests.unit.test_delivery_webhooks import notification

CHANNELS = """
[[webhook]]
name = "wealth"
team = "WEALTH_TEAM"
type = "wecom"
url = "https://w/?key=k"

[[webhook]]
name = "everyone-urgent"
team = "*"
type = "dingtalk"
url = "https://d/?access_token=t"
min_priority = "URGENT"

[[webhook]]
name = "audit"
team = "*"
type = "json"
url = "https://a/"
min_priority = "NORMAL"

[smtp]
host = "127.0.0.1"
sender = "tiering@bank.example"

[smtp.to]
WEALTH_TEAM = ["wealth@bank.example", "desk@bank.example"]
"""


def test_priority_order() -> None:
    assert PRIORITIES == ("LOW", "NORMAL", "HIGH", "URGENT")
    assert priority_at_least("HIGH", "HIGH")
    assert priority_at_least("URGENT", "NORMAL")
    assert not priority_at_least("NORMAL", "HIGH")


@pytest.mark.parametrize(
    ("team", "priority", "channels"),
    [
        ("WEALTH_TEAM", "LOW", ["webhook:wealth"]),
        ("WEALTH_TEAM", "NORMAL", ["webhook:wealth", "webhook:audit"]),
        ("WEALTH_TEAM", "HIGH", ["webhook:wealth", "webhook:audit", "email"]),
        (
            "WEALTH_TEAM",
            "URGENT",
            ["webhook:wealth", "webhook:everyone-urgent", "webhook:audit", "email"],
        ),
        ("PRIVATE_BANKING", "LOW", []),
        # no team address and no manager: no e-mail
        ("PRIVATE_BANKING", "URGENT", ["webhook:everyone-urgent", "webhook:audit"]),
    ],
)
def test_routes_by_team_and_priority(team: str, priority: str, channels: list[str]) -> None:
    service = DeliveryService(Settings(), parse_channels(CHANNELS, {}))
    n = notification(team=team, priority=priority)
    assert [r.channel for r in service.routes(n)] == channels


def test_metric_labels_are_the_closed_set() -> None:
    service = DeliveryService(Settings(), parse_channels(CHANNELS, {}))
    routes = service.routes(notification(priority="URGENT"), "m7@bank.example")
    assert [r.label for r in routes] == ["wecom", "dingtalk", "webhook", "email"]


def test_the_assigned_manager_gets_the_mail_even_without_team_addresses() -> None:
    service = DeliveryService(Settings(), parse_channels(CHANNELS, {}))
    n = notification(team="PRIVATE_BANKING", priority="HIGH")
    assert [r.channel for r in service.routes(n, "m7@bank.example")][-1] == "email"


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
    msg = message_from_bytes(build_message(smtp, n, to).as_bytes(), policy=policy.default)
    assert msg["Subject"] == "[HIGH] 客户升级 Bcc: x@evil.example"  # one line: no header injection
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


def test_message_id_is_derived_from_the_notification_id() -> None:
    a, b = notification(), notification(notification_id="other")
    assert message_id(a, "x@bank.example") == message_id(a, "x@bank.example")
    assert message_id(a, "x@bank.example") != message_id(b, "x@bank.example")


def test_backoff_doubles_with_jitter() -> None:
    for retry, nominal in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0)):
        for _ in range(50):
            assert 0.5 * nominal <= backoff_seconds(1.0, retry) <= 1.5 * nominal
    assert backoff_seconds(600, 40) <= 450
