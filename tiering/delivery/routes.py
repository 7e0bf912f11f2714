"""The channels a notification goes out on besides the PostgreSQL inbox: the webhooks of its
team and priority, and e-mail to the team's addresses and the assigned manager."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from tiering.notify.notification import Notification
from tiering.sinks.channels.config import ChannelsConfig
from tiering.sinks.channels.email import EmailSender, recipients
from tiering.sinks.channels.webhooks import WebhookClient

log = logging.getLogger(__name__)

#: the inbox, as ``tiering_deliveries_total{channel}`` names it
POSTGRES = "postgres"
EMAIL = "email"
#: the metric's channel label per webhook type: a closed set whatever the file calls them
WEBHOOK_LABELS = {"wecom": "wecom", "dingtalk": "dingtalk", "json": "webhook"}


@dataclass(frozen=True, slots=True)
class Route:
    """One channel a notification goes out on."""

    channel: str  #: in notification_channels and the logs: ``webhook:<name>`` or ``email``
    label: str  #: the metric's channel label
    send: Callable[[], Awaitable[None]]  #: one attempt; raises DeliveryError


class Router:
    """Knows the configured channels and holds their clients."""

    def __init__(self, channels: ChannelsConfig) -> None:
        self.channels = channels
        self._webhooks = WebhookClient()
        smtp = channels.smtp
        self._email = EmailSender(smtp) if smtp is not None else None

    async def start(self) -> None:
        await self._webhooks.start()

    async def close(self) -> None:
        await self._webhooks.close()

    @property
    def emails(self) -> bool:
        return self._email is not None

    def routes(self, n: Notification, manager_email: str | None = None) -> list[Route]:
        """The channels ``n`` goes out on, besides the PostgreSQL inbox."""
        out = [
            Route(w.channel, WEBHOOK_LABELS[w.type], partial(self._webhooks.send, w, n))
            for w in self.channels.webhooks_for(n)
        ]
        smtp = self.channels.smtp
        if smtp is not None and self._email is not None and smtp.accepts(n):
            to = recipients(smtp, n, manager_email)
            if to:
                out.append(Route(EMAIL, EMAIL, partial(self._email.send, n, to)))
            else:
                log.info(
                    "notification %s: no e-mail address for team %s", n.notification_id, n.team
                )
        return out
