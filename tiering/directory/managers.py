"""The managers' directory: who looks after which customer (``tiering import-managers``).

The CSV file has the columns ``manager_id, name, team, branch_id, email, customer_id``, one line
per (manager, customer) assignment; a line with an empty ``customer_id`` only defines the
manager. A manager whose ``branch_id`` is the head office's (``TIERING_HEAD_OFFICE_BRANCH``,
``HQ``) works at head office: the inbox shows them their team's notifications without a branch,
and a private banker there every branch's private-banking notifications
(``tiering.inbox.queries``). An optional ``language`` column gives the manager's preferred
language (``zh-CN``, ``zh-TW``, ``en``...; empty: their browser's, else the deployment's), an
optional ``role`` column ``manager`` (empty: the same) or ``supervisor``: a supervisor also
reads, in the inbox, the record of who looked at their branch's notifications (at head office,
every branch's).
Every line carries the manager's whole record, so any batch of lines can be written on its
own. A bad line is reported with its line number and the rest are still loaded, in one
transaction; importing the same file twice changes nothing.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import asyncpg
from rich.progress import Progress

from tiering.core.teams import Team
from tiering.csv_files import Rejected, count_lines, read_csv
from tiering.i18n import Language, language_of
from tiering.settings import Settings
from tiering.sinks.postgres.connection import connect

COLUMNS = ("manager_id", "name", "team", "branch_id", "email", "customer_id")
#: may be left out of the header
OPTIONAL_COLUMNS = ("language", "role")
#: the directory's roles (``managers.role``)
ROLES = ("manager", "supervisor")
#: lines written per statement; all of them in one transaction
BATCH = 5000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class Manager:
    manager_id: str
    name: str
    team: str
    branch_id: str
    email: str | None
    language: Language | None = None
    role: str = "manager"


@dataclass(frozen=True, slots=True)
class DirectoryLine:
    """One good line: the manager it defines and, unless empty, the customer they look after."""

    manager: Manager
    customer_id: str | None


def parse_row(row: dict[str, str]) -> DirectoryLine:
    """One CSV row as a DirectoryLine; ``ValueError`` says what is wrong."""
    values = {c: (row.get(c) or "").strip() for c in COLUMNS + OPTIONAL_COLUMNS}
    for column in ("manager_id", "name", "team", "branch_id"):
        if not values[column]:
            raise ValueError(f"{column} is empty")
    team = values["team"].upper()
    if team not in Team.__members__:
        raise ValueError(f"team {values['team']!r} is not one of {', '.join(Team)}")
    email = values["email"] or None
    if email is not None and not _EMAIL.match(email):
        raise ValueError(f"email {email!r} is not an e-mail address")
    language = language_of(values["language"])
    if values["language"] and language is None:
        raise ValueError(
            f"language {values['language']!r} is not one of zh-CN (Simplified Chinese), "
            "zh-TW (Traditional Chinese) or en"
        )
    role = values["role"].lower() or "manager"
    if role not in ROLES:
        raise ValueError(f"role {values['role']!r} is not one of {', '.join(ROLES)}")
    manager = Manager(
        values["manager_id"], values["name"], team, values["branch_id"], email, language, role
    )
    return DirectoryLine(manager, values["customer_id"] or None)


@dataclass
class _Seen:
    """What earlier lines said, so that a later line cannot silently contradict them."""

    managers: dict[str, tuple[Manager, int]] = field(default_factory=dict)
    customers: dict[str, tuple[str, int]] = field(default_factory=dict)

    def check(self, line: int, item: DirectoryLine) -> str | None:
        """The reason ``item`` contradicts an earlier line, or None (and remember it)."""
        m = item.manager
        earlier = self.managers.get(m.manager_id)
        if earlier is not None and earlier[0] != m:
            differ = [
                f
                for f in ("name", "team", "branch_id", "email", "language", "role")
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


def read_directory(stream: TextIO) -> Iterator[tuple[int, DirectoryLine | Rejected]]:
    """``(line number, DirectoryLine or Rejected)`` for every data line; header problems raise.

    The first line that defines a manager or assigns a customer wins; a later line that says
    otherwise is rejected, naming the line it contradicts (a customer has one manager)."""
    seen = _Seen()

    def parse(line: int, row: dict[str, str]) -> DirectoryLine:
        item = parse_row(row)
        conflict = seen.check(line, item)
        if conflict is not None:
            raise ValueError(conflict)
        return item

    return read_csv(stream, COLUMNS, parse)


_UPSERT_MANAGERS = """
INSERT INTO managers (manager_id, name, team, branch_id, email, language, role, updated_at)
SELECT m.*, now()
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::text[]) AS m
ON CONFLICT (manager_id) DO UPDATE
SET name = EXCLUDED.name, team = EXCLUDED.team, branch_id = EXCLUDED.branch_id,
    email = EXCLUDED.email, language = EXCLUDED.language, role = EXCLUDED.role,
    updated_at = EXCLUDED.updated_at
WHERE (managers.name, managers.team, managers.branch_id, managers.email, managers.language,
       managers.role)
      IS DISTINCT FROM
      (EXCLUDED.name, EXCLUDED.team, EXCLUDED.branch_id, EXCLUDED.email, EXCLUDED.language,
       EXCLUDED.role)
"""

_UPSERT_ASSIGNMENTS = """
INSERT INTO customer_managers (customer_id, manager_id, updated_at)
SELECT a.*, now() FROM unnest($1::text[], $2::text[]) AS a
ON CONFLICT (customer_id) DO UPDATE
SET manager_id = EXCLUDED.manager_id, updated_at = EXCLUDED.updated_at
WHERE customer_managers.manager_id IS DISTINCT FROM EXCLUDED.manager_id
"""


async def _write_batch(conn: asyncpg.Connection, batch: Iterable[DirectoryLine]) -> None:
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
        [m.language for m in ms],
        [m.role for m in ms],
    )
    if customers:
        await conn.execute(_UPSERT_ASSIGNMENTS, list(customers), list(customers.values()))


@dataclass(frozen=True, slots=True)
class ImportResult:
    managers: int
    assignments: int
    rejected: list[Rejected]


async def import_directory(settings: Settings, file: Path, dry_run: bool = False) -> ImportResult:
    """Read ``file`` and upsert its good lines in batches, all in one transaction (a file is
    loaded wholly or, if the database fails, not at all), with a progress bar."""
    total = count_lines(file)
    conn = (
        None if dry_run else await connect(settings, "tiering", requires_table="customer_managers")
    )
    managers: set[str] = set()
    assignments, rejected = 0, []
    try:
        async with conn.transaction() if conn is not None else contextlib.nullcontext():
            with Progress() as progress, file.open(newline="", encoding="utf-8-sig") as f:
                task = progress.add_task("managers' directory", total=total)
                batch: list[DirectoryLine] = []
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
