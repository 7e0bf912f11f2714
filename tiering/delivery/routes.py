"""The channels a notification goes out on besides the PostgreSQL inbox: the webhooks of its
team and priority, and e-mail to the team's addresses and the assigned manager; the language
each is written in (the channel's ``language``, else the deployment's; the manager's own for
their e-mail); and the rate limit of each destination (one per robot URL, one for the SMTP
server)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial

from tiering.delivery.rate_limits import SlidingWindow
from tiering.i18n import DEFAULT_LANGUAGE, Language
from tiering.notify.notification import Notification
from tiering.sinks.channels.config import ChannelsConfig, RateLimit
from tiering.sinks.channels.email import EmailSender, mailings
from tiering.sinks.channels.webhooks import WebhookClient

log = logging.getLogger(__name__)

#: the inbox, as ``tiering_deliveries_total{channel}`` names it
POSTGRES = "postgres"
EMAIL = "email"
#: the assigned manager's own e-mail, when they read another language than the team
EMAIL_MANAGER = "email:manager"
#: the metric's channel label per webhook type: a closed set whatever the file calls them
WEBHOOK_LABELS = {"wecom": "wecom", "dingtalk": "dingtalk", "json": "webhook"}


@dataclass(eq=False)
class Destination:
    """Where requests go, with its rate limit: shared by the channels that post there (two
    webhooks on one robot's URL), so together they keep to it."""

    window: SlidingWindow
    channels: list[str] = field(default_factory=list)  #: as in notification_deliveries
    #: the window counts the sends this process did not make itself (before a restart)
    caught_up: bool = False
    catching_up: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass(frozen=True, slots=True)
class Route:
    """One channel a notification goes out on."""

    channel: str  #: in notification_channels and the logs: ``webhook:<name>`` or ``email``
    label: str  #: the metric's channel label
    send: Callable[[], Awaitable[None]]  #: one attempt; raises DeliveryError
    destination: Destination | None = None  #: None: no rate limit


class Router:
    """Knows the configured channels and holds their clients and their destinations' rate
    limits (one per process: ``tiering deliver`` runs as one replica)."""

    def __init__(self, channels: ChannelsConfig, language: Language = DEFAULT_LANGUAGE) -> None:
        """``language``: what a channel without its own ``language`` is written in."""
        self.channels = channels
        self.language = language
        self._webhooks = WebhookClient()
        smtp = channels.smtp
        self._email = EmailSender(smtp) if smtp is not None else None
        self.destinations: dict[str, Destination] = {}  #: by channel
        by_url: dict[str, Destination] = {}
        for w in channels.webhook:
            if (limit := w.effective_rate_limit) is not None:
                url = w.url.get_secret_value()
                if url not in by_url:
                    by_url[url] = _destination(limit)
                self._limit(w.channel, by_url[url])
        if smtp is not None and smtp.rate_limit is not None:
            mail_server = _destination(smtp.rate_limit)
            self._limit(EMAIL, mail_server)
            self._limit(EMAIL_MANAGER, mail_server)

    def _limit(self, channel: str, destination: Destination) -> None:
        destination.channels.append(channel)
        self.destinations[channel] = destination

    async def start(self) -> None:
        await self._webhooks.start()

    async def close(self) -> None:
        await self._webhooks.close()

    @property
    def emails(self) -> bool:
        return self._email is not None

    def routes(
        self,
        n: Notification,
        manager_email: str | None = None,
        manager_language: str | None = None,
    ) -> list[Route]:
        """The channels ``n`` goes out on, besides the PostgreSQL inbox; ``manager_email``
        and ``manager_language`` are the assigned manager's (``managers``), if any."""
        out = [
            Route(
                w.channel,
                WEBHOOK_LABELS[w.type],
                partial(self._webhooks.send, w, n, w.language or self.language),
                self.destinations.get(w.channel),
            )
            for w in self.channels.webhooks_for(n)
        ]
        smtp = self.channels.smtp
        if smtp is not None and self._email is not None and smtp.accepts(n):
            letters = mailings(smtp, n, manager_email, manager_language, self.language)
            for letter in letters:
                channel = EMAIL_MANAGER if letter.manager_only else EMAIL
                send = partial(self._email.send, n, letter)
                out.append(Route(channel, EMAIL, send, self.destinations.get(channel)))
            if not letters:
                log.info(
                    "notification %s: no e-mail address for team %s", n.notification_id, n.team
                )
        return out


def _destination(limit: RateLimit) -> Destination:
    return Destination(SlidingWindow(limit.messages, limit.seconds))
