"""The inbox web application (``tiering inbox``): its routes, its database pool and listener,
and serving it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

from aiohttp import web

from tiering.directory.links import LINK_PATH
from tiering.inbox import pages, supervision
from tiering.inbox.frame import (
    BROADCASTER,
    KEEPALIVE,
    POOL,
    SETTINGS,
    SIGNER,
    AccessLogger,
    frame,
    on_prepare,
)
from tiering.inbox.language import HERE
from tiering.inbox.live import Broadcaster
from tiering.inbox.sessions import SessionSigner
from tiering.settings import Settings
from tiering.sinks.postgres.connection import create_pool, wait_out

log = logging.getLogger(__name__)

#: a comment on every open event stream this often keeps proxies from closing it
KEEPALIVE_SECONDS = 15.0


class InboxSetupError(RuntimeError):
    """The inbox cannot start (e.g. the schema is not migrated)."""


def create_app(settings: Settings, keepalive: float = KEEPALIVE_SECONDS) -> web.Application:
    """The inbox application; its database pool and listener open when it starts."""
    app = web.Application(middlewares=[frame])
    app[SETTINGS] = settings
    app[SIGNER] = SessionSigner.from_secret(settings.inbox_secret.get_secret_value())
    app[KEEPALIVE] = keepalive
    app.cleanup_ctx.append(_database)
    app.on_shutdown.append(_end_streams)
    app.on_response_prepare.append(on_prepare)
    app.router.add_get("/", pages.index)
    app.router.add_get("/healthz", pages.healthz)
    app.router.add_get("/signin", pages.signin_page)
    app.router.add_post("/signin", pages.signin)
    app.router.add_get(LINK_PATH, pages.signin_link)
    app.router.add_post("/signout", pages.signout)
    app.router.add_post("/language", pages.choose_language)
    app.router.add_get("/notifications", pages.notification_list)
    app.router.add_get("/notifications/{notification_id}", pages.notification_detail)
    app.router.add_post("/notifications/{notification_id}/ack", pages.acknowledge)
    app.router.add_get("/events", pages.events)
    app.router.add_get("/views", supervision.views)
    app.router.add_static("/static", HERE / "static")
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    # PostgreSQL away at the start is waited out, as later (the outage told in a few lines)
    pool = await wait_out("connect", lambda: create_pool(settings, "tiering-inbox", max_size=10))
    try:
        migrated = await pool.fetchval(
            "SELECT to_regclass('notifications') IS NOT NULL"
            " AND to_regclass('managers') IS NOT NULL"
            " AND to_regclass('notification_views') IS NOT NULL"
        )
        if not migrated:
            raise InboxSetupError(
                f"schema {settings.db_schema} lacks the inbox's tables: run `tiering db migrate`"
            )
        broadcaster = Broadcaster(settings)
        await wait_out("listen", broadcaster.start)
    except BaseException:
        await pool.close()
        raise
    app[POOL], app[BROADCASTER] = pool, broadcaster
    try:
        yield
    finally:
        await broadcaster.stop()
        await pool.close()


async def _end_streams(app: web.Application) -> None:
    if BROADCASTER in app:
        app[BROADCASTER].end_streams()


async def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Serve the inbox on ``host:port`` (default: the settings') until cancelled."""
    host = host or settings.inbox_host
    port = port or settings.inbox_port
    runner = web.AppRunner(create_app(settings), access_log_class=AccessLogger)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        log.info("managers' inbox on http://%s:%d/ (schema %s)", host, port, settings.db_schema)
        if host not in ("127.0.0.1", "::1", "localhost"):
            log.warning("serving plain HTTP beyond loopback: put a TLS-terminating proxy in front")
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


async def run_inbox(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """``serve`` for the command line: SIGTERM stops it as cleanly as Ctrl-C does."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await serve(settings, host, port)
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
