"""What the delivery tests share: notification records on the real Kafka, a delivery service
configured with a channels file, an HTTP server and an SMTP mailbox on loopback standing in for
the robots and the mail server, and waiting until the delivery group has handled everything."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from aiohttp import web
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller
from prometheus_client import REGISTRY

from tests.harness.kafka import unsettled
from tiering.delivery.service import DeliveryService
from tiering.settings import Settings
from tiering.wire.codec import MANAGER_NOTIFICATION, AvroCodec

CODEC = AvroCodec()
#: how a stand-in for a robot answers a request
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def notification(notification_id: str, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "notification_id": notification_id,
        "customer_id": f"C-{notification_id}",
        "tier": "PREMIUM",
        "team": "WEALTH_TEAM",
        "manager_id": None,
        "branch_id": "B001",
        "kind": "TIER_UPGRADE",
        "priority": "NORMAL",
        "title": f"Upgrade {notification_id}",
        "body": "Customer Z*** (**34) reached 600,000.00",
        "actions": ["Call the customer", "Offer a term deposit"],
        "source_event_id": f"T-{notification_id}",
        "created_at": 1_764_000_000_123,
    }
    record.update(changes)
    return record


async def produce(settings: Settings, records: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(
                settings.topic("manager-notifications"), key=key, value=value
            )
    finally:
        await producer.stop()


def encoded(record: dict[str, Any]) -> tuple[bytes, bytes]:
    return record["customer_id"].encode(), CODEC.encode(MANAGER_NOTIFICATION, record)


async def caught_up(settings: Settings) -> bool:
    """The delivery group has committed everything on the topic: every record handled."""
    topic = settings.topic("manager-notifications")
    return not await unsettled(settings, f"{settings.app_id}-delivery", [topic])


def count(channel: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "tiering_deliveries_total", {"channel": channel, "outcome": outcome}
    )
    return value or 0.0


@asynccontextmanager
async def delivering(settings: Settings) -> AsyncIterator[DeliveryService]:
    service = DeliveryService(settings)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


def configured(d: Any, tmp_path: Path, toml: str, **update: Any) -> Settings:
    path = tmp_path / "channels.toml"
    path.write_text(toml)
    settings: Settings = d.settings.model_copy(
        update={"channels_file": path, "delivery_backoff_seconds": 0.01, **update}
    )
    return settings


@asynccontextmanager
async def serving(handle: Handler) -> AsyncIterator[str]:
    """An HTTP server on loopback that answers every POST with ``handle``; its base URL."""
    app = web.Application()
    app.router.add_post("/{path}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    """An SMTP server's handler (aiosmtpd) that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"


@contextmanager
def mail_server() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on a free loopback port (aiosmtpd): its mailbox and its port."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield mailbox, controller.port
    finally:
        controller.stop()
