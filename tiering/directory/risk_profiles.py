"""Customers' risk assessments, 1 (lowest) to 5, each with its date (``tiering
import-risk-profiles``).

Recommendations stay within the customer's known risk tolerance (policy §9); an assessment
counts as known only for the policy's ``[suitability] assessment_valid_months`` after its date
(:func:`tiering.notify.rules.assessment_in_force`), and a customer without one is offered only
the lowest-risk products. CSV columns ``customer_id, risk_level, assessed_on`` (YYYY-MM-DD).

Every assessment is kept (``customer_risk_assessments``, §9's audit trail): a customer's
current one is the newest by ``assessed_on``. An assessment is never overwritten: a line giving
another level for a customer and day already recorded (in the database or earlier in the
file) is rejected, naming the level recorded; the same line again changes nothing.
"""

from __future__ import annotations

import contextlib
import csv
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import asyncpg
from rich.progress import Progress

from tiering.core.bank_time import CHINA_STANDARD_TIME
from tiering.csv_files import CsvFileError, Rejected, count_lines, read_csv
from tiering.settings import Settings
from tiering.sinks.postgres.connection import connect

#: assessed_on is required: an assessment without a date cannot be judged valid (§9), so a file
#: written before the column existed stops with an error naming it instead of loading undated
COLUMNS = ("customer_id", "risk_level", "assessed_on")
BATCH = 5000
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# Lines that contradict an assessment already stored for the customer and day.
_CONFLICTS = """
SELECT r.line, a.risk_level
FROM unnest($1::text[], $2::date[], $3::smallint[], $4::integer[])
     AS r(customer_id, assessed_on, risk_level, line)
JOIN customer_risk_assessments a USING (customer_id, assessed_on)
WHERE a.risk_level <> r.risk_level
"""
_INSERT = """
INSERT INTO customer_risk_assessments (customer_id, assessed_on, risk_level)
SELECT * FROM unnest($1::text[], $2::date[], $3::smallint[])
ON CONFLICT (customer_id, assessed_on) DO NOTHING
"""


@dataclass(frozen=True, slots=True)
class Assessment:
    """One line of the file."""

    customer_id: str
    risk_level: int
    assessed_on: date


def today() -> date:
    """The bank's calendar day now (China Standard Time): no assessment is dated after it."""
    return datetime.now(CHINA_STANDARD_TIME).date()


def parse_row(row: dict[str, str], latest: date) -> Assessment:
    """One line; ``ValueError`` names what is wrong. ``latest``: the last acceptable date."""
    customer_id = (row.get("customer_id") or "").strip()
    if not customer_id:
        raise ValueError("customer_id is empty")
    text = (row.get("risk_level") or "").strip()
    if not text.isdigit() or not 1 <= int(text) <= 5:
        raise ValueError(f"risk_level {text!r} must be a whole number from 1 to 5")
    raw = (row.get("assessed_on") or "").strip()
    if not raw:
        raise ValueError("assessed_on is empty: an assessment without a date cannot be judged")
    try:
        if not _ISO_DATE.fullmatch(raw):
            raise ValueError(raw)
        assessed_on = date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"assessed_on {raw!r} is not a date (YYYY-MM-DD)") from None
    if assessed_on > latest:
        raise ValueError(f"assessed_on {raw} is after today ({latest.isoformat()})")
    return Assessment(customer_id, int(text), assessed_on)


def check_header(file: Path) -> None:
    """A file written before assessments had dates is refused as a whole, saying why."""
    try:
        with file.open(newline="", encoding="utf-8-sig") as f:
            header = [h.strip() for h in next(csv.reader(f), [])]
    except UnicodeDecodeError:
        return  # read_csv names it
    if "assessed_on" not in header and {"customer_id", "risk_level"} <= set(header):
        raise CsvFileError(
            "no assessed_on column: give the date of each assessment (YYYY-MM-DD); an "
            "assessment without a date cannot be judged valid (policy §9), so none is loaded"
        )


