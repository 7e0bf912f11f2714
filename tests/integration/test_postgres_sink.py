"""The PostgreSQL sink and the ledger's rows on the real server: idempotent, and balances never
move backwards."""

from __future__ import annotations

from decimal import Decimal

from tests.harness.records import T0
from tiering.core.bank_time import from_epoch_ms
from tiering.core.tiers import Direction, Tier
from tiering.ledger.rows import BalanceRow, ledger_rows
from tiering.ledger.rules import TierDecision
from tiering.sinks.postgres.sink import PostgresSink


def change(change_id: str, new_tier: Tier) -> TierDecision:
    return TierDecision(
        change_id=change_id,
        customer_id="C1",
        previous_tier=None,
        new_tier=new_tier,
        direction=Direction.INITIAL,
        balance_fen=123_45,
        trigger_event_id="T1",
        event_time_ms=T0,
        policy_version="v1",
    )


async def test_rows_move_forward_only_and_changes_are_written_once(deployment) -> None:
    """Also: amounts sent as fen and times as epoch milliseconds arrive exact to the cent and
    to the millisecond."""
    d = await deployment("sink")
    sink = PostgresSink(d.settings, "test")
    await sink.start()
    try:
        await sink.write(
            ledger_rows(
                [BalanceRow("C1", 600_000_00, "PREMIUM", 5, T0 + 5)],
                [change("X", Tier.PREMIUM)],
                T0,
            )
        )
        # A replay of older state (version 3) arrives after the newer one: the row stays.
        await sink.write(
            ledger_rows(
                [BalanceRow("C1", 10_00, "ORDINARY", 3, T0 + 3)], [change("X", Tier.PREMIUM)], T0
            )
        )
        rows = await d.fetch("SELECT balance, tier, version FROM customer_balances")
        assert [tuple(r) for r in rows] == [(Decimal("600000.00"), "PREMIUM", 5)]
        await sink.write(ledger_rows([BalanceRow("C1", 700_000_00, "PREMIUM", 6, T0 + 6)], [], T0))
        rows = await d.fetch("SELECT balance, version, as_of FROM customer_balances")
        assert [tuple(r) for r in rows] == [(Decimal("700000.00"), 6, from_epoch_ms(T0 + 6))]
        changes = await d.fetch(
            "SELECT change_id, balance, event_time, decided_at FROM tier_changes"
        )
        assert [tuple(r) for r in changes] == [
            ("X", Decimal("123.45"), from_epoch_ms(T0), from_epoch_ms(T0))
        ]
    finally:
        await sink.stop()
