"""The ledger's balance row carries the §3 deadline of a pending downgrade, so PostgreSQL can
say when it falls due (migration 012, ``customer_balances.downgrade_due``)."""

from __future__ import annotations

from tests.unit.ledger.test_rules import GRACE, POLICY, T0, Customer, policy
from tiering.core.bank_time import DAY_MS
from tiering.core.tiers import Tier
from tiering.ledger.postings import TxnType
from tiering.ledger.rows import balance_row, ledger_rows


def test_no_downgrade_pending_no_deadline() -> None:
    c = Customer()
    c.post("600000.00")
    assert c.state is not None
    assert balance_row("C1", c.state, POLICY).downgrade_due_ms is None


def test_below_the_bound_the_row_says_when_the_grace_period_ends() -> None:
    c = Customer()
    c.post("600000.00")
    c.post("200000.00", TxnType.WITHDRAWAL, at=T0 + DAY_MS)
    assert c.state is not None
    assert c.tier is Tier.PREMIUM
    row = balance_row("C1", c.state, POLICY)
    assert row.tier == "PREMIUM"
    assert row.downgrade_due_ms == T0 + DAY_MS + GRACE


def test_back_above_the_bound_the_deadline_is_gone() -> None:
    c = Customer()
    c.post("600000.00")
    c.post("200000.00", TxnType.WITHDRAWAL, at=T0 + DAY_MS)
    c.post("200000.00", at=T0 + 2 * DAY_MS)
    assert c.state is not None
    assert balance_row("C1", c.state, POLICY).downgrade_due_ms is None


def test_an_ordinary_customer_has_no_downgrade_to_fall_due() -> None:
    c = Customer()
    c.post("100.00")
    assert c.state is not None
    assert balance_row("C1", c.state, POLICY).downgrade_due_ms is None


def test_without_a_grace_period_the_downgrade_is_at_once_and_nothing_is_pending() -> None:
    c = Customer(policy(downgrade_grace_ms=0))
    c.post("600000.00")
    c.post("200000.00", TxnType.WITHDRAWAL, at=T0 + DAY_MS)
    assert c.state is not None
    assert c.tier is Tier.POTENTIAL
    assert balance_row("C1", c.state, c.policy).downgrade_due_ms is None


def test_the_deadline_is_sent_to_postgresql_with_the_row() -> None:
    c = Customer()
    c.post("600000.00")
    c.post("200000.00", TxnType.WITHDRAWAL, at=T0 + DAY_MS)
    assert c.state is not None
    [statement] = ledger_rows([balance_row("C1", c.state, POLICY)], [], T0)
    assert "downgrade_due" in statement.sql
    assert statement.args[6] == [T0 + DAY_MS + GRACE]
    # no average kept under a policy that tiers on the balance alone
    assert statement.args[7:] == ([None], [None])
