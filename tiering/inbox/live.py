"""Live arrival: one dedicated PostgreSQL connection LISTENs on the deployment's channel (the
trigger of migration 002 sends each new notification's id) and hands every id to each connected
browser's queue; the browser's own request then checks, in SQL, whether its manager may see it.

One listening connection per process, however many browsers: connections are the scarce
resource, ids are cheap. If the connection drops it is made again with backoff, the outage told
in a few lines (:mod:`tiering.outages`); ids sent in the gap are not replayed (a reload of the
page shows them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from tiering.settings import Settings
from tiering.sinks.postgres.connection import connect, is_outage, wait_out

log = logging.getLogger(__name__)

#: ids a slow browser may fall behind by before its stream is closed (EventSource reconnects)
QUEUE_SIZE = 1000


def channel_name(schema: str) -> str:
    """The channel migration 002's trigger notifies: ``tiering_notifications_<schema>``."""
    return f"tiering_notifications_{schema}"


class Broadcaster:
    """Fans notification ids out to subscribers. ``None`` in a queue means: stop."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.channel = channel_name(settings.db_schema)
        #: how the listening connection shows in pg_stat_activity
        self.application_name = f"tiering-inbox-listener:{settings.db_schema}"[:63]
        self._subscribers: set[asyncio.Queue[str | None]] = set()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen in the background; return once LISTEN is in place, so that nothing inserted
        after start-up is missed (the first connection's errors are raised here)."""
        conn = await self._connect()
        self._task = asyncio.create_task(self._run(conn), name="inbox-listener")

    async def _connect(self) -> asyncpg.Connection:
        conn = await connect(self._settings, self.application_name)
        # asyncpg quotes the channel as an identifier: LISTEN "tiering_notifications_<schema>"
        await conn.add_listener(self.channel, self._on_notify)
        return conn

    async def _run(self, conn: asyncpg.Connection | None) -> None:
        while True:
            try:
                if conn is None:
                    # with backoff while PostgreSQL is away, the outage told in a few lines
                    conn = await wait_out("listen", self._connect)
                    assert conn is not None
                    log.info("listening again for new notifications")
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                while not conn.is_closed() and not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), 30)
                    if not lost.is_set():
                        await conn.execute("SELECT 1")  # notice a silently dead connection
            except asyncio.CancelledError:
                if conn is not None:
                    await asyncio.shield(conn.close(timeout=5))
                raise
            except Exception as exc:
                if not is_outage(exc):
                    raise
                # the connection was lost while listening: made again above
            if conn is not None:
                conn.terminate()
                conn = None

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(payload)
            except asyncio.QueueFull:
                self._drop(queue)

    def _drop(self, queue: asyncio.Queue[str | None]) -> None:
        """End a subscriber's stream: empty its queue and leave the stop mark."""
        self._subscribers.discard(queue)
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(None)

    def subscribe(self) -> asyncio.Queue[str | None]:
        queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str | None]) -> None:
        self._subscribers.discard(queue)

    def end_streams(self) -> None:
        """Tell every open event stream to finish (the server is shutting down)."""
        for queue in list(self._subscribers):
            self._drop(queue)

    async def stop(self) -> None:
        self.end_streams()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
