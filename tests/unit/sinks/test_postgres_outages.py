"""Which failures are PostgreSQL being away (waited out) and which are bugs (raised)."""

from __future__ import annotations

import asyncio
import ssl

import asyncpg
import pytest
from asyncpg.exceptions import InternalClientError

from tiering.settings import Settings
from tiering.sinks.postgres import connection
from tiering.sinks.postgres.connection import is_outage, postgres_dependency, wait_out


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
        ssl.SSLError("unexpected eof"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.InterfaceError("connection is closed"),
        # the error one worker exited on: the dropped connection left the protocol mid-state
        InternalClientError("cannot switch to state 15; another operation (2) is in progress"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.SerializationError("could not serialize access"),
        asyncpg.DeadlockDetectedError("deadlock detected"),
    ],
    ids=type,
)
def test_failures_to_reach_or_keep_a_connection_are_outages(exc: BaseException) -> None:
    assert is_outage(exc)


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.UndefinedTableError('relation "customer_balances" does not exist'),
        asyncpg.UniqueViolationError("duplicate key"),
        asyncpg.PostgresSyntaxError("syntax error"),
        asyncpg.InvalidPasswordError('password authentication failed for user "tiering"'),
        asyncpg.DataError("invalid input for query argument $1"),
        ValueError("a bug"),
        KeyError("a bug"),
    ],
    ids=type,
)
def test_what_the_server_refuses_and_our_own_mistakes_are_not(exc: BaseException) -> None:
    assert not is_outage(exc)


def test_the_database_is_named_by_host_and_port_never_by_its_credentials() -> None:
    settings = Settings(database_url="postgresql://tiering:s3cret@db.bank.internal:6432/tiering")
    assert "s3cret" not in postgres_dependency(settings).name
    assert connection._host_and_port(settings) == "db.bank.internal:6432"
    socket = Settings(database_url="postgresql:///tiering?host=/run/postgresql&port=5433")
    assert connection._host_and_port(socket) == "/run/postgresql:5433"


async def test_an_outage_is_waited_out_and_a_bug_is_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sleep = asyncio.sleep
    monkeypatch.setattr(connection.asyncio, "sleep", lambda _s: sleep(0))
    failures = [ConnectionRefusedError(111, "refused")] * 3
    calls = 0

    async def write() -> str:
        nonlocal calls
        calls += 1
        if failures:
            raise failures.pop()
        return "stored"

    assert await wait_out("write", write) == "stored"
    assert calls == 4

    async def wrong() -> None:
        raise asyncpg.UndefinedColumnError('column "x" does not exist')

    with pytest.raises(asyncpg.UndefinedColumnError):
        await wait_out("write", wrong)
