"""Reading the bank's CSV files (opening balances, the managers' directory, risk profiles):
a bad line is reported with its line number and the rest are still loaded."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO, TypeVar

T = TypeVar("T")


class CsvFileError(ValueError):
    """The file as a whole cannot be read (not a single line of it is loaded)."""


@dataclass(frozen=True, slots=True)
class Rejected:
    line: int
    reason: str
    row: dict[str, str]


def read_csv(
    stream: TextIO, columns: Sequence[str], parse: Callable[[int, dict[str, str]], T]
) -> Iterator[tuple[int, T | Rejected]]:
    """``(line number, parse(line, row) or Rejected)`` for every data line (the header is line
    1); ``parse`` raises ``ValueError`` to reject a line. A header without ``columns`` raises
    :class:`CsvFileError`."""
    reader = csv.DictReader(stream)
    try:
        header = [h.strip() for h in reader.fieldnames or ()]
    except UnicodeDecodeError as exc:
        raise CsvFileError(f"not UTF-8 text ({exc.reason})") from None
    missing = [c for c in columns if c not in header]
    if missing:
        raise CsvFileError(
            f"the header must name the columns {', '.join(columns)}; missing: {', '.join(missing)}"
        )
    reader.fieldnames = header
    try:
        for row in reader:
            line = reader.line_num
            if None in row:  # more fields than columns
                yield line, Rejected(line, "more fields than the header has columns", row)
                continue
            try:
                yield line, parse(line, row)
            except ValueError as exc:
                yield line, Rejected(line, str(exc), row)
    except UnicodeDecodeError as exc:
        raise CsvFileError(f"not UTF-8 text ({exc.reason})") from None


def count_lines(path: Path) -> int:
    """Data lines in ``path`` (for the progress bar)."""
    with path.open("rb") as f:
        return sum(1 for _ in f) - 1


def write_rejects(path: Path, rejected: Sequence[Rejected]) -> None:
    """The rejected lines, with line number and reason, as CSV: fix them and import again."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["line", "reason", *rejected[0].row.keys()])
        for r in rejected:
            writer.writerow([r.line, r.reason, *r.row.values()])
