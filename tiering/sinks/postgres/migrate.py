"""Plain SQL migrations (``migrations/NNN_*.sql`` beside this module), applied once each, in
order.

Each deployment keeps its tables in its own schema (``Settings.db_schema``), so several
deployments can share one database.
"""

from __future__ import annotations

import logging
from importlib import resources
from urllib.parse import unquote, urlsplit

import asyncpg

from tiering.settings import Settings
from tiering.sinks.postgres.connection import connect

log = logging.getLogger(__name__)

_LOCK_ID = 0x7469657269  # "tieri": one migrator at a time per database
_APPLICATION_NAME = "tiering-migrate"


def migration_files() -> list[tuple[str, str]]:
    """``(name, sql)`` of every packaged migration, in order."""
    folder = resources.files("tiering.sinks.postgres").joinpath("migrations")
    names = sorted(f.name for f in folder.iterdir() if f.name.endswith(".sql"))
    return [(name, folder.joinpath(name).read_text("utf-8")) for name in names]


async def ensure_database(settings: Settings) -> None:
    """Create the database named in ``TIERING_DATABASE_URL`` if the server does not have it."""
    try:
        conn = await connect(settings, _APPLICATION_NAME)
    except asyncpg.InvalidCatalogNameError:
        dsn = settings.database_url.get_secret_value()
        database = unquote(urlsplit(dsn).path.lstrip("/"))
        admin = await connect(settings, _APPLICATION_NAME, database="postgres")
        try:
            await admin.execute(f'CREATE DATABASE "{database}"')
            log.info("created database %s", database)
        except asyncpg.DuplicateDatabaseError:
            pass
        finally:
            await admin.close()
    else:
        await conn.close()


async def migrate(settings: Settings) -> list[str]:
    """Apply the migrations not yet applied in the deployment's schema; return their names."""
    await ensure_database(settings)
    schema = settings.db_schema
    conn = await connect(settings, _APPLICATION_NAME)
    applied: list[str] = []
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ID)
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            await conn.execute(f'SET LOCAL search_path TO "{schema}"')
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
            for name, sql in migration_files():
                if name in done:
                    continue
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
                applied.append(name)
                log.info("applied migration %s in schema %s", name, schema)
    finally:
        await conn.close()
    return applied
