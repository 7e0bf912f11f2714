"""The delivery consumer: every ManagerNotification into the PostgreSQL inbox, then out on each
channel that applies (webhooks, e-mail), with retries and a dead-letter path.

It is its own consumer group (``<app id>-delivery``), so a slow robot or mail server never
holds up tiering. For each batch from Kafka:

1. decode; a record that is not a ManagerNotification goes to ``manager-notifications.dlq``;
2. write the notifications to ``notifications`` (idempotent by ``notification_id``): the inbox;
3. deliver each notification on each channel that applies, at most once per channel and
   within each destination's rate limit (:mod:`tiering.delivery.attempts`);
4. commit the batch's offsets once every notification in it, and before it, is handled.

Batches are handled side by side (:mod:`tiering.delivery.pipeline`), so a burst queued behind
one robot's rate limit does not hold up the notifications after it on other channels.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError

from tiering.delivery.attempts import ChannelAttempts, Received
from tiering.delivery.pipeline import consume
from tiering.delivery.routes import POSTGRES, Router
from tiering.metrics import DEAD_LETTERS, DELIVERIES
from tiering.notify.notification import Notification
from tiering.notify.records import decode_notification
from tiering.settings import Settings
from tiering.sinks.channels.config import ChannelsConfig, load_channels
from tiering.sinks.postgres.connection import create_pool, wait_out
from tiering.wire.codec import AvroCodec, CodecError
from tiering.wire.inbound import DeadLetter, Inbound
from tiering.wire.kafka_clients import kafka_client_options
from tiering.wire.kafka_outages import UNREACHABLE
from tiering.wire.topics import MANAGER_NOTIFICATIONS, DeploymentTopics, ensure_topics

log = logging.getLogger(__name__)

T = TypeVar("T")

# risk_level, risk_assessed_on, risk_expired_on: the §9 audit trail, what the recommendations
# were kept within
INSERT_NOTIFICATION = """
INSERT INTO notifications (notification_id, customer_id, tier, team, manager_id, branch_id,
                           kind, priority, title, body, actions, source_event_id, created_at,
                           texts, risk_level, risk_assessed_on, risk_expired_on)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15, $16, $17)
