"""Webhook request shapes (WeCom, DingTalk, JSON), DingTalk's signature, answers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from datetime import UTC, date, datetime

import pytest

from tiering.core.bank_time import epoch_ms
from tiering.core.kinds import NotificationKind, Priority
from tiering.core.teams import Team
from tiering.core.tiers import Tier
from tiering.notify.notification import Notification
from tiering.sinks.channels.config import WebhookConfig
from tiering.sinks.channels.errors import DeliveryError
from tiering.sinks.channels.webhooks import (
    WECOM_MAX_BYTES,
    build_request,
    check_response,
    dingtalk_request,
    dingtalk_sign,
    json_request,
    wecom_request,
)

CREATED = datetime(2025, 11, 24, 16, 0, 0, 123000, tzinfo=UTC)


def notification(**changes: object) -> Notification:
    """A notification; tier, team, kind and priority given by name, as the schema spells them."""
    fields: dict[str, object] = {
        "notification_id": "tier-upgrade:C1:7",
        "customer_id": "C1",
        "tier": "PREMIUM",
        "team": "WEALTH_TEAM",
        "manager_id": "M7",
        "branch_id": "B001",
        "kind": "TIER_UPGRADE",
        "priority": "HIGH",
        "title": "客户升级至 PREMIUM",
        "body": "客户 张* (尾号 **34) 存款达到 600,000.00",
        "actions": ("电话问候", "推荐理财产品"),
        "source_event_id": "T9",
        "created_at_ms": epoch_ms(CREATED),
    }
    fields.update(changes)
    fields["tier"] = Tier[str(fields["tier"])]
    fields["team"] = Team(fields["team"])
    fields["kind"] = NotificationKind(fields["kind"])
    fields["priority"] = Priority[str(fields["priority"])]
    return Notification(**fields)  # type: ignore[arg-type]


def test_wecom_markdown() -> None:
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K"
    request = wecom_request(url, notification(), "en")
    assert request.url == url
    assert request.headers["Content-Type"].startswith("application/json")
    body = request.json()
    assert body["msgtype"] == "markdown"
    assert set(body) == {"msgtype", "markdown"}
    content = body["markdown"]["content"]
    assert content.startswith("**客户升级至 PREMIUM**\n")
    assert '> Priority: <font color="warning">High</font>' in content
    assert "> Tier: Premium customer · Kind: Tier upgrade · Team: Wealth team · Branch: B001" in (
        content
    )
    assert "客户 张* (尾号 **34) 存款达到 600,000.00" in content
    assert "**Recommended actions**\n- 电话问候\n- 推荐理财产品" in content
    assert "C1" not in content  # the customer id stays out of group chats


def test_wecom_content_is_cut_to_its_byte_limit() -> None:
    request = wecom_request("https://x/?key=K", notification(body="长" * 5000), "zh_Hans_CN")
    content = request.json()["markdown"]["content"]
    assert len(content.encode()) <= WECOM_MAX_BYTES
    assert content.endswith("…")


def test_dingtalk_signature_matches_a_known_vector() -> None:
    # computed apart from Python:
    #   printf '1764000000000\nSECtest-secret' \
    #   | openssl dgst -sha256 -hmac SECtest-secret -binary | base64
    expected = "vxsfhh/PBrs5X6m5b5yQWK8McW9/0Q2e7vqTYgS23zI="
    assert dingtalk_sign("SECtest-secret", 1_764_000_000_000) == urllib.parse.quote(
        expected, safe=""
    )


def test_dingtalk_request_is_signed_as_dingtalk_documents() -> None:
    secret, ts = "SEC0123456789abcdef", 1_764_000_123_456
    url = "https://oapi.dingtalk.com/robot/send?access_token=tok"
    request = dingtalk_request(url, secret, notification(), ts, "en")
    parsed = urllib.parse.urlsplit(request.url)
    query = urllib.parse.parse_qs(parsed.query)
    assert query["access_token"] == ["tok"]
    assert query["timestamp"] == [str(ts)]
    # DingTalk's recipe: HmacSHA256(key=secret, "timestamp\nsecret"), Base64, then urlEncode
    mac = hmac.new(secret.encode("utf-8"), f"{ts}\n{secret}".encode(), hashlib.sha256)
    assert query["sign"] == [base64.b64encode(mac.digest()).decode()]
    assert request.url.endswith("&sign=" + urllib.parse.quote_plus(query["sign"][0]))

    body = request.json()
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == "[High] 客户升级至 PREMIUM"
    text = body["markdown"]["text"]
    assert text.startswith("### 客户升级至 PREMIUM\n\n")
    assert "**Priority: High** · Tier: Premium customer · Kind: Tier upgrade" in text
    assert "**Recommended actions**\n\n- 电话问候\n- 推荐理财产品" in text
    assert "C1" not in text


def test_dingtalk_without_a_secret_or_a_query() -> None:
    assert dingtalk_request("https://d/x?access_token=t", None, notification(), 1, "en").url == (
        "https://d/x?access_token=t"
    )
    assert dingtalk_request("https://d/x", "s", notification(), 5, "en").url.startswith(
        "https://d/x?timestamp=5&sign="
    )


def test_json_carries_every_field_and_a_signature_of_the_raw_body() -> None:
    assessed = notification(risk_level=3, risk_assessed_on=date(2025, 3, 1))
    request = json_request("https://hooks.bank.example/n", "k3y", assessed)
    assert json.loads(request.body) == {
        "notification_id": "tier-upgrade:C1:7",
        "customer_id": "C1",
        "tier": "PREMIUM",
        "team": "WEALTH_TEAM",
        "manager_id": "M7",
        "branch_id": "B001",
        "kind": "TIER_UPGRADE",
        "priority": "HIGH",
        "title": "客户升级至 PREMIUM",
        "body": "客户 张* (尾号 **34) 存款达到 600,000.00",
        "actions": ["电话问候", "推荐理财产品"],
        "source_event_id": "T9",
        "created_at": "2025-11-24T16:00:00.123+00:00",
        "texts": {},  # written before there were texts
        "risk_level": 3,  # §9: the tolerance its products were kept within, and its date
        "risk_assessed_on": "2025-03-01",
        "risk_expired_on": None,  # known, so none expired
    }
    expected = hmac.new(b"k3y", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Tiering-Signature"] == f"sha256={expected}"
    assert "X-Tiering-Signature" not in json_request("https://h/n", None, notification()).headers
    unknown = json.loads(json_request("https://h/n", None, notification()).body)
    assert (unknown["risk_level"], unknown["risk_assessed_on"]) == (None, None)


def test_build_request_picks_the_shape_and_keeps_the_url_out_of_repr() -> None:
    hook = WebhookConfig.model_validate(
        {"name": "d", "team": "*", "type": "dingtalk", "url": "https://d/s?access_token=tok"}
        | {"secret": "SECx"}
    )
    request = build_request(hook, notification(), "en", now_ms=42)
    assert "timestamp=42&sign=" in request.url
    assert "tok" not in repr(request)
    assert (
        "msgtype"
        in build_request(hook.model_copy(update={"type": "wecom"}), notification(), "en").json()
    )


@pytest.mark.parametrize(
    ("kind", "status", "text"),
    [
        ("wecom", 200, '{"errcode":0,"errmsg":"ok"}'),
        ("dingtalk", 200, '{"errcode":0,"errmsg":"ok"}'),
        ("json", 204, ""),
        ("json", 200, "not json, fine"),
    ],
)
def test_delivered_answers(kind: str, status: int, text: str) -> None:
    check_response(kind, status, text)


@pytest.mark.parametrize(
    ("kind", "status", "text", "error"),
    [
        ("json", 500, "", "HTTP 500"),
        ("wecom", 404, "", "HTTP 404"),
        ("wecom", 200, "<html>", "HTTP 200 without a JSON answer"),
        (
            "wecom",
            200,
            '{"errcode":93000,"errmsg":"invalid webhook url"}',
            "errcode 93000: invalid",
        ),
        ("dingtalk", 200, '{"errcode":310000,"errmsg":"sign not match"}', "errcode 310000"),
        ("dingtalk", 200, '{"errmsg":"ok"}', "errcode None"),
        ("dingtalk", 200, "[0]", "errcode None"),
    ],
)
def test_refused_answers(kind: str, status: int, text: str, error: str) -> None:
    with pytest.raises(DeliveryError, match=error):
        check_response(kind, status, text)
