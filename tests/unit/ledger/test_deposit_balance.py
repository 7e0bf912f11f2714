"""§3 tiers by deposit balance (存款余额): each account counts toward the customer's total at no
less than zero. A debit the core posts beyond an account's balance (an overdraft facility) is
applied to the account, and the next BALANCE_SNAPSHOT reconciles it, but the debt is not a
deposit and cancels none of the customer's other accounts."""

from __future__ import annotations

from tests.unit.ledger.test_rules import T0, Customer
from tiering.core.tiers import Tier
from tiering.ledger.postings import TxnType


def test_an_overdrawn_account_counts_as_zero_and_cancels_no_other_account() -> None:
    """§3 tiers by deposit balance: a debt on one account is not a deposit and does not
    reduce the deposits held on the others; the account itself keeps what the core says."""
    c = Customer()
    c.post("10.00", account="A1")
    assert c.post("60000.00", account="A2").changes[0].new_tier is Tier.POTENTIAL
    applied = c.post("500.00", TxnType.WITHDRAWAL, account="A1")
    assert applied.overdrawn
    assert c.state is not None
    assert c.state.accounts["A1"].balance == -49_000
    assert applied.total_fen == c.total == 6_000_000  # the decoded state agrees
    assert applied.changes == []
    assert c.tier is Tier.POTENTIAL
    # paying the debt back adds no deposit until the account is above zero again
    assert c.post("400.00", TxnType.DEPOSIT, account="A1").total_fen == 6_000_000
    back = c.post("100.00", TxnType.TRANSFER_IN, account="A1")
    assert (back.overdrawn, back.total_fen) == (False, 6_001_000)


def test_an_overdrawn_only_account_places_ordinary_at_zero() -> None:
    c = Customer()
    c.post("10.00")
    applied = c.post("500.00", TxnType.WITHDRAWAL)
    assert (applied.overdrawn, applied.total_fen) == (True, 0)
    assert c.tier is Tier.ORDINARY
    again = c.post("1.00", TxnType.FEE)  # deeper into the overdraft: still one more anomaly
    assert (again.overdrawn, again.total_fen) == (True, 0)


def test_the_next_snapshot_reconciles_an_overdrawn_account() -> None:
    c = Customer()
    c.post("600000.00", account="A1")
    c.post("100.00", account="A2")
    c.post("300.00", TxnType.TRANSFER_OUT, account="A2", at=T0 + 1)
    assert c.total == 60_000_000
    assert not c.post("0.00", TxnType.BALANCE_SNAPSHOT, account="A2", at=T0 + 2).overdrawn
    assert c.state is not None
    assert c.state.accounts["A2"].balance == 0
    assert c.total == 60_000_000


def test_a_debit_to_exactly_zero_is_not_an_overdraft() -> None:
    c = Customer()
    c.post("10.00")
    applied = c.post("10.00", TxnType.WITHDRAWAL)
    assert (applied.overdrawn, applied.total_fen) == (False, 0)
