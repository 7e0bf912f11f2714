"""Which channels a notification goes out on, the order of priorities, and the backoff between
attempts."""

from __future__ import annotations

import pytest

from tests.unit.sinks.test_webhooks import notification
from tiering.core.kinds import Priority
from tiering.delivery.attempts import backoff_seconds
from tiering.delivery.routes import Router
from tiering.sinks.channels.config import parse_channels

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
    assert [p.name for p in Priority] == ["LOW", "NORMAL", "HIGH", "URGENT"]
    assert notification(priority="HIGH").at_least(Priority.HIGH)
    assert notification(priority="URGENT").at_least(Priority.NORMAL)
    assert not notification(priority="NORMAL").at_least(Priority.HIGH)


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
    router = Router(parse_channels(CHANNELS, {}))
    n = notification(team=team, priority=priority)
    assert [r.channel for r in router.routes(n)] == channels


def test_metric_labels_are_the_closed_set() -> None:
    router = Router(parse_channels(CHANNELS, {}))
    routes = router.routes(notification(priority="URGENT"), "m7@bank.example")
    assert [r.label for r in routes] == ["wecom", "dingtalk", "webhook", "email"]


def test_the_assigned_manager_gets_the_mail_even_without_team_addresses() -> None:
    router = Router(parse_channels(CHANNELS, {}))
    n = notification(team="PRIVATE_BANKING", priority="HIGH")
    assert [r.channel for r in router.routes(n, "m7@bank.example")][-1] == "email"


def test_backoff_doubles_with_jitter() -> None:
    for retry, nominal in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0)):
        for _ in range(50):
            assert 0.5 * nominal <= backoff_seconds(1.0, retry) <= 1.5 * nominal
    assert backoff_seconds(600, 40) <= 450


def test_each_robot_url_has_its_own_rate_limit_shared_by_the_webhooks_on_it() -> None:
    text = (
        CHANNELS
        + """
[[webhook]]
name = "wealth-urgent"
team = "WEALTH_TEAM"
type = "wecom"
url = "https://w/?key=k"
min_priority = "URGENT"
"""
    )
    router = Router(
        parse_channels(
            text.replace("[smtp]\n", "[smtp]\nrate_limit = { messages = 30, seconds = 60 }\n"), {}
        )
    )
    routes = {r.channel: r for r in router.routes(notification(priority="URGENT"), "m@b.example")}
    wealth = routes["webhook:wealth"].destination
    assert wealth is not None
    assert wealth is routes["webhook:wealth-urgent"].destination  # one robot, one window
    assert (wealth.window.limit, wealth.window.seconds) == (20, 60)
    assert wealth.channels == ["webhook:wealth", "webhook:wealth-urgent"]
    ding = routes["webhook:everyone-urgent"].destination
    assert ding is not None
    assert ding is not wealth  # another robot: a busy team does not slow this one
    assert routes["webhook:audit"].destination is None  # json: no limit by default
    email = routes["email"].destination
    assert email is not None
    # one mail server: the manager's own messages count in its window too
    assert (email.window.limit, email.channels) == (30, ["email", "email:manager"])


def test_a_manager_who_reads_another_language_gets_a_message_of_their_own() -> None:
    router = Router(parse_channels(CHANNELS, {}), "zh_Hans_CN")
    n = notification(priority="HIGH")
    mails = {r.channel: r for r in router.routes(n, "m7@bank.example", "en") if r.label == "email"}
    assert set(mails) == {"email", "email:manager"}
    assert mails["email"].destination is mails["email:manager"].destination  # one SMTP server
    same = [r.channel for r in router.routes(n, "m7@bank.example", "zh_Hans_CN")]
    assert same[-1] == "email"
    assert "email:manager" not in same
