"""The PostgreSQL sink of the batch cycle: a batch's rows in one transaction, and the lookups
a processor asks for.

A batch is written before the events behind it are acknowledged, so the offsets Kafka holds
never run ahead of the rows (quix-streams' sink-with-checkpoint idea). The statements
themselves are idempotent (each domain's ``rows`` module), so a replay after a crash changes
nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import asyncpg

from tiering.metrics import SINK_FLUSH
from tiering.processing import Statement
from tiering.settings import Settings
from tiering.sinks.postgres.connection import create_pool, wait_out


class PostgresSink:
    """``write()`` returns once PostgreSQL holds the batch; PostgreSQL being away is waited out
    (the stream waits, nothing is lost)."""

    def __init__(self, settings: Settings, application_name: str) -> None:
        self._settings = settings
        self._application_name = application_name
        self._pool: asyncpg.Pool | None = None

    async def start(self) -> None:
        self._pool = await wait_out("connect", self._connect)

    async def _connect(self) -> asyncpg.Pool:
        return await create_pool(self._settings, self._application_name, max_size=4)

    async def stop(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def write(self, rows: Sequence[Statement]) -> None:
        """Every statement, in one transaction."""
        if not rows:
            return
        started = time.perf_counter()
        await wait_out("write", lambda: self._write(rows))
        SINK_FLUSH.labels("postgres").observe(time.perf_counter() - started)

    async def _write(self, rows: Sequence[Statement]) -> None:
        assert self._pool is not None, "sink not started"
        async with self._pool.acquire() as conn, conn.transaction():
            for statement in rows:
                await conn.execute(statement.sql, *statement.args)

    async def fetch(self, query: Statement) -> list[asyncpg.Record]:
        return await wait_out("lookup", lambda: self._fetch(query))

    async def _fetch(self, query: Statement) -> list[asyncpg.Record]:
        assert self._pool is not None, "sink not started"
        async with self._pool.acquire() as conn:
            return list(await conn.fetch(query.sql, *query.args))
