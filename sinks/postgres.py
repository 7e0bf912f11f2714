"""The PostgreSQL sink: customer balances and tier changes, batched and idempotent.

A batch is written in one transaction before the events behind it are acknowledged, so the
offsets Kafka holds never run ahead of the rows (quix-streams' sink-with-checkpoint idea).
Writes are idempotent: ``tier_changes`` by ``change_id``, ``customer_balances`` only forward
(``version``), so a replay after a crash changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg

from streams.core.ledger import TierDecision
from streams.core.money import from_fen
from streams.core.notifier import Assignment, CustomerContext, Team

if TYPE_CHECKING:
    from streams.profile_processor import ProfileRow
from streams.metrics import SINK_FLUSH, SINK_RETRIES

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T = TypeVar("T")

# Errors worth waiting out: the server restarting, the network, too many clients.
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


def timestamp(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


@dataclass(frozen=True, slots=True)
class BalanceRow:
    customer_id: str
    balance_fen: int
    tier: str
    version: int
    as_of_ms: int


_UPSERT_BALANCES = """
INSERT INTO customer_balances (customer_id, balance, tier, version, as_of, updated_at)
SELECT b.*, now()
FROM unnest($1::text[], $2::numeric[], $3::text[], $4::bigint[], $5::timestamptz[]) AS b
ON CONFLICT (customer_id) DO UPDATE
SET balance = EXCLUDED.balance, tier = EXCLUDED.tier, version = EXCLUDED.version,
    as_of = EXCLUDED.as_of, updated_at = EXCLUDED.updated_at
WHERE customer_balances.version < EXCLUDED.version
"""

_INSERT_TIER_CHANGES = """
INSERT INTO tier_changes (change_id, customer_id, previous_tier, new_tier, direction, balance,
                          trigger_event_id, event_time, decided_at, policy_version)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                     $6::numeric[], $7::text[], $8::timestamptz[], $9::timestamptz[], $10::text[])
ON CONFLICT (change_id) DO NOTHING
"""


_UPSERT_PROFILES = """
INSERT INTO customer_profiles (customer_id, logins_7d, logins_30d, channels, business_types,
                               views_7d, interest, last_ratings, last_seen, version, updated_at)
SELECT p.customer_id, p.logins_7d, p.logins_30d, p.channels::jsonb, p.business_types::jsonb,
       p.views_7d::jsonb, p.interest::jsonb,
       ARRAY(SELECT jsonb_array_elements_text(p.last_ratings::jsonb)::smallint),
       p.last_seen, p.version, now()
FROM unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[],
            $8::text[], $9::timestamptz[], $10::bigint[])
     AS p(customer_id, logins_7d, logins_30d, channels, business_types, views_7d, interest,
          last_ratings, last_seen, version)
ON CONFLICT (customer_id) DO UPDATE
SET logins_7d = EXCLUDED.logins_7d, logins_30d = EXCLUDED.logins_30d,
    channels = EXCLUDED.channels, business_types = EXCLUDED.business_types,
    views_7d = EXCLUDED.views_7d, interest = EXCLUDED.interest,
    last_ratings = EXCLUDED.last_ratings, last_seen = EXCLUDED.last_seen,
    version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
