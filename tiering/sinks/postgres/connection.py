"""The one way the service opens PostgreSQL: a connection or a pool that works in the
deployment's schema (``Settings.db_schema``) and names itself in ``pg_stat_activity``; and the
one way it waits out PostgreSQL being away."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from tiering.metrics import SINK_RETRIES
from tiering.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

#: errors worth waiting out: the server restarting, the network, too many clients
TRANSIENT = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.AdminShutdownError,
)


class NotMigratedError(RuntimeError):
    """The deployment's schema does not have the tables a command needs yet."""


def _server_settings(settings: Settings, application_name: str) -> dict[str, str]:
    return {"search_path": settings.db_schema, "application_name": application_name[:63]}


async def connect(
    settings: Settings,
    application_name: str,
    *,
    requires_table: str | None = None,
    database: str | None = None,
) -> asyncpg.Connection:
    """A connection to ``TIERING_DATABASE_URL`` (or another ``database`` on that server) in the
    deployment's schema; with ``requires_table``, one known to have that table."""
    conn = await asyncpg.connect(
        settings.database_url.get_secret_value(),
        database=database,
        server_settings=_server_settings(settings, application_name),
    )
    if requires_table is not None and not await conn.fetchval(
        "SELECT to_regclass($1) IS NOT NULL", requires_table
    ):
        await conn.close()
        raise NotMigratedError(
            f"schema {settings.db_schema} has no table {requires_table}: run `tiering db migrate`"
        )
    return conn


async def create_pool(settings: Settings, application_name: str, max_size: int) -> asyncpg.Pool:
    """A pool whose connections work in the deployment's schema."""
    pool = await asyncpg.create_pool(
        settings.database_url.get_secret_value(),
        min_size=1,
        max_size=max_size,
        server_settings=_server_settings(settings, application_name),
    )
    assert pool is not None
    return pool


async def wait_out(
    what: str, fn: Callable[[], Awaitable[T]], on_retry: Callable[[], None] | None = None
) -> T:
    """Run ``fn``; PostgreSQL being away (restart, network, too many clients) is waited out
    with capped exponential backoff and jitter, for as long as it takes; any other error is
    raised (a bug, not a passing fault)."""
    delay = 0.1
    attempt = 0
    while True:
        try:
            return await fn()
        except TRANSIENT as exc:
            attempt += 1
            SINK_RETRIES.labels("postgres").inc()
            if on_retry is not None:
                on_retry()
            log.warning(
                "PostgreSQL %s failed (attempt %d, %s); retrying in %.1fs",
                what,
                attempt,
                type(exc).__name__,
                delay,
            )
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, 10.0)
