"""The managers' directory: who looks after which customer (``tiering import-managers``) and
the managers' inbox sign-in tokens (``tiering managers token``).

The CSV file has the columns ``manager_id, name, team, branch_id, email, customer_id``, one line
per (manager, customer) assignment; a line with an empty ``customer_id`` only defines the
manager. Every line carries the manager's whole record, so any batch of lines can be written on
its own. A bad line is reported with its line number and the rest are still loaded, in one
transaction; importing the same file twice changes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import asyncpg
from rich.progress import Progress

from streams.csv_import import CsvFileError, Rejected, count_lines, read_csv
from streams.settings import Settings

__all__ = ["CsvFileError", "Rejected", "import_directory", "issue_token", "read_directory"]

COLUMNS = ("manager_id", "name", "team", "branch_id", "email", "customer_id")
#: the teams of the policy's §4, one per tier
TEAMS = ("BRANCH_SERVICE", "CUSTOMER_MANAGER", "WEALTH_TEAM", "PRIVATE_BANKING")
#: lines written per statement; all of them in one transaction
BATCH = 5000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UnknownManagerError(LookupError):
    """No manager with that id in the directory."""


class NotMigratedError(RuntimeError):
    """The deployment's schema has no directory tables yet."""


@dataclass(frozen=True, slots=True)
class Manager:
    manager_id: str
    name: str
    team: str
    branch_id: str
    email: str | None


@dataclass(frozen=True, slots=True)
class Assignment:
    """One good line: the manager it defines and, unless empty, the customer they look after."""

    manager: Manager
    customer_id: str | None


def parse_row(row: dict[str, str]) -> Assignment:
    """One CSV row as an Assignment; ``ValueError`` says what is wrong."""
    values = {c: (row.get(c) or "").strip() for c in COLUMNS}
    for column in ("manager_id", "name", "team", "branch_id"):
        if not values[column]:
            raise ValueError(f"{column} is empty")
    team = values["team"].upper()
    if team not in TEAMS:
        raise ValueError(f"team {values['team']!r} is not one of {', '.join(TEAMS)}")
    email = values["email"] or None
    if email is not None and not _EMAIL.match(email):
        raise ValueError(f"email {email!r} is not an e-mail address")
    manager = Manager(values["manager_id"], values["name"], team, values["branch_id"], email)
    return Assignment(manager, values["customer_id"] or None)


@dataclass
class _Seen:
    """What earlier lines said, so that a later line cannot silently contradict them."""

    managers: dict[str, tuple[Manager, int]] = field(default_factory=dict)
    customers: dict[str, tuple[str, int]] = field(default_factory=dict)

    def check(self, line: int, item: Assignment) -> str | None:
        """The reason ``item`` contradicts an earlier line, or None (and remember it)."""
        m = item.manager
        earlier = self.managers.get(m.manager_id)
        if earlier is not None and earlier[0] != m:
            differ = [
                f
                for f in ("name", "team", "branch_id", "email")
                if getattr(earlier[0], f) != getattr(m, f)
            ]
            return f"manager {m.manager_id} has another {', '.join(differ)} on line {earlier[1]}"
        if item.customer_id is not None:
            assigned = self.customers.get(item.customer_id)
            if assigned is not None and assigned[0] != m.manager_id:
                return (
                    f"customer {item.customer_id} is already assigned to manager {assigned[0]}"
                    f" on line {assigned[1]}"
                )
            if assigned is None:
                self.customers[item.customer_id] = (m.manager_id, line)
        if earlier is None:
            self.managers[m.manager_id] = (m, line)
        return None


def read_directory(stream: TextIO) -> Iterator[tuple[int, Assignment | Rejected]]:
    """``(line number, Assignment or Rejected)`` for every data line; header problems raise.

    The first line that defines a manager or assigns a customer wins; a later line that says
    otherwise is rejected, naming the line it contradicts (a customer has one manager)."""
    seen = _Seen()

    def parse(line: int, row: dict[str, str]) -> Assignment:
        item = parse_row(row)
        conflict = seen.check(line, item)
        if conflict is not None:
            raise ValueError(conflict)
        return item

    return read_csv(stream, COLUMNS, parse)


