"""What the ledger and the profile tell the notifier about a customer (POLICY §5, §6), on the
internal ``<app id>-signals`` topic (``tiering.wire.signals`` is its JSON)."""

from __future__ import annotations

from dataclasses import dataclass

from tiering.core.kinds import SignalKind
from tiering.core.tiers import Direction, Tier


@dataclass(frozen=True, slots=True)
class Signal:
    """One thing about a customer a team may need to hear of; the notifier decides whether.
    A POLICY_CHANGE is a team's, about no one customer: ``customer_id`` is empty and ``tier``
    is the team's (:func:`tiering.ledger.policy_switch.retiering_signals`)."""

    signal_id: str  #: deterministic from its cause (a TierChange's change_id for TIER_CHANGE)
    kind: SignalKind
    customer_id: str
    tier: Tier  #: the customer's tier now
    event_time_ms: int
    balance_fen: int  #: the customer's total right after the cause
    branch_id: str | None = None  #: the customer's branch, from their postings
    previous_tier: Tier | None = None  #: TIER_CHANGE
    direction: Direction | None = None  #: TIER_CHANGE
    by_snapshot: bool = False  #: TIER_CHANGE caused by a BALANCE_SNAPSHOT
    #: the posting's amount; the peak for CHURN_RISK; the bound for NEAR_UPGRADE
    amount_fen: int = 0
    #: PRODUCT_INTEREST, PURCHASE: the product category; POLICY_CHANGE: the version and the
    #: moves, as JSON
    detail: str | None = None
