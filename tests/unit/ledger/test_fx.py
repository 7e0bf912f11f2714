"""Foreign-currency accounts kept in their own currency, valued in CNY at the rate in force on
the bank day (POLICY §3), and revalued when a new dated rate becomes effective."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import msgpack
import pytest

from tiering.core.bad_input import BadInput
from tiering.core.bank_time import DAY_MS, HOUR_MS, bank_day, day_start_ms
from tiering.core.policy_file import load_policy
from tiering.core.tiers import Direction, Tier
from tiering.ledger.fx import RateTable, rate_id, value_fen
from tiering.ledger.postings import posting_from_record
from tiering.ledger.revaluation import revalue_holder
from tiering.ledger.rules import apply_posting
from tiering.ledger.state import CustomerState, decode_standing, decode_state, encode_state

POLICY = load_policy()  # USD 7.10 in [rates]
#: 2026-12-01 00:00 China time
DAY = bank_day(1_764_518_400_000)
T0 = day_start_ms(DAY) + 10 * HOUR_MS


def record(
    amount: str,
    currency: str = "USD",
    txn_type: str = "DEPOSIT",
    at: int = T0,
    txn: str = "T1",
    account: str = "A1",
) -> dict[str, Any]:
    return {
        "txn_id": txn,
        "customer_id": "C1",
        "account_id": account,
        "txn_type": txn_type,
        "amount": Decimal(amount),
        "currency": currency,
        "event_time": at,
    }


def post(
    state: CustomerState | None, rates: RateTable | None = None, policy: Any = POLICY, **kw: Any
) -> tuple[CustomerState, Any]:
    lookup = (rates or RateTable(policy.rates)).rate
    posting = posting_from_record(record(**kw), policy, rates=lookup)
    return apply_posting(state, posting, policy, 0, lookup)


def test_a_foreign_account_keeps_its_own_currency_exactly() -> None:
    state, _ = post(None, amount="100.01")
    state, _ = post(state, amount="0.03", txn="T2")
    state, applied = post(state, amount="0.02", txn_type="WITHDRAWAL", txn="T3")
    account = state.accounts["A1"]
    assert (account.currency, account.balance) == ("USD", 10_002)
    # valued as a whole at 7.10, half up to the fen: 100.02 × 7.10 = 710.142
    assert account.value_fen == applied.total_fen == 71_014
    again = decode_state(encode_state(state))
    assert again.accounts["A1"] == account
    assert again.total_fen == 71_014


def test_the_value_rounds_half_up_to_the_fen() -> None:
    assert value_fen(1, "JPY", Decimal("0.5")) == 1  # 0.005 CNY → 0.01
    assert value_fen(1, "JPY", Decimal("0.4999")) == 0
    assert value_fen(12_345, "CNY", Decimal(1)) == 12_345


def test_a_posting_in_another_currency_than_its_account_is_bad_input() -> None:
    state, _ = post(None, amount="100.00")
    with pytest.raises(BadInput) as refused:
        post(state, amount="5.00", currency="EUR", txn="T2")
    assert refused.value.reason == "currency_mismatch"
    assert state.accounts["A1"].balance == 10_000  # untouched
    # a snapshot restates the account, currency and all
    state, _ = post(state, amount="5.00", currency="EUR", txn="T3", txn_type="BALANCE_SNAPSHOT")
    assert (state.accounts["A1"].currency, state.total_fen) == ("EUR", 3_850)


def test_a_currency_without_any_rate_is_unsupported() -> None:
    with pytest.raises(BadInput) as refused:
        post(None, amount="1.00", currency="CHF")
    assert refused.value.reason == "unsupported_currency"
    rates = RateTable(POLICY.rates)
    rates.add("CHF", DAY, Decimal("8.00"))
    _state, applied = post(None, rates, amount="1.00", currency="CHF")
    assert applied.total_fen == 800


def test_the_rate_in_force_is_the_newest_on_or_before_the_bank_day() -> None:
    rates = RateTable(POLICY.rates)
    assert rates.rate("USD", DAY) == Decimal("7.10")  # the policy's, until a dated one
    rates.add("USD", DAY, Decimal("7.20"))
    rates.add("USD", DAY + 2, Decimal("7.30"))
    assert rates.rate("USD", DAY - 1) == Decimal("7.10")
    assert rates.rate("USD", DAY) == rates.rate("USD", DAY + 1) == Decimal("7.20")
    assert rates.rate("USD", DAY + 5) == Decimal("7.30")
    # the bank day is China's: 23:59 on the evening before, UTC+8, is still the day before
    just_before = day_start_ms(DAY + 2) - 1
    state, applied = post(None, rates, amount="100.00", at=just_before)
    assert applied.total_fen == 72_000
    state, applied = post(state, rates, amount="0.01", at=just_before + 1, txn="T2")
    assert applied.total_fen == 73_007  # 100.01 × 7.30


def test_the_rate_table_is_kept_exactly_and_a_resend_changes_nothing() -> None:
    rates = RateTable(POLICY.rates)
    assert rates.add("USD", DAY, Decimal("7.1234567891"))
    assert not rates.add("USD", DAY, Decimal("7.1234567891"))
    packed = msgpack.packb(rates.encode())
    again = RateTable.decode(msgpack.unpackb(packed), POLICY.rates)
    assert again.dated == {"USD": [(DAY, Decimal("7.1234567891"))]}
    assert again.pending == {("USD", DAY)}
    assert again.due(day_start_ms(DAY) - 1) == []
    assert again.due(day_start_ms(DAY)) == [("USD", DAY, Decimal("7.1234567891"))]
    assert again.pending == set()
    assert rate_id("USD", DAY, Decimal("7.10")) == rate_id("USD", DAY, Decimal("7.1000"))


def test_a_state_of_format_4_reads_its_accounts_as_cny() -> None:
    """Before format 5 every posting was converted at once: the balances kept were CNY."""
    old = [4, 3, 1, T0, 2, ["A1", 5_000_000, 0, "A2", -100, 5], [], [], 0, [], 0, None]
    old += [None, None, None, -1]
    state = decode_state(msgpack.packb(old))
    assert {a: (x.currency, x.balance, x.value_fen) for a, x in state.accounts.items()} == {
        "A1": ("CNY", 5_000_000, 5_000_000),
        "A2": ("CNY", -100, -100),
    }
    assert state.total_fen == 5_000_000
    assert decode_standing(msgpack.packb(old)).currencies == frozenset()


def test_the_standing_names_the_foreign_currencies() -> None:
    state, _ = post(None, amount="100.00")
    state, _ = post(state, amount="100.00", currency="CNY", account="A2", txn="T2")
    standing = decode_standing(encode_state(state))
    assert standing.currencies == frozenset({"USD"})
    assert standing.total_fen == 71_000 + 10_000


def _premium_at(rate: str) -> tuple[CustomerState, RateTable]:
    """A customer whose USD 70,000.00 is just below PREMIUM (500,000) at 7.10."""
    rates = RateTable(POLICY.rates)
    state, applied = post(None, rates, amount="70000.00")
    assert (applied.total_fen, state.tier) == (49_700_000, Tier.POTENTIAL)
    rates.add("USD", DAY + 1, Decimal(rate))
    return state, rates


def test_a_higher_rate_upgrades_at_once() -> None:
    state, rates = _premium_at("7.20")
    done = revalue_holder(state, "C1", "USD", DAY + 1, "fx-rate:USD", rates.rate, POLICY)
    assert done.changed
    [up] = done.changes
    assert (up.previous_tier, up.new_tier, up.direction) == (
        Tier.POTENTIAL,
        Tier.PREMIUM,
        Direction.UPGRADE,
    )
    assert up.balance_fen == state.total_fen == 50_400_000
    assert up.event_time_ms == day_start_ms(DAY + 1)
    assert up.trigger_event_id == "fx-rate:USD"
    # the same rate again: nothing moves
    again = revalue_holder(state, "C1", "USD", DAY + 1, "fx-rate:USD", rates.rate, POLICY)
    assert (again.changed, again.changes) == (False, [])


def test_a_lower_rate_starts_the_grace_period_not_a_downgrade() -> None:
    rates = RateTable(POLICY.rates)
    state, _ = post(None, rates, amount="71000.00")  # 504,100.00 CNY: PREMIUM
    assert state.tier is Tier.PREMIUM
    rates.add("USD", DAY + 1, Decimal("7.00"))
    done = revalue_holder(state, "C1", "USD", DAY + 1, "fx", rates.rate, POLICY)
    assert done.changed
    assert done.changes == []
    assert state.total_fen == 49_700_000
    assert state.tier is Tier.PREMIUM
    assert state.below_since[Tier.PREMIUM] == day_start_ms(DAY + 1)
    # with no grace, the same fall is a downgrade at once
    no_grace = dataclasses.replace(POLICY, downgrade_grace_ms=0)
    state, _ = post(None, RateTable(POLICY.rates), no_grace, amount="71000.00")
    done = revalue_holder(state, "C1", "USD", DAY + 1, "fx", rates.rate, no_grace)
    assert [c.direction for c in done.changes] == [Direction.DOWNGRADE]


def test_a_rate_for_a_day_the_customer_has_passed_applies_at_their_time() -> None:
    state, rates = _premium_at("7.20")
    later = day_start_ms(DAY + 3) + 5 * HOUR_MS
    state, _ = post(state, rates, amount="100.00", currency="CNY", account="A2", txn="T2", at=later)
    done = revalue_holder(state, "C1", "USD", DAY + 1, "fx", rates.rate, POLICY)
    # the posting on DAY + 3 already valued the account at 7.20: nothing left to do
    assert state.total_fen == 50_410_000
    assert state.tier is Tier.PREMIUM
    assert done.changes == []
    assert not done.changed
    assert later - day_start_ms(DAY + 3) < DAY_MS
