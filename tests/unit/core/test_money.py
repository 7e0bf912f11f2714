from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tiering.core.money import convert_to_fen, format_yuan, from_fen, parse_yuan, to_fen


def test_fen_round_trip_is_exact() -> None:
    assert to_fen(Decimal("0.01")) == 1
    assert to_fen(Decimal("3000000.00")) == 300_000_000
    assert from_fen(300_000_001) == Decimal("3000000.01")
    assert str(from_fen(5)) == "0.05"


@given(st.integers(min_value=-(10**18), max_value=10**18))
def test_every_fen_amount_survives_decimal(fen: int) -> None:
    assert to_fen(from_fen(fen)) == fen


@pytest.mark.parametrize("bad", ["0.001", "NaN", "Infinity"])
def test_more_than_two_decimals_or_not_a_number_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=r"two decimals|not a finite number"):
        to_fen(Decimal(bad))


def test_parse_and_format() -> None:
    assert parse_yuan("50,000.00") == 5_000_000
    assert parse_yuan(500000) == 50_000_000
    assert format_yuan(300_000_000) == "3,000,000.00"
    with pytest.raises(ValueError, match="is not an amount"):
        parse_yuan("fifty")


def test_conversion_rounds_half_up_to_the_fen() -> None:
    assert convert_to_fen(Decimal("100.00"), Decimal("7.10")) == 71_000
    assert convert_to_fen(Decimal("0.07"), Decimal("0.5")) == 4  # 0.035 → 0.04
    assert convert_to_fen(Decimal("1.00"), Decimal("0.047")) == 5  # 0.047 → 0.05
