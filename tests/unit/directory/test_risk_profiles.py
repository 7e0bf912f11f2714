"""The risk assessments file (§9): every line needs its date, since an assessment without one
cannot be judged valid; a file written before the column existed is refused whole, naming it;
the same assessment twice is one, another level for the same customer and day is refused."""

from __future__ import annotations

import asyncio
import re
from datetime import date
from pathlib import Path

import pytest

from tiering.csv_files import CsvFileError
from tiering.directory.risk_profiles import Assessment, import_risk_profiles, parse_row
from tiering.settings import Settings

TODAY = date(2026, 3, 15)
HEADER = "customer_id,risk_level,assessed_on\n"


def row(customer: str, level: str, day: str) -> dict[str, str]:
    return {"customer_id": customer, "risk_level": level, "assessed_on": day}


def test_a_good_line() -> None:
    assert parse_row(row(" C1 ", "3", " 2025-03-15 "), TODAY) == Assessment(
        "C1", 3, date(2025, 3, 15)
    )
    assert parse_row(row("C1", "5", "2026-03-15"), TODAY).assessed_on == TODAY


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (row("", "3", "2025-01-01"), "customer_id is empty"),
        (row("C1", "6", "2025-01-01"), "risk_level '6' must be a whole number from 1 to 5"),
        (row("C1", "high", "2025-01-01"), "risk_level 'high'"),
        (row("C1", "3", ""), "assessed_on is empty"),
        (row("C1", "3", "15/03/2025"), "assessed_on '15/03/2025' is not a date (YYYY-MM-DD)"),
        (row("C1", "3", "2025-02-30"), "assessed_on '2025-02-30' is not a date"),
        (row("C1", "3", "20250301"), "is not a date"),
        (row("C1", "3", "2026-03-16"), "assessed_on 2026-03-16 is after today (2026-03-15)"),
    ],
)
def test_a_bad_line_is_named_with_its_reason(line: dict[str, str], words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        parse_row(line, TODAY)


def check(tmp_path: Path, text: str) -> tuple[int, list[tuple[int, str]]]:
    """A dry run (no database): the file's own lines are checked against each other."""
    file = tmp_path / "risk.csv"
    file.write_text(text, encoding="utf-8")
    loaded, rejected = asyncio.run(import_risk_profiles(Settings(), file, True, TODAY))
    return loaded, [(r.line, r.reason) for r in rejected]


def test_a_file_without_assessed_on_is_refused_whole_naming_the_column(tmp_path: Path) -> None:
    with pytest.raises(CsvFileError) as err:
        check(tmp_path, "customer_id,risk_level\nC1,3\n")
    assert "no assessed_on column" in str(err.value)
    assert "none is loaded" in str(err.value)


def test_every_assessment_of_a_customer_is_a_line_of_its_own(tmp_path: Path) -> None:
    loaded, rejected = check(
        tmp_path, HEADER + "C1,2,2024-05-01\nC1,4,2025-05-01\nC2,1,2025-05-01\n"
    )
    assert (loaded, rejected) == (3, [])


def test_the_same_assessment_twice_is_one_and_a_contradiction_is_refused(
    tmp_path: Path,
) -> None:
    loaded, rejected = check(
        tmp_path,
        HEADER + "C1,2,2025-05-01\nC1,2,2025-05-01\nC1,3,2025-05-01\nC1,9,2025-05-02\n",
    )
    assert loaded == 2  # line 3 repeats line 2: accepted, adds nothing
    assert rejected == [
        (
            4,
            "another risk_level for the customer's assessment of 2025-05-01: line 2 has 2 "
            "(an assessment is never overwritten)",
        ),
        (5, "risk_level '9' must be a whole number from 1 to 5"),
    ]