ON CONFLICT (notification_id) DO NOTHING
"""
_MANAGER_EMAILS = """
SELECT manager_id, email, language FROM managers
WHERE manager_id = ANY($1::text[]) AND coalesce(email, '') <> ''
"""


class DeliveryService:
    """Consumes ``manager-notifications`` in its own group and delivers them.

    ``start()`` connects and begins consuming in a background task; ``stop()`` lets the batches
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
        max_pending: int = 2000,
        stop_timeout: float = 30.0,
    ) -> None:
        """``channels`` defaults to ``settings.channels_file`` (read here, so a bad file
        fails before anything connects: :class:`ChannelsConfigError`)."""
        self.settings = settings
        self.channels = channels if channels is not None else load_channels(settings.channels_file)
        topics = DeploymentTopics.of(settings)
        self.topic = topics.notifications
        self.dlq_topic = topics.notifications_dlq
        self.group_id = f"{settings.app_id}-delivery"
        self._batch_size = batch_size
        self._max_pending = max_pending  #: records in hand before fetching pauses
        self._stop_timeout = stop_timeout
        self._codec = AvroCodec()
        self.router = Router(self.channels, settings.language)
        self._attempts = ChannelAttempts(
            self._the_pool,
            self._dead_letter,
            self.channels.secrets(),
            settings.delivery_max_attempts,
            settings.delivery_backoff_seconds,
            concurrency,
        )
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
            self._pool = await wait_out(
                "connect", lambda: create_pool(s, self.group_id, max_size=8)
            )
            self._producer = AIOKafkaProducer(
                **kafka_client_options(s), acks="all", enable_idempotence=True
            )
            await self._producer.start()
            await self.router.start()
            self._consumer = AIOKafkaConsumer(
                self.topic,
                **kafka_client_options(s),
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
            "on" if self.router.emails else "off",
        )

    async def stop(self) -> None:
        """Finish the batches in hand, commit, disconnect. Safe to call more than once."""
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

    def _the_pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "delivery not started"
        return self._pool

    async def _close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        await self.router.close()
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
            await consume(
                self._consumer,
                self.handle,
                self._commit,
                self._stopping,
                batch_size=self._batch_size,
                max_pending=self._max_pending,
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
        except UNREACHABLE:
            # Kafka went away after the batch was fetched: read again once it is back (the
            # outage is told by tiering.wire.kafka_outages), and again the claims keep every
            # channel from sending twice.
            pass

    async def handle(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        """Handle one batch: dead-letter what cannot be read, write the rest to the inbox,
        deliver every channel. Returns when all is done (or dead-lettered)."""
        received: list[Received] = []
        for record in records:
            message = Inbound(
                record.topic, record.partition, record.offset, record.key, record.value
            )
            notification = await self._decode(message)
            if notification is not None:
                received.append(Received(message, notification))
        if not received:
            return
        await self._store([r.notification for r in received])
        managers = await self._managers([r.notification for r in received])
        async with asyncio.TaskGroup() as group:
            for r in received:
                n = r.notification
                email, language = managers.get(n.manager_id or "", (None, None))
                for route in self.router.routes(n, email, language):
                    group.create_task(self._attempts.deliver(r, route))

    async def _decode(self, message: Inbound) -> Notification | None:
        if message.value is None:
            await self._dead_letter(DeadLetter(message, "empty_value", "a tombstone"))
            return None
        try:
            n = decode_notification(self._codec, message.value)
        except CodecError as exc:
            await self._dead_letter(DeadLetter(message, exc.reason, str(exc)))
            return None
        if not n.notification_id:
            await self._dead_letter(DeadLetter(message, "missing_field", "empty notification_id"))
            return None
        return n

    # --- PostgreSQL and the dead-letter topic ---------------------------------------------

    async def _store(self, notifications: list[Notification]) -> None:
        """The inbox: every notification once, before any channel is claimed (the channel
        rows reference it)."""

        async def write() -> None:
            async with self._the_pool().acquire() as conn, conn.transaction():
                await conn.executemany(
                    INSERT_NOTIFICATION, [notification_row(n) for n in notifications]
                )

        await self._retry("write notifications", write, metric_label=POSTGRES)
        DELIVERIES.labels(POSTGRES, "delivered").inc(len(notifications))

    async def _managers(
        self, notifications: list[Notification]
    ) -> dict[str, tuple[str, str | None]]:
        """The assigned managers' e-mail addresses and preferred languages, by manager id."""
        ids = sorted({n.manager_id for n in notifications if n.manager_id})
        if self.channels.smtp is None or not ids:
            return {}

        async def fetch() -> list[Any]:
            return list(await self._the_pool().fetch(_MANAGER_EMAILS, ids))

        rows = await self._retry("manager e-mails", fetch)
        return {r["manager_id"]: (r["email"], r["language"]) for r in rows}

    async def _retry(
        self, what: str, fn: Callable[[], Awaitable[T]], metric_label: str | None = None
    ) -> T:
        """PostgreSQL being away is waited out (nothing is committed meanwhile); any other
        error is a bug and stops the consumer."""

        def count() -> None:
            if metric_label is not None:
                DELIVERIES.labels(metric_label, "retried").inc()

        return await wait_out(what, fn, count)

    async def _dead_letter(self, letter: DeadLetter) -> None:
        """The message's original key and bytes to ``manager-notifications.dlq``, with the
        same ``dlq.*`` headers as the other dead-letter topics."""
        assert self._producer is not None
        source = letter.source
        await self._producer.send_and_wait(
            self.dlq_topic,
            value=source.value,
            key=source.key,
            headers=letter.headers(time.time_ns() // 1_000_000),
        )
        DEAD_LETTERS.labels(MANAGER_NOTIFICATIONS, letter.reason).inc()
        letter.log()


def notification_row(n: Notification) -> tuple[Any, ...]:
    """``n`` as :data:`INSERT_NOTIFICATION` takes it: the inbox's row of a notification."""
    return (
        n.notification_id,
        n.customer_id,
        n.tier.name,
        n.team.value,
        n.manager_id,
        n.branch_id,
        n.kind.value,
        n.priority.name,
        n.title,
        n.body,
        list(n.actions),
        n.source_event_id,
        n.created_at,
        json.dumps(n.texts_json(), ensure_ascii=False),
        n.risk_level,
        n.risk_assessed_on,
        n.risk_expired_on,
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