_UPSERT_MANAGERS = """
INSERT INTO managers (manager_id, name, team, branch_id, email, updated_at)
SELECT m.*, now() FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS m
ON CONFLICT (manager_id) DO UPDATE
SET name = EXCLUDED.name, team = EXCLUDED.team, branch_id = EXCLUDED.branch_id,
    email = EXCLUDED.email, updated_at = EXCLUDED.updated_at
WHERE (managers.name, managers.team, managers.branch_id, managers.email)
      IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.team, EXCLUDED.branch_id, EXCLUDED.email)
"""

_UPSERT_ASSIGNMENTS = """
INSERT INTO customer_managers (customer_id, manager_id, updated_at)
SELECT a.*, now() FROM unnest($1::text[], $2::text[]) AS a
ON CONFLICT (customer_id) DO UPDATE
SET manager_id = EXCLUDED.manager_id, updated_at = EXCLUDED.updated_at
WHERE customer_managers.manager_id IS DISTINCT FROM EXCLUDED.manager_id
"""


async def _write_batch(conn: asyncpg.Connection, batch: Iterable[Assignment]) -> None:
    """Upsert one batch: its managers first (the assignments refer to them), each once.
    Unchanged rows are not touched, so a second import changes nothing."""
    managers = {a.manager.manager_id: a.manager for a in batch}
    customers = {a.customer_id: a.manager.manager_id for a in batch if a.customer_id}
    ms = list(managers.values())
    await conn.execute(
        _UPSERT_MANAGERS,
        [m.manager_id for m in ms],
        [m.name for m in ms],
        [m.team for m in ms],
        [m.branch_id for m in ms],
        [m.email for m in ms],
    )
    if customers:
        await conn.execute(_UPSERT_ASSIGNMENTS, list(customers), list(customers.values()))


@dataclass(frozen=True, slots=True)
class ImportResult:
    managers: int
    assignments: int
    rejected: list[Rejected]


async def connect(settings: Settings, table: str = "customer_managers") -> asyncpg.Connection:
    """A connection to this deployment's schema, once it is known to have ``table``."""
    conn = await asyncpg.connect(
        settings.database_url.get_secret_value(),
        server_settings={"search_path": settings.db_schema, "application_name": "tiering"},
    )
    if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table):
        await conn.close()
        raise NotMigratedError(
            f"schema {settings.db_schema} has no table {table}: run `tiering db migrate`"
        )
    return conn


async def import_directory(settings: Settings, file: Path, dry_run: bool = False) -> ImportResult:
    """Read ``file`` and upsert its good lines in batches, all in one transaction (a file is
    loaded wholly or, if the database fails, not at all), with a progress bar."""
    total = count_lines(file)
    conn = None if dry_run else await connect(settings)
    managers: set[str] = set()
    assignments, rejected = 0, []
    try:
        async with conn.transaction() if conn is not None else contextlib.nullcontext():
            with Progress() as progress, file.open(newline="", encoding="utf-8-sig") as f:
                task = progress.add_task("managers' directory", total=total)
                batch: list[Assignment] = []
                for line, item in read_directory(f):
                    if isinstance(item, Rejected):
                        rejected.append(item)
                    else:
                        batch.append(item)
                        managers.add(item.manager.manager_id)
                        if item.customer_id is not None:
                            assignments += 1
                    if len(batch) >= BATCH:
                        if conn is not None:
                            await _write_batch(conn, batch)
                        batch.clear()
                        progress.update(task, completed=line - 1)
                if batch and conn is not None:
                    await _write_batch(conn, batch)
                progress.update(task, completed=total)
    finally:
        if conn is not None:
            await conn.close()
    return ImportResult(len(managers), assignments, rejected)


def hash_token(token: str) -> str:
    """SHA-256 hex of a sign-in token: what ``managers.token_hash`` holds.

    A plain fast hash is enough here, unlike for passwords: the tokens are 256 random bits
    (``secrets.token_urlsafe(32)``), so there is no dictionary to try and no salt or slow
    key-derivation function would add anything against guessing; the hash only keeps a read of
    the table from handing out working tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(settings: Settings, manager_id: str) -> str:
    """A new random sign-in token for ``manager_id``; only its hash is stored. The previous
    token stops working, and the inbox ends the sessions it opened."""
    token = secrets.token_urlsafe(32)
    conn = await connect(settings)
    try:
        done = await conn.fetchval(
            "UPDATE managers SET token_hash = $2, updated_at = now() WHERE manager_id = $1"
            " RETURNING true",
            manager_id,
            hash_token(token),
        )
    finally:
        await conn.close()
    if not done:
        raise UnknownManagerError(f"no manager {manager_id!r} in the directory")
    return token
