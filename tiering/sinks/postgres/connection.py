"""The one way the service opens PostgreSQL: a connection or a pool that works in the
deployment's schema (``Settings.db_schema``) and names itself in ``pg_stat_activity``; and the
one way it waits out PostgreSQL being away."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

import asyncpg
from asyncpg.exceptions import InternalClientError

from tiering.metrics import SINK_RETRIES
from tiering.outages import Backoff, Dependency, dependency, reason_of
from tiering.settings import Settings

T = TypeVar("T")

#: seconds between attempts at most while PostgreSQL is away
RETRY_EVERY = 5.0
#: SQLSTATE classes the server sends when it cannot serve now rather than when a statement is
#: wrong: connection exception, insufficient resources, operator intervention (shutting down,
#: restarting), system error
_SERVER_AWAY = frozenset({"08", "53", "57", "58"})
#: a transaction that lost a race with another: run again
_RUN_AGAIN = frozenset({"40001", "40P01"})


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` means PostgreSQL cannot be reached or kept now, judged by who reported
    what, not by a list of exception classes.

    The server answered with an error: an outage only if it says it cannot serve (shutting
    down, too many clients) or the transaction lost a race; any other answer (a wrong
    statement, a constraint) is a bug. Anything that failed on the client side is a
    connection lost or never made (refused, reset, timed out, TLS, a protocol state the
    dropped connection left behind, such as asyncpg's ``cannot switch to state``), except
    arguments the client could not encode, which are a bug too.
    """
    if isinstance(exc, asyncpg.PostgresError):
        state = exc.sqlstate or ""
        return state[:2] in _SERVER_AWAY or state in _RUN_AGAIN
    if isinstance(exc, (asyncpg.DataError, asyncpg.ClientConfigurationError)):
        return False
    client_side = (OSError, TimeoutError, asyncpg.InterfaceError, InternalClientError)
    return isinstance(exc, client_side)


def postgres_dependency(settings: Settings) -> Dependency:
    """This process's PostgreSQL, named by host and port (never its user or password)."""
    return dependency("postgres", f"PostgreSQL at {_host_and_port(settings)}", RETRY_EVERY)


def _host_and_port(settings: Settings) -> str:
    url = urlsplit(settings.database_url.get_secret_value())
    query = parse_qs(url.query)
    host = url.hostname or (query.get("host") or ["localhost"])[0]
    port = url.port or (query.get("port") or ["5432"])[0]
    return f"{host}:{port}"


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
    postgres_dependency(settings)
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
    """A pool whose connections work in the deployment's schema. It opens them as they are
    needed (no floor: asyncpg keeps a floor by reconnecting in the background, a traceback in
    the log for every attempt while PostgreSQL is away)."""
    postgres_dependency(settings)
    pool = await asyncpg.create_pool(
        settings.database_url.get_secret_value(),
        min_size=0,
        max_size=max_size,
        server_settings=_server_settings(settings, application_name),
    )
    assert pool is not None
    return pool


async def wait_out(
    what: str, fn: Callable[[], Awaitable[T]], on_retry: Callable[[], None] | None = None
) -> T:
    """Run ``fn``; PostgreSQL being away (:func:`is_outage`) is waited out for as long as it
    takes, retrying with capped exponential backoff and jitter and telling the outage in a few
    lines (:class:`~tiering.outages.Dependency`); any other error is raised (a bug, not a
    passing fault)."""
    away = dependency("postgres", retry_every=RETRY_EVERY)
    backoff = Backoff(RETRY_EVERY)
    while True:
        try:
            found = await fn()
        except Exception as exc:
            if not is_outage(exc):
                raise
            SINK_RETRIES.labels("postgres").inc()
            if on_retry is not None:
                on_retry()
            away.failed(f"{what} failed with {reason_of(exc)}")
            await asyncio.sleep(backoff.next_wait())
            continue
        away.answered()
        return found
