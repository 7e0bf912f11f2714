"""One notification on one channel, at most once: wait for the destination's rate limit, claim
the ``notification_channels`` row, then attempt with exponential backoff and jitter, each
attempt a row in ``notification_deliveries``, the dead-letter topic after the last failed one.
Every attempt waits for the rate limit; the wait for the first comes before the claim, so a
burst queued behind a robot's limit holds no claims.

A claim held by a process that is killed before recording the outcome stays ``sending``: the
notification is in the inbox but not sent again on that channel. A clean stop lets a request
already on its way finish and records it, and releases the claims it could not finish, so the
redelivery sends them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import asyncpg

from tiering.delivery.rate_limits import UNLIMITED, Slot
from tiering.delivery.routes import Destination, Route
from tiering.metrics import DELIVERIES, DELIVERIES_WAITING
from tiering.notify.notification import Notification
from tiering.sinks.channels.errors import DeliveryError
from tiering.sinks.postgres.connection import wait_out
from tiering.wire.inbound import DeadLetter, Inbound

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_BACKOFF_SECONDS = 300.0

_CLAIMED = """
SELECT 1 FROM notification_channels WHERE notification_id = $1 AND channel = $2
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
# The requests a destination answered within its window, by their age on the database's clock
# (attempted_at is stamped once the answer is in).
_RECENT_ATTEMPTS = """
SELECT extract(epoch FROM now() - attempted_at)::float8 AS ago FROM notification_deliveries
WHERE channel = ANY($1::text[]) AND attempted_at > now() - make_interval(secs => $2)
ORDER BY attempted_at DESC LIMIT $3
"""

