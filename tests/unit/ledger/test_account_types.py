"""§3 tiers by deposit balance (存款余额): postings on accounts that are not deposits (a loan, a
credit card, wealth holdings) change no balance and no tier; the policy file names the account
types that count, deposits only by default. The stored state of the format before openings
were remembered still reads."""

from __future__ import annotations

import dataclasses

import msgpack
import pytest

from tests.harness.records import T0, posting
from tests.unit.ledger.test_postings import record
from tests.unit.ledger.test_processor import message, processor
from tests.unit.ledger.test_rules import POLICY, Customer
from tiering.core.bad_input import BadInput
from tiering.core.policy import PolicyError
from tiering.core.policy_file import default_policy_text, parse_policy_text
from tiering.core.tiers import Tier
from tiering.ledger.postings import Posting, TxnType, posting_from_record
from tiering.ledger.rules import apply_posting
from tiering.ledger.state import decode_state, encode_state
from tiering.wire.codec import DEPOSIT_TRANSACTION, AvroCodec


def _post(c: Customer, amount: str, account_type: str, account: str, txn_id: str):
    c.n += 1
    p = Posting(
        txn_id, "C1", account, TxnType.DEPOSIT, int(amount) * 100, T0, account_type=account_type
    )
    state, applied = apply_posting(c.state, p, c.policy, 0)
    c.state = decode_state(encode_state(state))
    return applied


@pytest.mark.parametrize("account_type", ["LOAN", "CREDIT", "WEALTH"])
def test_a_posting_on_another_kind_of_account_is_left_out_of_the_total(account_type) -> None:
    c = Customer()
    c.post("40000.00", account="SAVINGS")
    applied = _post(c, "900000", account_type, "OTHER", "X1")
    assert applied.excluded
    assert (applied.total_fen, applied.changes, applied.signals) == (4_000_000, [], [])
    assert c.state is not None
    assert set(c.state.accounts) == {"SAVINGS"}
    assert (c.tier, c.total) == (Tier.ORDINARY, 4_000_000)


def test_the_policy_can_count_wealth_holdings() -> None:
    c = Customer(
        dataclasses.replace(POLICY, counted_account_types=frozenset({"DEPOSIT", "WEALTH"}))
    )
    c.post("40000.00", account="SAVINGS")
    applied = _post(c, "500000", "WEALTH", "FUND", "X1")
    assert not applied.excluded
    assert (c.tier, c.total) == (Tier.PREMIUM, 54_000_000)


def test_the_feed_names_the_account_type_or_means_a_deposit() -> None:
    assert posting_from_record(record(), POLICY).account_type == "DEPOSIT"
    assert posting_from_record(record(account_type=None), POLICY).account_type == "DEPOSIT"
    assert posting_from_record(record(account_type="loan"), POLICY).account_type == "LOAN"
    with pytest.raises(BadInput) as err:
        posting_from_record(record(account_type="MORTGAGE"), POLICY)
    assert err.value.reason == "unknown_account_type"


def test_the_batch_counts_excluded_postings_per_type_and_stores_nothing() -> None:
    proc, store, _ = processor()
    codec = AvroCodec()
    batch = [
        message(
            codec.encode(DEPOSIT_TRANSACTION, posting("L1", "C1", "100.00", account_type="LOAN"))
        ),
        message(
            codec.encode(DEPOSIT_TRANSACTION, posting("W1", "C1", "5.00", account_type="WEALTH")),
            offset=1,
        ),
    ]
    out = proc.decide(batch, now_ms=T0)
    assert out.excluded == {"LOAN": 1, "WEALTH": 1}
    assert out.outcomes == {"processed": 2}
    assert (out.balances, out.changes, out.signals, store.staged()) == ({}, [], [], [])


def test_the_policy_file_names_the_counted_types() -> None:
    assert POLICY.counted_account_types == {"DEPOSIT"}
    text = default_policy_text().replace('counted = ["DEPOSIT"]', 'counted = ["DEPOSIT", "WEALTH"]')
    assert parse_policy_text(text).counted_account_types == {"DEPOSIT", "WEALTH"}
    older = default_policy_text().replace('[accounts]\ncounted = ["DEPOSIT"]\n', "")
    assert parse_policy_text(older).counted_account_types == {"DEPOSIT"}
    with pytest.raises(PolicyError, match=r"accounts\.counted: unknown account type"):
        parse_policy_text(default_policy_text().replace('"DEPOSIT"]', '"DEPOSIT", "GOLD"]'))


def test_a_state_of_format_1_still_reads_without_an_opening() -> None:
    c = Customer()
    c.post("40000.00", TxnType.BALANCE_SNAPSHOT)
    assert c.state is not None
    assert c.state.placement_as_of_ms == T0
    fields = msgpack.unpackb(encode_state(c.state), raw=False)
    old = msgpack.packb([1, *fields[1:12]], use_bin_type=True)
    state = decode_state(old)
    assert state.placement_as_of_ms is None
    assert (state.tier, state.total_fen, state.accounts) == (
        c.state.tier,
        c.state.total_fen,
        c.state.accounts,
    )
