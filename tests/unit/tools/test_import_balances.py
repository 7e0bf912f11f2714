"""`tiering import-balances` lines as BALANCE_SNAPSHOT postings: the optional account_type
column (none or empty: a deposit account) is carried to the feed's account_type."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from tiering.core.policy_file import load_policy
from tiering.csv_files import Rejected
from tiering.tools.import_balances import read_balances

POLICY = load_policy()


def test_the_account_type_column_is_optional_and_checked() -> None:
    text = (
        "customer_id,account_id,balance,currency,as_of,account_type\n"
        "C1,A1,10.00,CNY,2026-11-01,\n"
        "C1,A2,20.00,CNY,2026-11-01,loan\n"
        "C1,A3,30.00,CNY,2026-11-01,GOLD\n"
    )
    lines = list(read_balances(io.StringIO(text), POLICY))
    assert [item["account_type"] for _, item in lines[:2]] == [None, "LOAN"]  # type: ignore[index]
    line, rejected = lines[2]
    assert isinstance(rejected, Rejected)
    assert (line, "account_type 'GOLD' is none of" in rejected.reason) == (4, True)


def test_a_file_without_the_column_loads_deposit_accounts() -> None:
    text = "customer_id,account_id,balance,currency,as_of\nC1,A1,10.00,CNY,2026-11-01\n"
    ((_, item),) = list(read_balances(io.StringIO(text), POLICY))
    assert not isinstance(item, Rejected)
    assert item["account_type"] is None
    midnight_in_china = datetime(2026, 10, 31, 16, tzinfo=UTC)  # no offset: UTC+8
    assert item["txn_id"] == f"opening:A1:{int(midnight_in_china.timestamp()) * 1000}"
