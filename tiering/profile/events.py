"""What a customer did online, as the profile rules see it, and the checks that turn bad input
away (POLICY §6). The free-text feedback comment is never kept (§9)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tiering.core.bad_input import BadInput
from tiering.core.bank_time import epoch_ms
from tiering.core.policy import Policy


class BehaviorType(enum.Enum):
    LOGIN = "LOGIN"
    PRODUCT_VIEW = "PRODUCT_VIEW"
    BUSINESS = "BUSINESS"
    FEEDBACK = "FEEDBACK"
    OTHER = "OTHER"


@dataclass(frozen=True, slots=True)
class OnlineEvent:
    """One thing a customer did online, checked. The free-text comment is never kept (§9)."""

    event_id: str
    customer_id: str
    event_type: BehaviorType
    channel: str
    event_time_ms: int
    category: str | None = None  #: PRODUCT_VIEW
    business_type: str | None = None  #: BUSINESS
    rating: int | None = None  #: FEEDBACK, 1-5


def event_from_record(
    record: dict[str, Any], policy: Policy, key: str | None = None
) -> OnlineEvent:
    """Check a decoded OnlineBehaviorEvent; raise :class:`BadInput` with the reason."""
    for name in ("event_id", "customer_id"):
        if not record.get(name):
            raise BadInput("missing_field", f"{name} is empty")
    if key is not None and key != record["customer_id"]:
        raise BadInput("key_mismatch", "the message key is not the event's customer_id")
    event_type = BehaviorType(record.get("event_type") or "OTHER")
    event_time = record["event_time"]
    event_time_ms = epoch_ms(event_time) if isinstance(event_time, datetime | int) else 0
    if event_time_ms <= 0:
        raise BadInput("invalid_event_time", f"event_time {event_time_ms} is not after 1970")
    category = None
    if event_type is BehaviorType.PRODUCT_VIEW:
        category = record.get("product_category") or (
            policy.category_of(record["product_code"]) if record.get("product_code") else None
        )
        if not category:
            raise BadInput("missing_field", "a PRODUCT_VIEW needs product_category or product_code")
        category = category.upper()
    rating = record.get("rating")
    if event_type is BehaviorType.FEEDBACK and (
        rating is None or isinstance(rating, bool) or not 1 <= rating <= 5
    ):
        raise BadInput("invalid_rating", f"a FEEDBACK rating must be 1 to 5, got {rating!r}")
    business = record.get("business_type") if event_type is BehaviorType.BUSINESS else None
    return OnlineEvent(
        event_id=record["event_id"],
        customer_id=record["customer_id"],
        event_type=event_type,
        channel=record.get("channel") or "OTHER",
        event_time_ms=event_time_ms,
        category=category,
        business_type=(business or "OTHER").upper()
        if event_type is BehaviorType.BUSINESS
        else None,
        rating=rating if event_type is BehaviorType.FEEDBACK else None,
    )
