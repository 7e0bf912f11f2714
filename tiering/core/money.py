"""Money as integer fen (1 CNY = 100 fen); ``Decimal`` only at the edges. Never ``float``."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN_PER_YUAN = 100
CENT = Decimal("0.01")

# numeric(18,2) in PostgreSQL and decimal(18,2) in Avro hold at most 16 digits before the point.
MAX_ABS_FEN = 10**18 - 1


def to_fen(amount: Decimal) -> int:
    """An exact CNY amount with at most two decimals, as fen."""
    if not amount.is_finite():
        raise ValueError(f"amount {amount} is not a finite number")
    fen = amount * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        raise ValueError(f"amount {amount} has more than two decimals")
    return int(fen)


def from_fen(fen: int) -> Decimal:
    """Fen as a CNY ``Decimal`` with exactly two decimals (the Avro and SQL scale)."""
    return Decimal(fen).scaleb(-2)


def parse_yuan(text: str | int | Decimal) -> int:
    """``"50000.00"`` → 5,000,000 fen; rejects anything that is not an exact amount."""
    try:
        return to_fen(Decimal(str(text).replace(",", "").replace("_", "")))
    except InvalidOperation as exc:
        raise ValueError(f"{text!r} is not an amount") from exc


def format_yuan(fen: int) -> str:
    """5,000,000 fen → ``"50,000.00"``."""
    return f"{from_fen(fen):,.2f}"


def convert_to_fen(amount: Decimal, rate: Decimal) -> int:
    """A foreign-currency amount at ``rate`` CNY per unit, rounded half up to the fen."""
    return int((amount * rate).quantize(CENT, rounding=ROUND_HALF_UP) * FEN_PER_YUAN)