class _Lines:
    """The accepted lines of the file so far, each customer and day once, and the batch of
    them not yet written."""

    def __init__(self) -> None:
        #: (customer, day) → (level, line) for the whole file: a later contradiction is named
        self.seen: dict[tuple[str, date], tuple[int, int]] = {}
        self.batch: list[tuple[int, Assessment, dict[str, str]]] = []

    def add(self, line: int, a: Assessment, row: dict[str, str]) -> Rejected | None:
        earlier = self.seen.get((a.customer_id, a.assessed_on))
        if earlier is None:
            self.seen[a.customer_id, a.assessed_on] = (a.risk_level, line)
            self.batch.append((line, a, row))
            return None
        if earlier[0] != a.risk_level:
            return Rejected(
                line, _contradiction(a.assessed_on, earlier[0], f"line {earlier[1]}"), row
            )
        return None  # the same assessment twice: nothing to add


def _contradiction(day: date, level: int, where: str) -> str:
    return (
        f"another risk_level for the customer's assessment of {day.isoformat()}: "
        f"{where} has {level} (an assessment is never overwritten)"
    )


async def _write(
    conn: asyncpg.Connection, batch: list[tuple[int, Assessment, dict[str, str]]]
) -> list[Rejected]:
    """Insert the batch's new assessments; return the lines that contradict stored ones."""
    ids = [a.customer_id for _, a, _ in batch]
    days = [a.assessed_on for _, a, _ in batch]
    levels = [a.risk_level for _, a, _ in batch]
    numbers = [line for line, _, _ in batch]
    stored = {
        r["line"]: r["risk_level"] for r in await conn.fetch(_CONFLICTS, ids, days, levels, numbers)
    }
    keep = [a for line, a, _ in batch if line not in stored]
    if keep:
        await conn.execute(
            _INSERT,
            [a.customer_id for a in keep],
            [a.assessed_on for a in keep],
            [a.risk_level for a in keep],
        )
    return [
        Rejected(line, _contradiction(a.assessed_on, stored[line], "the database"), row)
        for line, a, row in batch
        if line in stored
    ]


async def import_risk_profiles(
    settings: Settings, file: Path, dry_run: bool = False, latest: date | None = None
) -> tuple[int, list[Rejected]]:
    """Add the good lines of ``file`` to the history in one transaction; return (loaded,
    rejected), rejected in line order. ``latest``: the last acceptable ``assessed_on``
    (default: today in China)."""
    check_header(file)
    total = count_lines(file)
    last_day = latest or today()
    conn: asyncpg.Connection | None = (
        None
        if dry_run
        else await connect(settings, "tiering", requires_table="customer_risk_assessments")
    )
    rejected: list[Rejected] = []
    in_database: list[Rejected] = []  # lines that contradict a stored assessment
    accepted = 0
    lines = _Lines()
    try:
        async with conn.transaction() if conn is not None else contextlib.nullcontext():
            with Progress() as progress, file.open(newline="", encoding="utf-8-sig") as f:
                task = progress.add_task("risk assessments", total=total)
                for line, item in read_csv(
                    f, COLUMNS, lambda _, row: (parse_row(row, last_day), row)
                ):
                    if isinstance(item, Rejected):
                        rejected.append(item)
                        continue
                    refused = lines.add(line, *item)
                    if refused is not None:
                        rejected.append(refused)
                        continue
                    accepted += 1
                    if len(lines.batch) >= BATCH:
                        if conn is not None:
                            in_database += await _write(conn, lines.batch)
                        lines.batch.clear()
                        progress.update(task, completed=line - 1)
                if lines.batch and conn is not None:
                    in_database += await _write(conn, lines.batch)
                progress.update(task, completed=total)
    finally:
        if conn is not None:
            await conn.close()
    return accepted - len(in_database), sorted(rejected + in_database, key=lambda r: r.line)
