"""What the ledger tells the world: TierChange records on ``tier-changes`` (the contract's
Avro), and signals for the notifier on the internal signals topic."""

from __future__ import annotations

from tiering.core.kinds import SignalKind
from tiering.core.money import from_fen
from tiering.core.signals import Signal
from tiering.ledger.rules import TierDecision
from tiering.wire.codec import TIER_CHANGE, AvroCodec


def tier_change_record(change: TierDecision, decided_at_ms: int) -> dict[str, object]:
    return {
        "change_id": change.change_id,
        "customer_id": change.customer_id,
        "previous_tier": change.previous_tier.name if change.previous_tier is not None else None,
        "new_tier": change.new_tier.name,
        "direction": change.direction.value,
        "balance": from_fen(change.balance_fen),
        "trigger_event_id": change.trigger_event_id,
        "event_time": change.event_time_ms,
        "decided_at": decided_at_ms,
        "policy_version": change.policy_version,
    }


def encode_tier_change(codec: AvroCodec, change: TierDecision, decided_at_ms: int) -> bytes:
    return codec.encode(TIER_CHANGE, tier_change_record(change, decided_at_ms))


def tier_change_signal(change: TierDecision) -> Signal:
    """A TierChange as the notifier hears of it."""
    return Signal(
        signal_id=change.change_id,
        kind=SignalKind.TIER_CHANGE,
        customer_id=change.customer_id,
        tier=change.new_tier,
        event_time_ms=change.event_time_ms,
        balance_fen=change.balance_fen,
        branch_id=change.branch_id,
        previous_tier=change.previous_tier,
        direction=change.direction,
        by_snapshot=change.by_snapshot,
    )
