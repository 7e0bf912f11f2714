"""The delivery consumer: every ManagerNotification into the PostgreSQL inbox, then out on each
channel that applies (webhooks, e-mail), with retries and a dead-letter path.

It is its own consumer group (``<app id>-delivery``), so a slow robot or mail server never
holds up tiering. For each batch from Kafka:

1. decode; a record that is not a ManagerNotification goes to ``manager-notifications.dlq``;
2. write the notifications to ``notifications`` (idempotent by ``notification_id``): the inbox;
3. for each notification and channel that applies, claim the ``notification_channels`` row
   and send only if this worker took it, so a notification redelivered by Kafka (replay,
   restart, another worker) goes out at most once per channel. Attempts back off
   exponentially with jitter; each is a row in ``notification_deliveries``; after the last
   failed one the notification goes to the dead-letter topic;
4. commit the batch's offsets once every notification in it is handled.

A claim held by a process that is killed before recording the outcome stays ``sending``: the
notification is in the inbox but not sent again on that channel. A clean stop releases the
claims it could not finish, so the redelivery sends them.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError

from sinks.delivery.config import ChannelsConfig, load_channels
from sinks.delivery.email import EmailSender, recipients
from sinks.delivery.exceptions import DeliveryError
from sinks.delivery.notification import Notification
from sinks.delivery.webhooks import WebhookClient
from sinks.postgres import create_pool, wait_out
from streams.codec import MANAGER_NOTIFICATION, AvroCodec, CodecError
from streams.metrics import DEAD_LETTERS, DELIVERIES
from streams.settings import Settings
from streams.topics import MANAGER_NOTIFICATIONS, dlq, ensure_topics

log = logging.getLogger(__name__)

T = TypeVar("T")

POSTGRES = "postgres"
EMAIL = "email"
#: the metric's channel label per webhook type: a closed set whatever the file calls them
WEBHOOK_LABELS = {"wecom": "wecom", "dingtalk": "dingtalk", "json": "webhook"}
MAX_BACKOFF_SECONDS = 300.0

_INSERT_NOTIFICATION = """
INSERT INTO notifications (notification_id, customer_id, tier, team, manager_id, branch_id,
                           kind, priority, title, body, actions, source_event_id, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (notification_id) DO NOTHING
"""
_MANAGER_EMAILS = """
SELECT manager_id, email FROM managers
WHERE manager_id = ANY($1::text[]) AND coalesce(email, '') <> ''
"""
_CLAIM = """
INSERT INTO notification_channels (notification_id, channel, status) VALUES ($1, $2, 'sending')
ON CONFLICT DO NOTHING RETURNING 1
"""
# After a released claim the attempts go on from where they stopped.
_NEXT_ATTEMPT = """
SELECT coalesce(max(attempt), 0) + 1 FROM notification_deliveries
WHERE notification_id = $1 AND channel = $2
"""
_RECORD_ATTEMPT = """
INSERT INTO notification_deliveries (notification_id, channel, attempt, outcome, error)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING
"""
_SET_STATUS = """
UPDATE notification_channels SET status = $3, attempts = $4, updated_at = now()
WHERE notification_id = $1 AND channel = $2
"""
_RELEASE = """
DELETE FROM notification_channels
WHERE notification_id = $1 AND channel = $2 AND status = 'sending'
"""


@dataclass(frozen=True, slots=True)
class Route:
    """One channel a notification goes out on."""

    channel: str  #: in notification_channels and the logs: ``webhook:<name>`` or ``email``
    label: str  #: the metric's channel label
    send: Callable[[], Awaitable[None]]  #: one attempt; raises DeliveryError


@dataclass(frozen=True, slots=True)
class _Received:
    record: ConsumerRecord[bytes, bytes]
    notification: Notification


def backoff_seconds(base: float, retry: int) -> float:
    """The wait before retry number ``retry`` (1 for the first): ``base`` doubled per retry,
    capped, times a jitter of 0.5-1.5 so that notifications failing together (a robot down)
    do not all come back in the same instant."""
    return min(base * 2 ** (retry - 1), MAX_BACKOFF_SECONDS) * random.uniform(0.5, 1.5)


class DeliveryService:
    """Consumes ``manager-notifications`` in its own group and delivers them.

    ``start()`` connects and begins consuming in a background task; ``stop()`` lets the batch
    in hand finish (for up to ``stop_timeout`` seconds, then releases what is unfinished),
    commits, and disconnects; ``run_until_stopped()`` waits for the consumer to end and
    raises what ended it. To embed it, call ``start()`` and ``stop()`` from the host's own
    start and stop.
    """

    def __init__(
        self,
        settings: Settings,
        channels: ChannelsConfig | None = None,
        *,
        concurrency: int = 32,
        batch_size: int = 100,
        stop_timeout: float = 30.0,
    ) -> None:
        """``channels`` defaults to ``settings.channels_file`` (read here, so a bad file
        fails before anything connects: :class:`ChannelsConfigError`)."""
        self.settings = settings
        self.channels = channels if channels is not None else load_channels(settings.channels_file)
        self.topic = settings.topic(MANAGER_NOTIFICATIONS)
        self.dlq_topic = settings.topic(dlq(MANAGER_NOTIFICATIONS))
        self.group_id = f"{settings.app_id}-delivery"
        self._batch_size = batch_size
        self._stop_timeout = stop_timeout
        #: bounds the sends in flight, so one slow robot cannot take every connection
        self._sending = asyncio.Semaphore(concurrency)
        self._secrets = self.channels.secrets()
        self._codec = AvroCodec()
        self._webhooks = WebhookClient()
        smtp = self.channels.smtp
        self._email = EmailSender(smtp) if smtp is not None else None
        self._pool: asyncpg.Pool | None = None
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        s = self.settings
        try:
            await ensure_topics(s)
            self._pool = await self._retry("connect", self._connect)
            self._producer = AIOKafkaProducer(
                bootstrap_servers=s.bootstrap_servers, acks="all", enable_idempotence=True
            )
            await self._producer.start()
            await self._webhooks.start()
            self._consumer = AIOKafkaConsumer(
                self.topic,
                bootstrap_servers=s.bootstrap_servers,
                group_id=self.group_id,
                client_id=self.group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
            )
            await self._consumer.start()
        except BaseException:
            await self._close()
            raise
        self._stopping.clear()
        self._task = asyncio.create_task(self._consume(), name=f"{self.group_id}-consumer")
        webhooks = ", ".join(w.channel for w in self.channels.webhook) or "none"
        log.info(
            "delivering %s as group %s; webhooks: %s; e-mail: %s",
            self.topic,
            self.group_id,
            webhooks,
            "on" if self._email is not None else "off",
        )

    async def stop(self) -> None:
        """Finish the batch in hand, commit, disconnect. Safe to call more than once."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            if not task.done():
                try:
                    await asyncio.wait_for(asyncio.shield(task), self._stop_timeout)
                except TimeoutError:
                    log.warning(
                        "delivery did not finish within %gs; stopping it (unfinished channels "
                        "are released for the redelivery)",
                        self._stop_timeout,
                    )
                    task.cancel()
                except Exception:  # noqa: S110  (logged by _consume)
                    pass
            # Collects the outcome whatever it was, so no error is left unretrieved.
            await asyncio.gather(task, return_exceptions=True)
        await self._close()

    @property
    def running(self) -> bool:
        """Consuming: started, not stopped, not ended by an error (for health checks)."""
        return self._task is not None and not self._task.done()

    def assignment(self) -> set[TopicPartition]:
        """The partitions this process delivers now (for the consumer-lag gauge)."""
        return set(self._consumer.assignment()) if self._consumer is not None else set()

    async def run_until_stopped(self) -> None:
        """Wait until the consumer ends (``stop()`` or an error, which is raised here).
        Cancelling this waiter does not cancel the consumer: call ``stop()``."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _connect(self) -> asyncpg.Pool:
        s = self.settings
        return await create_pool(
            s.database_url.get_secret_value(), s.db_schema, self.group_id, max_size=8
        )

    async def _close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        await self._webhooks.close()
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    # --- the loop -------------------------------------------------------------------------

    async def _consume(self) -> None:
        assert self._consumer is not None
        try:
            while not self._stopping.is_set():
                batches = await self._consumer.getmany(timeout_ms=500, max_records=self._batch_size)
                if not batches:
                    continue
                await self.handle([r for records in batches.values() for r in records])
                await self._commit(
                    {tp: records[-1].offset + 1 for tp, records in batches.items() if records}
                )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("delivery consumer stopped by an error; the batch will be redelivered")
            raise

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        assert self._consumer is not None
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # The partitions moved to another worker, which reads the batch again; the
            # claims keep every channel from sending twice.
            log.warning("offsets not committed (%s): the batch will be redelivered", exc)

    async def handle(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        """Handle one batch: dead-letter what cannot be read, write the rest to the inbox,
        deliver every channel. Returns when all is done (or dead-lettered)."""
        received: list[_Received] = []
        for record in records:
            notification = await self._decode(record)
            if notification is not None:
                received.append(_Received(record, notification))
        if not received:
            return
        await self._store([r.notification for r in received])
        manager_emails = await self._manager_emails([r.notification for r in received])
        async with asyncio.TaskGroup() as group:
            for r in received:
                n = r.notification
                for route in self.routes(n, manager_emails.get(n.manager_id or "")):
                    group.create_task(self._deliver(r, route))

    # --- routing --------------------------------------------------------------------------

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

    # --- one record -----------------------------------------------------------------------

    async def _decode(self, record: ConsumerRecord[bytes, bytes]) -> Notification | None:
        if record.value is None:
            await self._dead_letter(record, "empty_value", "a tombstone")
            return None
        try:
            _, data = self._codec.decode(record.value, expect=MANAGER_NOTIFICATION)
        except CodecError as exc:
            await self._dead_letter(record, exc.reason, str(exc))
            return None
        n = Notification.from_record(data)
        if not n.notification_id:
            await self._dead_letter(record, "missing_field", "empty notification_id")
            return None
        return n

    async def _deliver(self, received: _Received, route: Route) -> None:
        n = received.notification
        first = await self._retry("claim", partial(self._claim, n.notification_id, route.channel))
        if first is None:
            log.debug("notification %s on %s: already claimed", n.notification_id, route.channel)
            return
        try:
            await self._attempts(received, route, first)
        except BaseException:
            # Stopped (or a bug) before the outcome was recorded: let the redelivery send it.
            await asyncio.shield(self._release(n.notification_id, route.channel))
            raise

    async def _attempts(self, received: _Received, route: Route, first: int) -> None:
        n = received.notification
        last = max(first, self.settings.delivery_max_attempts)
        for attempt in range(first, last + 1):
            error = await self._attempt(route)
            if error is None:
                outcome = "delivered"
            elif attempt < last:
                outcome = "retried"
            else:
                outcome = "failed"
                # The dead letter goes out before the outcome is stored: a crash between the
                # two leaves the claim "sending", never a failure without its dead letter.
                await self._dead_letter(
                    received.record, "delivery_failed", error, channel=route.channel
                )
            await self._retry(
                "record attempt",
                partial(self._record, n.notification_id, route.channel, attempt, outcome, error),
            )
            DELIVERIES.labels(route.label, outcome).inc()
            log_level = logging.INFO if outcome == "delivered" else logging.WARNING
            log.log(
                log_level,
                "notification %s on %s: %s (attempt %d of %d)%s",
                n.notification_id,
                route.channel,
                outcome,
                attempt,
                last,
                f": {error}" if error else "",
            )
            if outcome != "retried":
                return
            await asyncio.sleep(
                backoff_seconds(self.settings.delivery_backoff_seconds, attempt - first + 1)
            )

    async def _attempt(self, route: Route) -> str | None:
        """One send; the error as safe text, or None when delivered."""
        async with self._sending:
            try:
                await route.send()
            except DeliveryError as exc:
                return self._redact(str(exc))
            except Exception as exc:
                # A bug rather than the channel: its text may hold anything, keep the type.
                return f"unexpected {type(exc).__name__}"
        return None

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    # --- PostgreSQL -----------------------------------------------------------------------

    async def _store(self, notifications: list[Notification]) -> None:
        """The inbox: every notification once, before any channel is claimed (the channel
        rows reference it)."""

        async def write() -> None:
            assert self._pool is not None
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.executemany(_INSERT_NOTIFICATION, [_row(n) for n in notifications])

        await self._retry("write notifications", write, metric_label=POSTGRES)
        DELIVERIES.labels(POSTGRES, "delivered").inc(len(notifications))

    async def _manager_emails(self, notifications: list[Notification]) -> dict[str, str]:
        ids = sorted({n.manager_id for n in notifications if n.manager_id})
        if self.channels.smtp is None or not ids:
            return {}

        async def fetch() -> list[Any]:
            assert self._pool is not None
            return list(await self._pool.fetch(_MANAGER_EMAILS, ids))

        rows = await self._retry("manager e-mails", fetch)
        return {r["manager_id"]: r["email"] for r in rows}

    async def _claim(self, notification_id: str, channel: str) -> int | None:
        """The first attempt number if this worker took the channel, else None."""
        assert self._pool is not None
        async with self._pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(_CLAIM, notification_id, channel) is None:
                return None
            return int(await conn.fetchval(_NEXT_ATTEMPT, notification_id, channel))

    async def _record(
        self, notification_id: str, channel: str, attempt: int, outcome: str, error: str | None
    ) -> None:
        assert self._pool is not None
        status = "sending" if outcome == "retried" else outcome
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(_RECORD_ATTEMPT, notification_id, channel, attempt, outcome, error)
            await conn.execute(_SET_STATUS, notification_id, channel, status, attempt)

    async def _release(self, notification_id: str, channel: str) -> None:
        try:
            assert self._pool is not None
            await self._pool.execute(_RELEASE, notification_id, channel)
        except Exception as exc:
            log.warning(
                "notification %s on %s: claim not released (%s); it will not be sent again",
                notification_id,
                channel,
                type(exc).__name__,
            )

    async def _retry(
        self, what: str, fn: Callable[[], Awaitable[T]], metric_label: str | None = None
    ) -> T:
        """PostgreSQL being away is waited out (nothing is committed meanwhile); any other
        error is a bug and stops the consumer."""

        def count() -> None:
            if metric_label is not None:
                DELIVERIES.labels(metric_label, "retried").inc()

        return await wait_out(what, fn, count)

    async def _dead_letter(
        self,
        record: ConsumerRecord[bytes, bytes],
        reason: str,
        error: str,
        channel: str | None = None,
    ) -> None:
        """The record's original key and bytes to ``manager-notifications.dlq``, with headers
        saying why (the same ``dlq.*`` headers as the other dead-letter topics)."""
        assert self._producer is not None
        headers = [
            ("dlq.reason", reason.encode()),
            ("dlq.error", error.encode()),
            ("dlq.topic", record.topic.encode()),
            ("dlq.partition", str(record.partition).encode()),
            ("dlq.offset", str(record.offset).encode()),
            ("dlq.failed_at", str(time.time_ns() // 1_000_000).encode()),
        ]
        if channel is not None:
            headers.append(("dlq.channel", channel.encode()))
        await self._producer.send_and_wait(
            self.dlq_topic, value=record.value, key=record.key, headers=headers
        )
        DEAD_LETTERS.labels(MANAGER_NOTIFICATIONS, reason).inc()
        log.warning(
            "dead letter: %s[%d]@%d reason=%s%s",
            record.topic,
            record.partition,
            record.offset,
            reason,
            f" channel={channel}" if channel else "",
        )


def _row(n: Notification) -> tuple[Any, ...]:
    return (
        n.notification_id,
        n.customer_id,
        n.tier,
        n.team,
        n.manager_id,
        n.branch_id,
        n.kind,
        n.priority,
        n.title,
        n.body,
        list(n.actions),
        n.source_event_id,
        n.created_at,
    )


async def run_delivery(settings: Settings) -> None:
    """Deliver until cancelled (``tiering deliver``); a cancel stops cleanly: the batch in
    hand finishes and is committed."""
    service = DeliveryService(settings)
    await service.start()
    try:
        await service.run_until_stopped()
    finally:
        await service.stop()
