"""The thin slice end to end on the real local Kafka and PostgreSQL: postings in,
TierChanges out on tier-changes, rows in customer_balances and tier_changes."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from tests.harness.records import CODEC, DAY_MS, T0, posting
from tests.harness.waiting import wait_for
from tiering.wire.codec import TIER_CHANGE


async def test_postings_become_tier_changes_and_rows(deployment, tmp_path: Path) -> None:
    d = await deployment("pipe")
    d.start_worker(tmp_path)
    await d.wait_healthy()

    await d.produce(
        [
            posting("T1", "C1", "49999.99", event_time_ms=T0),
            posting("T2", "C1", "0.01", event_time_ms=T0 + 1),  # exactly 50,000.00
            posting("T3", "C2", "500000.00", event_time_ms=T0),
            posting("T4", "C3", "3000000.00", event_time_ms=T0),
            posting("T5", "C2", "0.01", "WITHDRAWAL", event_time_ms=T0 + DAY_MS),  # grace starts
            posting("T6", "C4", "100.00", currency="USD", event_time_ms=T0),
        ]
    )
    expected = {
        ("C1", None, "ORDINARY", "INITIAL", Decimal("49999.99"), "T1"),
        ("C1", "ORDINARY", "POTENTIAL", "UPGRADE", Decimal("50000.00"), "T2"),
        ("C2", None, "PREMIUM", "INITIAL", Decimal("500000.00"), "T3"),
        ("C3", None, "HIGH_END", "INITIAL", Decimal("3000000.00"), "T4"),
        ("C4", None, "ORDINARY", "INITIAL", Decimal("710.00"), "T6"),
    }

    async def balances() -> dict[str, tuple[Decimal, str]] | None:
        rows = await d.fetch("SELECT customer_id, balance, tier FROM customer_balances ORDER BY 1")
        got = {r["customer_id"]: (r["balance"], r["tier"]) for r in rows}
        return got if got.get("C2", (0,))[0] == Decimal("499999.99") and len(got) == 4 else None

    assert await wait_for(balances, 30, "customer_balances") == {
        "C1": (Decimal("50000.00"), "POTENTIAL"),
        "C2": (Decimal("499999.99"), "PREMIUM"),  # below the bound, within the grace period
        "C3": (Decimal("3000000.00"), "HIGH_END"),
        "C4": (Decimal("710.00"), "ORDINARY"),
    }
    await d.wait_settled()

    # Five changes: the withdrawal that started C2's grace period decided nothing.
    records = await d.read_to_end("tier-changes")
    changes = [CODEC.decode(r.value, expect=TIER_CHANGE)[1] for r in records]
    assert len(changes) == len(expected) == 5
    assert {
        (
            c["customer_id"],
            c["previous_tier"],
            c["new_tier"],
            c["direction"],
            c["balance"],
            c["trigger_event_id"],
        )
        for c in changes
    } == expected
    assert all(r.key == c["customer_id"].encode() for r, c in zip(records, changes, strict=True))
    assert {c["policy_version"] for c in changes} == {d.settings.policy.version}
    rows = await d.fetch("SELECT change_id, customer_id, new_tier, direction FROM tier_changes")
    assert {r["change_id"] for r in rows} == {c["change_id"] for c in changes}

    # §5 signals for the notifier, on the internal topic beside the tier changes: two large
    # deposits and one near upgrade.
    signals = [json.loads(r.value) for r in await d.read_to_end(d.topics.signals)]
    assert sorted((s["customer_id"], s["kind"]) for s in signals if s["kind"] != "TIER_CHANGE") == [
        ("C1", "NEAR_UPGRADE"),
        ("C2", "LARGE_DEPOSIT"),
        ("C3", "LARGE_DEPOSIT"),
    ]


async def test_an_overdraft_is_counted_at_zero_everywhere(deployment, tmp_path: Path) -> None:
    """§3 in the running worker: a debit beyond one account's balance cancels none of the
    customer's other accounts, in the row, the tier and the per-tier gauge the
    report agrees with; the counter and the log say it happened, not to whom."""
    d = await deployment("overdraft")
    d.start_worker(tmp_path)
    await d.wait_healthy()
    assert await d.metric("tiering_ledger_anomalies_total", kind="overdrawn") == 0
    await d.produce(
        [
            posting("O1", "C-OVER", "60000.00", account_id="SAVINGS", event_time_ms=T0),
            posting("O2", "C-OVER", "10.00", account_id="CURRENT", event_time_ms=T0 + 1),
            posting("O3", "C-OVER", "510.00", "WITHDRAWAL", T0 + 2, account_id="CURRENT"),
        ]
    )

    async def counted() -> bool:
        return await d.metric("tiering_ledger_anomalies_total", kind="overdrawn") == 1

    await wait_for(counted, 30, "the overdraft to be counted")
    rows = await d.fetch("SELECT balance, tier, version FROM customer_balances")
    assert [tuple(r) for r in rows] == [(Decimal("60000.00"), "POTENTIAL", 3)]
    assert await d.metric("tiering_balance_cny", tier="POTENTIAL") == 60000
    assert await d.metric("tiering_customers", tier="POTENTIAL") == 1
    log = d.log_tail(400)
    assert "left an account below zero" in log
    assert "C-OVER" not in log
    assert "CURRENT" not in log
