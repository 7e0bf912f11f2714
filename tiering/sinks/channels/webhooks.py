"""Webhook channels: WeCom group robots, DingTalk custom robots, and plain JSON.

Building a request is pure (``wecom_request``, ``dingtalk_request``, ``json_request``), so the
shapes and the signatures are tested without a network; ``WebhookClient`` only posts them.
The robots' cards are written in the webhook's language (:mod:`tiering.sinks.channels.rendering`)
and carry the notifier's masked title and body, never the customer id: group chats are outside
the bank's systems. The JSON webhook sends the machine record, every language's texts in it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

import aiohttp

from tiering.i18n import Language
from tiering.notify.notification import Notification
from tiering.sinks.channels.config import WebhookConfig
from tiering.sinks.channels.errors import DeliveryError
from tiering.sinks.channels.rendering import render

#: a robot that does not answer within this is retried like any other failure
HTTP_TIMEOUT_SECONDS = 10.0
#: WeCom rejects markdown content longer than this (errcode 40058)
WECOM_MAX_BYTES = 4096
SIGNATURE_HEADER = "X-Tiering-Signature"

_JSON = {"Content-Type": "application/json; charset=utf-8"}
_WECOM_COLOUR = {"URGENT": "warning", "HIGH": "warning", "NORMAL": "info", "LOW": "comment"}


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """A POST ready to send. The URL holds the robot's key, so it stays out of ``repr``."""

    url: str = field(repr=False)
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _truncate_utf8(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - len("…".encode())].decode(errors="ignore") + "…"


def wecom_request(url: str, n: Notification, language: Language) -> WebhookRequest:
    """WeCom group robot, ``markdown`` message in ``language``: title in bold, priority
    (coloured), facts, the masked body, the actions as a list."""
    shown = render(n, language)
    colour = _WECOM_COLOUR.get(n.priority.name, "comment")
    priority = f'<font color="{colour}">{shown.priority}</font>'
    lines = [
        f"**{shown.text.title}**",
        "> " + shown.priority_label % {"priority": priority},
        "> " + " · ".join(shown.facts),
        "",
        shown.text.body,
    ]
    if shown.text.actions:
        lines += ["", f"**{shown.actions_label}**", *(f"- {a}" for a in shown.text.actions)]
    content = _truncate_utf8("\n".join(lines), WECOM_MAX_BYTES)
    return WebhookRequest(
        url, dict(_JSON), _dumps({"msgtype": "markdown", "markdown": {"content": content}})
    )


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's 加签: HMAC-SHA256 keyed by the secret over ``"<timestamp>\\n<secret>"``,
    Base64, then URL-encoded (``quote_plus``, as DingTalk's own Python sample does)."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return quote_plus(base64.b64encode(digest))


def dingtalk_request(
    url: str, secret: str | None, n: Notification, timestamp_ms: int, language: Language
) -> WebhookRequest:
    """DingTalk custom robot, ``markdown`` message in ``language``; with a secret the URL gets
    ``&timestamp=<ms>&sign=<signature>`` (DingTalk refuses a timestamp more than an hour
    off, so it is taken at each attempt)."""
    if secret:
        separator = "&" if "?" in url else "?"
        url = f"{url}{separator}timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"
    shown = render(n, language)
    priority = shown.priority_label % {"priority": shown.priority}
    # DingTalk's markdown needs a blank line between paragraphs.
    parts = [
        f"### {shown.text.title}",
        f"**{priority}** · " + " · ".join(shown.facts),
        shown.text.body,
    ]
    if shown.text.actions:
        parts.append(
            f"**{shown.actions_label}**\n\n" + "\n".join(f"- {a}" for a in shown.text.actions)
        )
    payload = {
        "msgtype": "markdown",
        "markdown": {"title": shown.headline, "text": "\n\n".join(parts)},
    }
    return WebhookRequest(url, dict(_JSON), _dumps(payload))


def json_request(url: str, secret: str | None, n: Notification) -> WebhookRequest:
    """The notification as JSON (every field); with a secret, ``X-Tiering-Signature:
    sha256=<hex HMAC-SHA256 of the exact body>`` lets the receiver check it came from us."""
    body = _dumps(n.to_json())
    headers = dict(_JSON)
    if secret:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers[SIGNATURE_HEADER] = f"sha256={digest}"
    return WebhookRequest(url, headers, body)


def build_request(
    webhook: WebhookConfig, n: Notification, language: Language, now_ms: int | None = None
) -> WebhookRequest:
    """The request for ``webhook``; the robots' cards in ``language`` (the webhook's own, or
    the deployment's), the JSON webhook's record in every language."""
    url = webhook.url.get_secret_value()
    secret = webhook.secret.get_secret_value() if webhook.secret is not None else None
    if webhook.type == "wecom":
        return wecom_request(url, n, language)
    if webhook.type == "dingtalk":
        now = now_ms if now_ms is not None else _now_ms()
        return dingtalk_request(url, secret, n, now, language)
    return json_request(url, secret, n)


def check_response(webhook_type: str, status: int, text: str) -> None:
    """Raise :class:`DeliveryError` unless the answer means delivered: HTTP 2xx, and for the
    robots also ``{"errcode": 0}`` (they answer HTTP 200 to a refused message)."""
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}")
    if webhook_type == "json":
        return
    try:
        answer = json.loads(text)
    except ValueError:
        raise DeliveryError(f"HTTP {status} without a JSON answer") from None
    errcode = answer.get("errcode") if isinstance(answer, dict) else None
    if errcode != 0:
        errmsg = str(answer.get("errmsg", "")) if isinstance(answer, dict) else ""
        raise DeliveryError(f"errcode {errcode}: {errmsg[:120]}")


class WebhookClient:
    """Posts webhook requests over one aiohttp session."""

    def __init__(self, timeout: float = HTTP_TIMEOUT_SECONDS) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=self._timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, webhook: WebhookConfig, n: Notification, language: Language) -> None:
        """One attempt; raises :class:`DeliveryError` on any failure. aiohttp's own messages
        can quote the URL (and so the robot's key): only the error's type is kept."""
        assert self._session is not None, "WebhookClient not started"
        request = build_request(webhook, n, language)
        try:
            async with self._session.post(
                request.url, data=request.body, headers=request.headers
            ) as response:
                text = await response.text(errors="replace")
                status = response.status
        except TimeoutError:
            raise DeliveryError(f"no answer within {self._timeout.total:g}s") from None
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            raise DeliveryError(type(exc).__name__) from None
        check_response(webhook.type, status, text)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
