"""The records tests and benchmarks feed a deployment: DepositTransactions and
OnlineBehaviorEvents, as dicts the contract's Avro schemas take."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tiering.core.bank_time import DAY_MS
from tiering.wire.codec import AvroCodec

CODEC = AvroCodec()
#: 2025-11-24 16:00 UTC: an event time that is neither today nor the epoch
T0 = 1_764_000_000_000
#: a worker's clock after every event time the tests make (T0 and up to ten years on): a
#: history replayed after the fact, where no event time is ahead of the clock
AFTER_ALL = T0 + 10 * 365 * 86_400_000

__all__ = ["CODEC", "DAY_MS", "T0", "online", "posting"]


def posting(
    txn_id: str,
    customer_id: str,
    amount: str | Decimal,
    txn_type: str = "DEPOSIT",
    event_time_ms: int = T0,
    account_id: str | None = None,
    currency: str = "CNY",
    **extra: Any,
) -> dict[str, Any]:
    """A DepositTransaction record."""
    return {
        "txn_id": txn_id,
        "customer_id": customer_id,
        "account_id": account_id or f"{customer_id}-A1",
        "txn_type": txn_type,
        "amount": Decimal(amount),
        "currency": currency,
        "channel": extra.get("channel", "COUNTER"),
        "branch_id": extra.get("branch_id"),
        "product_code": extra.get("product_code"),
        "event_time": event_time_ms,
        "account_type": extra.get("account_type"),
    }


def online(
    event_id: str,
    customer_id: str,
    event_type: str,
    event_time_ms: int,
    **extra: Any,
) -> dict[str, Any]:
    """An OnlineBehaviorEvent record."""
    return {
        "event_id": event_id,
        "customer_id": customer_id,
        "event_type": event_type,
        "channel": extra.get("channel", "MOBILE_APP"),
        "product_code": extra.get("product_code"),
        "product_category": extra.get("product_category"),
        "business_type": extra.get("business_type"),
        "rating": extra.get("rating"),
        "comment": extra.get("comment"),
        "event_time": event_time_ms,
    }
