"""Signals on the internal ``<app id>-signals`` topic, as JSON. Not part of the outside contract;
``format`` versions it."""

from __future__ import annotations

import json
from typing import Any

from tiering.core.kinds import SignalKind
from tiering.core.signals import Signal
from tiering.core.tiers import Direction, Tier

FORMAT = 1


class SignalFormatError(ValueError):
    """Not a signal this version can read."""


def encode_signal(signal: Signal) -> bytes:
    doc: dict[str, Any] = {
        "format": FORMAT,
        "id": signal.signal_id,
        "kind": signal.kind,
        "customer_id": signal.customer_id,
        "tier": signal.tier.name,
        "event_time": signal.event_time_ms,
        "balance_fen": signal.balance_fen,
    }
    if signal.branch_id is not None:
        doc["branch_id"] = signal.branch_id
    if signal.previous_tier is not None:
        doc["previous_tier"] = signal.previous_tier.name
    if signal.direction is not None:
        doc["direction"] = signal.direction
    if signal.by_snapshot:
        doc["by_snapshot"] = True
    if signal.amount_fen:
        doc["amount_fen"] = signal.amount_fen
    if signal.detail is not None:
        doc["detail"] = signal.detail
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def decode_signal(data: bytes) -> Signal:
    try:
        doc = json.loads(data)
        if doc.get("format") != FORMAT:
            raise SignalFormatError(f"signal format {doc.get('format')!r} is not known")
        previous = doc.get("previous_tier")
        direction = doc.get("direction")
        return Signal(
            signal_id=doc["id"],
            kind=SignalKind(doc["kind"]),
            customer_id=doc["customer_id"],
            tier=Tier[doc["tier"]],
            event_time_ms=int(doc["event_time"]),
            balance_fen=int(doc["balance_fen"]),
            branch_id=doc.get("branch_id"),
            previous_tier=Tier[previous] if previous else None,
            direction=Direction(direction) if direction else None,
            by_snapshot=bool(doc.get("by_snapshot", False)),
            amount_fen=int(doc.get("amount_fen", 0)),
            detail=doc.get("detail"),
        )
    except SignalFormatError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SignalFormatError(f"not a signal: {type(exc).__name__}") from exc
