"""Notices: what the ledger (and the profile) tell the notifier, on the internal
``<app id>-signals`` topic, as JSON. Not part of the outside contract; ``format`` versions it."""

from __future__ import annotations

import json
from typing import Any

from streams.core.ledger import Signal, TierDecision
from streams.core.notifier import TIER_CHANGE, Notice
from streams.core.tiers import Tier

FORMAT = 1


class NoticeFormatError(ValueError):
    """Not a notice this version can read."""


def from_tier_change(change: TierDecision) -> Notice:
    return Notice(
        notice_id=change.change_id,
        kind=TIER_CHANGE,
        customer_id=change.customer_id,
        tier=change.new_tier,
        event_time_ms=change.event_time_ms,
        balance_fen=change.balance_fen,
        branch_id=change.branch_id,
        previous_tier=change.previous_tier,
        direction=change.direction.value,
        by_snapshot=change.by_snapshot,
    )


def from_signal(signal: Signal) -> Notice:
    return Notice(
        notice_id=signal.signal_id,
        kind=signal.kind.value,
        customer_id=signal.customer_id,
        tier=signal.tier,
        event_time_ms=signal.event_time_ms,
        balance_fen=signal.balance_fen,
        branch_id=signal.branch_id,
        amount_fen=signal.amount_fen,
    )


def encode_notice(notice: Notice) -> bytes:
    doc: dict[str, Any] = {
        "format": FORMAT,
        "id": notice.notice_id,
        "kind": notice.kind,
        "customer_id": notice.customer_id,
        "tier": notice.tier.name,
        "event_time": notice.event_time_ms,
        "balance_fen": notice.balance_fen,
    }
    if notice.branch_id is not None:
        doc["branch_id"] = notice.branch_id
    if notice.previous_tier is not None:
        doc["previous_tier"] = notice.previous_tier.name
    if notice.direction is not None:
        doc["direction"] = notice.direction
    if notice.by_snapshot:
        doc["by_snapshot"] = True
    if notice.amount_fen:
        doc["amount_fen"] = notice.amount_fen
    if notice.detail is not None:
        doc["detail"] = notice.detail
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def decode_notice(data: bytes) -> Notice:
    try:
        doc = json.loads(data)
        if doc.get("format") != FORMAT:
            raise NoticeFormatError(f"notice format {doc.get('format')!r} is not known")
        previous = doc.get("previous_tier")
        return Notice(
            notice_id=doc["id"],
            kind=doc["kind"],
            customer_id=doc["customer_id"],
            tier=Tier[doc["tier"]],
            event_time_ms=int(doc["event_time"]),
            balance_fen=int(doc["balance_fen"]),
            branch_id=doc.get("branch_id"),
            previous_tier=Tier[previous] if previous else None,
            direction=doc.get("direction"),
            by_snapshot=bool(doc.get("by_snapshot", False)),
            amount_fen=int(doc.get("amount_fen", 0)),
            detail=doc.get("detail"),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        if isinstance(exc, NoticeFormatError):
            raise
        raise NoticeFormatError(f"not a notice: {type(exc).__name__}") from exc
