"""``tiering import-rates``: each bad line named with why, never a float, a rate never changed."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tiering.csv_files import CsvFileError, Rejected
from tiering.tools.import_rates import DatedRate, gettext_of, parse_row, read_rates, summary


def row(currency: str = "USD", rate: str = "7.1028", day: str = "2026-12-04") -> dict[str, str]:
    return {"currency": currency, "rate": rate, "effective_date": day}


def test_a_good_line_is_exact() -> None:
    assert parse_row(row(" usd ", "7.1028000001")) == DatedRate(
        "USD", Decimal("7.1028000001"), date(2026, 12, 4)
    )
    assert parse_row(row(rate="7.1028")).day == (date(2026, 12, 4) - date(1970, 1, 1)).days


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (row(currency="CNY"), "always 1"),
        (row(currency="US"), "ISO 4217"),
        (row(currency="U$D"), "ISO 4217"),
        (row(rate="7,10"), "not a decimal"),
        (row(rate="7.1e0"), "not a decimal"),
        (row(rate="-7.1"), "not a decimal"),
        (row(rate="0"), "above zero"),
        (row(rate="0.00000000001"), "more than 10 decimals"),
        (row(rate="nan"), "not a decimal"),
        (row(day="2026-13-01"), "not a date"),
        (row(day="4/12/2026"), "not a date"),
        (row(day=""), "not a date"),
    ],
)
def test_a_bad_line_says_why(line: dict[str, str], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_row(line)


def test_the_file_names_its_bad_lines_and_a_contradiction() -> None:
    text = (
        "currency,rate,effective_date\n"
        "USD,7.10,2026-12-04\n"
        "EUR,x,2026-12-04\n"
        "USD,7.1000,2026-12-04\n"  # the same rate again: nothing to add
        "USD,7.20,2026-12-04\n"
    )
    items = list(read_rates(io.StringIO(text)))
    good = [i for i in items if not isinstance(i, Rejected)]
    bad = [i for i in items if isinstance(i, Rejected)]
    assert [(line, r.currency, r.rate) for line, r, _ in good] == [(2, "USD", Decimal("7.10"))]
    assert [r.line for r in bad] == [3, 5]
    assert "line 2 has 7.1 (a rate once" in bad[1].reason


def test_bank_staff_read_why_in_their_language() -> None:
    text = (
        "currency,rate,effective_date\nUSD,7.10,2026-12-04\nUSD,7.2,2026-12-04\nJPY,0,2026-12-04\n"
    )
    items = list(read_rates(io.StringIO(text), gettext_of("zh_Hant")))
    reasons = [i.reason for i in items if isinstance(i, Rejected)]
    assert reasons == [
        "USD 在 2026-12-04 已有另一匯率：第 2 行為 7.1（匯率一經記錄不再更改）",
        "匯率 0 必須大於零且小於 10,000,000,000",
    ]
    assert (
        summary(3, Path("r.csv"), False, gettext_of("zh_Hans_CN")) == "已发布 r.csv 中的 3 条汇率"
    )


def test_a_file_without_the_columns_is_refused_whole() -> None:
    with pytest.raises(CsvFileError, match="effective_date"):
        list(read_rates(io.StringIO("currency,rate\nUSD,7.1\n")))
