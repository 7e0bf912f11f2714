"""Postings from the wire: what is refused as bad input, with which reason, and the conversion of
other currencies to CNY fen."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.unit.ledger.test_rules import POLICY, T0
from tiering.core.bad_input import BadInput
from tiering.ledger.postings import posting_from_record


def record(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "txn_id": "T1",
        "customer_id": "C1",
        "account_id": "A1",
        "txn_type": "DEPOSIT",
        "amount": Decimal("100.00"),
        "currency": "CNY",
        "channel": "COUNTER",
        "branch_id": None,
        "product_code": None,
        "event_time": T0,
    }
    base.update(changes)
    return base


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"amount": Decimal("-1.00")}, "invalid_amount"),
        ({"amount": Decimal("0.00")}, "invalid_amount"),
        ({"currency": "XAU"}, "unsupported_currency"),
        ({"txn_id": ""}, "missing_field"),
        ({"customer_id": ""}, "missing_field"),
        ({"account_id": ""}, "missing_field"),
        ({"event_time": 0}, "invalid_event_time"),
    ],
)
def test_bad_postings_are_refused_with_a_reason(changes: dict[str, object], reason: str) -> None:
    with pytest.raises(BadInput) as err:
        posting_from_record(record(**changes), POLICY, key="C1")
    assert err.value.reason == reason


def test_the_key_must_be_the_customer() -> None:
    with pytest.raises(BadInput, match="key_mismatch"):
        posting_from_record(record(), POLICY, key="C2")


def test_foreign_currency_converts_at_the_policys_rate() -> None:
    p = posting_from_record(record(currency="usd", amount=Decimal("100.00")), POLICY, key="C1")
    assert p.amount_fen == 71_000
    snapshot = posting_from_record(
        record(txn_type="BALANCE_SNAPSHOT", amount=Decimal("0.00")), POLICY, key="C1"
    )
    assert snapshot.amount_fen == 0