#: sets a message aside on the dead-letter topic
DeadLetterer = Callable[[DeadLetter], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Received:
    """A notification and the message it came in."""

    message: Inbound
    notification: Notification


async def outlive_cancellation(work: Awaitable[T]) -> T:
    """Await ``work`` to its end even if the caller is cancelled meanwhile, then pass the
    cancellation on: a request already sent is seen through and recorded, never released
    for a redelivery that would send it again."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(task)
            break
        except asyncio.CancelledError:
            if task.cancelled():
                raise
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return result


def backoff_seconds(base: float, retry: int) -> float:
    """The wait before retry number ``retry`` (1 for the first): ``base`` doubled per retry,
    capped, times a jitter of 0.5-1.5 so that notifications failing together (a robot down)
    do not all come back in the same instant."""
    return min(base * 2 ** (retry - 1), MAX_BACKOFF_SECONDS) * random.uniform(0.5, 1.5)


class ChannelAttempts:
    """Delivers notifications on their routes, at most once per notification and channel."""

    def __init__(
        self,
        pool: Callable[[], asyncpg.Pool],
        dead_letter: DeadLetterer,
        secrets: Sequence[str],
        max_attempts: int,
        backoff_base: float,
        concurrency: int,
    ) -> None:
        self._pool = pool
        self._dead_letter = dead_letter
        self._secrets = secrets
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        #: bounds the sends in flight, so one slow robot cannot take every connection
        self._sending = asyncio.Semaphore(concurrency)

    async def deliver(self, received: Received, route: Route) -> None:
        n = received.notification
        if route.destination is not None and await wait_out(
            "claimed", partial(self._claimed, n.notification_id, route.channel)
        ):
            # A redelivery (a restart mid-burst): known without waiting for the rate limit.
            log.debug("notification %s on %s: already claimed", n.notification_id, route.channel)
            return
        slot = await self._slot(route)
        try:
            first = await wait_out("claim", partial(self._claim, n.notification_id, route.channel))
        except BaseException:
            slot.release(used=False)
            raise
        if first is None:
            slot.release(used=False)
            log.debug("notification %s on %s: already claimed", n.notification_id, route.channel)
            return
        try:
            await self._attempts(received, route, first, slot)
        except BaseException:
            # Stopped (or a bug) before the outcome was recorded: let the redelivery send it.
            slot.release(used=False)
            await asyncio.shield(self._release(n.notification_id, route.channel))
            raise

    async def _slot(self, route: Route) -> Slot:
        """Wait for the route's destination to take one more request (at once without a
        rate limit)."""
        destination = route.destination
        if destination is None:
            return UNLIMITED
        if not destination.caught_up:
            await self._catch_up(destination)
        waiting = DELIVERIES_WAITING.labels(route.label)
        waiting.inc()
        try:
            return await destination.window.acquire()
        finally:
            waiting.dec()

    async def _catch_up(self, destination: Destination) -> None:
        """Count the destination's requests that this process did not make (a restart
        mid-burst), once, from ``notification_deliveries``."""
        window = destination.window

        async def recent() -> list[float]:
            rows = await self._pool().fetch(
                _RECENT_ATTEMPTS, destination.channels, window.seconds, window.limit
            )
            return [float(r["ago"]) for r in rows]

        async with destination.catching_up:
            if not destination.caught_up:
                window.remember(await wait_out("recent attempts", recent))
                destination.caught_up = True

    async def _attempts(self, received: Received, route: Route, first: int, slot: Slot) -> None:
        last = max(first, self._max_attempts)
        for attempt in range(first, last + 1):
            if attempt > first:
                slot = await self._slot(route)
            outcome = await outlive_cancellation(
                self._attempt_and_record(received, route, attempt, last, slot)
            )
            if outcome != "retried":
                return
            await asyncio.sleep(backoff_seconds(self._backoff_base, attempt - first + 1))

    async def _attempt_and_record(
        self, received: Received, route: Route, attempt: int, last: int, slot: Slot
    ) -> str:
        """One attempt, its outcome stored (and dead-lettered after the last); the outcome."""
        n = received.notification
        try:
            error = await self._attempt(route)
        finally:
            slot.release()  # sent or not, the request may have reached the destination
        if error is None:
            outcome = "delivered"
        elif attempt < last:
            outcome = "retried"
        else:
            outcome = "failed"
            # The dead letter goes out before the outcome is stored: a crash between the
            # two leaves the claim "sending", never a failure without its dead letter.
            await self._dead_letter(
                DeadLetter(received.message, "delivery_failed", error, route.channel)
            )
        await wait_out(
            "record attempt",
            partial(self._record, n.notification_id, route.channel, attempt, outcome, error),
        )
        DELIVERIES.labels(route.label, outcome).inc()
        log.log(
            logging.INFO if outcome == "delivered" else logging.WARNING,
            "notification %s on %s: %s (attempt %d of %d)%s",
            n.notification_id,
            route.channel,
            outcome,
            attempt,
            last,
            f": {error}" if error else "",
        )
        return outcome

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

    async def _claimed(self, notification_id: str, channel: str) -> bool:
        return await self._pool().fetchval(_CLAIMED, notification_id, channel) is not None

    async def _claim(self, notification_id: str, channel: str) -> int | None:
        """The first attempt number if this worker took the channel, else None."""
        async with self._pool().acquire() as conn, conn.transaction():
            if await conn.fetchval(_CLAIM, notification_id, channel) is None:
                return None
            return int(await conn.fetchval(_NEXT_ATTEMPT, notification_id, channel))

    async def _record(
        self, notification_id: str, channel: str, attempt: int, outcome: str, error: str | None
    ) -> None:
        status = "sending" if outcome == "retried" else outcome
        async with self._pool().acquire() as conn, conn.transaction():
            await conn.execute(_RECORD_ATTEMPT, notification_id, channel, attempt, outcome, error)
            await conn.execute(_SET_STATUS, notification_id, channel, status, attempt)

    async def _release(self, notification_id: str, channel: str) -> None:
        try:
            await self._pool().execute(_RELEASE, notification_id, channel)
        except Exception as exc:
            log.warning(
                "notification %s on %s: claim not released (%s); it will not be sent again",
                notification_id,
                channel,
                type(exc).__name__,
            )
