"""A deposit posting as the rules see it, and the checks that turn bad input away."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from tiering.core.bad_input import BadInput
from tiering.core.bank_time import bank_day, epoch_ms
from tiering.core.money import MAX_ABS_FEN, convert_to_fen, from_fen, to_fen
from tiering.core.policy import ACCOUNT_TYPES, Policy
from tiering.ledger.fx import RateLookup, fallback


class TxnType(enum.Enum):
    DEPOSIT = "DEPOSIT"
    WITHDRAWAL = "WITHDRAWAL"
    TRANSFER_IN = "TRANSFER_IN"
    TRANSFER_OUT = "TRANSFER_OUT"
    INTEREST = "INTEREST"
    FEE = "FEE"
    BALANCE_SNAPSHOT = "BALANCE_SNAPSHOT"


_TXN_TYPES = {t.value: t for t in TxnType}
CREDITS = frozenset({TxnType.DEPOSIT, TxnType.TRANSFER_IN, TxnType.INTEREST})
DEBITS = frozenset({TxnType.WITHDRAWAL, TxnType.TRANSFER_OUT, TxnType.FEE})


@dataclass(frozen=True, slots=True)
class Posting:
    """One posted movement: its amount in its own currency, and in CNY fen at the rate in force
    on its bank day."""

    txn_id: str
    customer_id: str
    account_id: str
    txn_type: TxnType
    amount_fen: int  #: positive (zero allowed for a snapshot); direction from txn_type
    event_time_ms: int  #: when the core system posted it
    channel: str = "OTHER"
    branch_id: str | None = None
    product_code: str | None = None
    #: the kind of account (DepositTransaction.account_type, none meaning DEPOSIT); only the
    #: policy's counted types make up the §3 deposit balance
    account_type: str = "DEPOSIT"
    currency: str = "CNY"
    #: the amount in hundredths of ``currency`` (exact, the feed's decimal(18,2)); None: the
    #: same as amount_fen (a CNY posting)
    amount_minor: int | None = None

    @property
    def minor(self) -> int:
        """The amount in hundredths of the posting's currency."""
        return self.amount_fen if self.amount_minor is None else self.amount_minor

    @property
    def signed_minor(self) -> int:
        """The change to the account's own-currency balance (not meaningful for a snapshot)."""
        return -self.minor if self.txn_type in DEBITS else self.minor


def posting_from_record(
    record: dict[str, Any],
    policy: Policy,
    key: str | None = None,
    rates: RateLookup | None = None,
) -> Posting:
    """Check a decoded DepositTransaction and convert it; raise :class:`BadInput` if it is bad.

    ``key`` is the Kafka message key: it must be the customer id, or the customer's state would
    live on the wrong partition. ``rates`` gives the rate in force for a currency on a bank day
    (:mod:`tiering.ledger.fx`); without it, the policy's ``[rates]``.
    """
    for name in ("txn_id", "customer_id", "account_id"):
        if not record.get(name):
            raise BadInput("missing_field", f"{name} is empty")
    if record["customer_id"].startswith("\x00"):  # the ledger's own keys (its rates) start so
        raise BadInput("invalid_customer_id", "customer_id starts with a zero byte")
    if key is not None and key != record["customer_id"]:
        raise BadInput("key_mismatch", "the message key is not the posting's customer_id")
    txn_type = _TXN_TYPES[record["txn_type"]]
    account_type = (record.get("account_type") or "DEPOSIT").upper()
    if account_type not in ACCOUNT_TYPES:
        raise BadInput(
            "unknown_account_type",
            f"account_type {account_type!r} is none of {', '.join(ACCOUNT_TYPES)}",
        )
    currency = (record.get("currency") or "").upper()
    event_time_ms = epoch_ms(record["event_time"])
    if event_time_ms <= 0:
        raise BadInput("invalid_event_time", f"event_time {event_time_ms} is not after 1970")
    rate = (rates or fallback(policy.rates))(currency, bank_day(event_time_ms))
    if rate is None:
        raise BadInput("unsupported_currency", f"no rate for currency {currency!r}")
    amount = record["amount"]
    if isinstance(amount, bytes):  # decoded plain: the unscaled decimal(18,2), hundredths
        minor = int.from_bytes(amount, "big", signed=True)
        amount = from_fen(minor)
        if minor < 0:
            raise BadInput("invalid_amount", f"amount must not be negative, got {amount}")
    else:
        if not amount.is_finite() or amount < 0:
            raise BadInput("invalid_amount", f"amount must not be negative, got {amount}")
        try:
            minor = to_fen(amount)  # hundredths of the currency, as fen are of CNY
        except ValueError as exc:
            raise BadInput("invalid_amount", str(exc)) from exc
    fen = minor if currency == "CNY" else convert_to_fen(amount, rate)
    if amount == 0 and txn_type is not TxnType.BALANCE_SNAPSHOT:
        raise BadInput("invalid_amount", f"a {txn_type.value} of zero moves nothing")
    if max(fen, minor) > MAX_ABS_FEN:
        raise BadInput("invalid_amount", "amount exceeds decimal(18,2)")
    return Posting(
        txn_id=record["txn_id"],
        customer_id=record["customer_id"],
        account_id=record["account_id"],
        txn_type=txn_type,
        amount_fen=fen,
        event_time_ms=event_time_ms,
        channel=record.get("channel") or "OTHER",
        branch_id=record.get("branch_id"),
        product_code=record.get("product_code"),
        account_type=account_type,
        currency=currency,
        amount_minor=None if currency == "CNY" else minor,
    )