WHERE customer_profiles.version < EXCLUDED.version
"""

_CONTEXT = """
SELECT c.customer_id, m.manager_id, m.team, m.branch_id, r.risk_level
FROM unnest($1::text[]) AS c(customer_id)
LEFT JOIN customer_managers cm ON cm.customer_id = c.customer_id
LEFT JOIN managers m ON m.manager_id = cm.manager_id
LEFT JOIN customer_risk_profiles r ON r.customer_id = c.customer_id
WHERE m.manager_id IS NOT NULL OR r.risk_level IS NOT NULL
"""


class PostgresSink:
    """``write()`` returns once PostgreSQL holds the batch; transient errors are retried with
    capped exponential backoff for as long as it takes (the stream waits, nothing is lost)."""

    def __init__(self, dsn: str, schema: str, application_name: str) -> None:
        self._dsn = dsn
        self._schema = schema
        self._application_name = application_name
        self._pool: asyncpg.Pool | None = None

    async def start(self) -> None:
        self._pool = await self._retry("connect", self._connect)

    async def _connect(self) -> asyncpg.Pool:
        return await create_pool(self._dsn, self._schema, self._application_name, max_size=4)

    async def stop(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def write(
        self, balances: list[BalanceRow], changes: list[TierDecision], decided_at_ms: int
    ) -> None:
        if not balances and not changes:
            return
        started = time.perf_counter()
        await self._retry("write", self._write, balances, changes, decided_at_ms)
        SINK_FLUSH.labels("postgres").observe(time.perf_counter() - started)

    async def _write(
        self, balances: list[BalanceRow], changes: list[TierDecision], decided_at_ms: int
    ) -> None:
        assert self._pool is not None, "sink not started"
        async with self._pool.acquire() as conn, conn.transaction():
            if balances:
                await conn.execute(
                    _UPSERT_BALANCES,
                    [b.customer_id for b in balances],
                    [from_fen(b.balance_fen) for b in balances],
                    [b.tier for b in balances],
                    [b.version for b in balances],
                    [timestamp(b.as_of_ms) for b in balances],
                )
            if changes:
                decided_at = timestamp(decided_at_ms)
                await conn.execute(
                    _INSERT_TIER_CHANGES,
                    [c.change_id for c in changes],
                    [c.customer_id for c in changes],
                    [
                        c.previous_tier.name if c.previous_tier is not None else None
                        for c in changes
                    ],
                    [c.new_tier.name for c in changes],
                    [c.direction.value for c in changes],
                    [from_fen(c.balance_fen) for c in changes],
                    [c.trigger_event_id for c in changes],
                    [timestamp(c.event_time_ms) for c in changes],
                    [decided_at] * len(changes),
                    [c.policy_version for c in changes],
                )

    async def write_profiles(self, rows: list[ProfileRow]) -> None:
        """Upsert customer profiles, never back to an older version (§6)."""
        if not rows:
            return
        started = time.perf_counter()
        await self._retry("profile write", self._execute, _UPSERT_PROFILES, *_profile_columns(rows))
        SINK_FLUSH.labels("postgres").observe(time.perf_counter() - started)

    async def _execute(self, sql: str, *args: object) -> None:
        assert self._pool is not None, "sink not started"
        async with self._pool.acquire() as conn:
            await conn.execute(sql, *args)

    async def customer_context(self, customer_ids: list[str]) -> dict[str, CustomerContext]:
        """The manager (from the directory) and the risk tolerance of each customer that has
        either."""
        if not customer_ids:
            return {}
        rows = await self._retry("directory lookup", self._fetch, _CONTEXT, customer_ids)
        return {
            r["customer_id"]: CustomerContext(
                Assignment(r["manager_id"], Team(r["team"]), r["branch_id"])
                if r["manager_id"]
                else None,
                r["risk_level"],
            )
            for r in rows
        }

    async def _fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        assert self._pool is not None, "sink not started"
        async with self._pool.acquire() as conn:
            return list(await conn.fetch(sql, *args))

    async def _retry(self, what: str, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        return await wait_out(what, partial(fn, *args))


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


async def create_pool(dsn: str, schema: str, application_name: str, max_size: int) -> asyncpg.Pool:
    """A pool whose connections work in the deployment's schema."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=max_size,
        server_settings={"search_path": schema, "application_name": application_name},
    )
    assert pool is not None
    return pool


def _profile_columns(rows: list[ProfileRow]) -> list[list[object]]:
    def js(value: object) -> str:
        return json.dumps(value, separators=(",", ":"), sort_keys=True)

    return [
        [r.customer_id for r in rows],
        [r.logins_7d for r in rows],
        [r.logins_30d for r in rows],
        [js(r.channels) for r in rows],
        [js(r.business_types) for r in rows],
        [js(r.views_7d) for r in rows],
        [js(r.interest) for r in rows],
        [js(r.last_ratings) for r in rows],
        [timestamp(r.last_seen_ms) for r in rows],
        [r.version for r in rows],
    ]
