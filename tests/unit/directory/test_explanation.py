"""Why a customer is in their tier, shaped from PostgreSQL's rows: what moved each tier change,
the bounds of the tier, the policy version that decided it, a pending downgrade."""

from __future__ import annotations

from typing import Any

from tiering.core.bank_time import DAY_MS
from tiering.core.policy_file import load_policy
from tiering.core.tiers import Direction, Tier
from tiering.directory.explanation import (
    Trigger,
    TriggerKind,
    explanation_from,
    trigger_of,
)

POLICY = load_policy()
T0 = 1_764_000_000_000  # 2025-11-24 16:00 UTC, 2025-11-25 00:00 China time


def balance(**changes: Any) -> dict[str, Any]:
    row = {
        "customer_id": "CUST-000123",
        "tier": "PREMIUM",
        "balance_fen": 400_000_00,
        "branch_id": "B01",
        "as_of_ms": T0 + DAY_MS,
        "downgrade_due_ms": T0 + DAY_MS + POLICY.downgrade_grace_ms,
    }
    row.update(changes)
    return row


def change(trigger: str, previous: str | None, new: str, at: int, version: str = "v1") -> dict:
    return {
        "change_id": f"ch-{trigger}",
        "previous_tier": previous,
        "new_tier": new,
        "direction": "INITIAL" if previous is None else "UPGRADE",
        "balance_fen": 600_000_00,
        "trigger_event_id": trigger,
        "event_time_ms": at,
        "policy_version": version,
    }


def test_a_posting_is_named_by_its_txn_id() -> None:
    assert trigger_of("TXN-42") == Trigger(TriggerKind.POSTING, "TXN-42")


def test_a_grace_period_expiry_is_told_apart_without_repeating_its_id() -> None:
    trigger = trigger_of(f"grace-expiry:CUST-000123:PREMIUM:{T0}")
    assert trigger == Trigger(TriggerKind.GRACE_EXPIRY, None)


def test_a_new_exchange_rate_is_told_apart_with_the_rate_id() -> None:
    assert trigger_of("fx-rate:abc123") == Trigger(TriggerKind.FX_RATE, "abc123")


def test_the_tier_its_bounds_and_the_version_that_decided_it() -> None:
    changes = [
        change("TXN-2", "POTENTIAL", "PREMIUM", T0, "v2"),
        change("TXN-1", None, "POTENTIAL", T0 - DAY_MS, "v1"),
    ]
    e = explanation_from(balance(), changes, POLICY)
    assert e.tier is Tier.PREMIUM
    assert e.lower_bound_fen == POLICY.lower_bound(Tier.PREMIUM)
    assert e.upper_bound_fen == POLICY.lower_bound(Tier.HIGH_END)
    assert e.decided_by == "v2"
    assert [m.trigger.reference for m in e.moves] == ["TXN-2", "TXN-1"]
    assert e.moves[1].previous_tier is None
    assert e.moves[1].direction is Direction.INITIAL


def test_high_end_has_no_upper_bound() -> None:
    e = explanation_from(balance(tier="HIGH_END", downgrade_due_ms=None), [], POLICY)
    assert e.upper_bound_fen is None
    assert e.decided_by is None
