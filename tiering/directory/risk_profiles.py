"""Customers' risk tolerance, 1 (lowest) to 5 (``tiering import-risk-profiles``).

Recommendations stay within it (policy §9: recommend products only within the customer's known
risk tolerance); a customer without one is offered only the lowest-risk products. CSV columns
``customer_id, risk_level``; a customer listed twice takes the later line.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from rich.progress import Progress

from tiering.csv_files import Rejected, count_lines, read_csv
from tiering.settings import Settings
from tiering.sinks.postgres.connection import connect

COLUMNS = ("customer_id", "risk_level")
BATCH = 5000

_UPSERT = """
INSERT INTO customer_risk_profiles (customer_id, risk_level, updated_at)
SELECT r.*, now() FROM unnest($1::text[], $2::smallint[]) AS r
ON CONFLICT (customer_id) DO UPDATE
SET risk_level = EXCLUDED.risk_level, updated_at = EXCLUDED.updated_at
WHERE customer_risk_profiles.risk_level <> EXCLUDED.risk_level
"""


def parse_row(row: dict[str, str]) -> tuple[str, int]:
    customer_id = (row.get("customer_id") or "").strip()
    if not customer_id:
        raise ValueError("customer_id is empty")
    text = (row.get("risk_level") or "").strip()
    if not text.isdigit() or not 1 <= int(text) <= 5:
        raise ValueError(f"risk_level {text!r} must be a whole number from 1 to 5")
    return customer_id, int(text)


async def import_risk_profiles(
    settings: Settings, file: Path, dry_run: bool = False
) -> tuple[int, list[Rejected]]:
    """Upsert the good lines of ``file`` in one transaction; return (loaded, rejected)."""
    total = count_lines(file)
    conn = (
        None
        if dry_run
        else await connect(settings, "tiering", requires_table="customer_risk_profiles")
    )
    loaded, rejected = 0, []
    batch: dict[str, int] = {}
    try:
        async with conn.transaction() if conn is not None else contextlib.nullcontext():
            with Progress() as progress, file.open(newline="", encoding="utf-8-sig") as f:
                task = progress.add_task("risk profiles", total=total)
                for line, item in read_csv(f, COLUMNS, lambda _, row: parse_row(row)):
                    if isinstance(item, Rejected):
                        rejected.append(item)
                        continue
                    batch[item[0]] = item[1]
                    loaded += 1
                    if len(batch) >= BATCH:
                        if conn is not None:
                            await conn.execute(_UPSERT, list(batch), list(batch.values()))
                        batch.clear()
                        progress.update(task, completed=line - 1)
                if batch and conn is not None:
                    await conn.execute(_UPSERT, list(batch), list(batch.values()))
                progress.update(task, completed=total)
    finally:
        if conn is not None:
            await conn.close()
    return loaded, rejected
