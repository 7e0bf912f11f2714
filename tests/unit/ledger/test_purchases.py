"""§7.4 marketing completion: every purchase of a product category counts, notified before or
not, by the customer's tier and the category, with the money paid into it; a posting that only
carries a product code (a cash withdrawal, interest on a time deposit, a redemption) does not."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from tests.harness.records import AFTER_ALL
from tests.unit.ledger.test_processor import POLICY, commit, encoded, message, processor
from tiering import metrics
from tiering.core.kinds import SignalKind
from tiering.core.tiers import Tier
from tiering.ledger.processor import count


def purchases(tier: str, category: str) -> tuple[float, float]:
    labels = {"tier": tier, "category": category}
    n = REGISTRY.get_sample_value("tiering_purchases_total", labels) or 0.0
    cny = REGISTRY.get_sample_value("tiering_purchases_cny_total", labels) or 0.0
    return n, cny


def run(*postings: dict) -> list:
    proc, store, table = processor()
    out = proc.decide(
        [
            message(encoded(**p), key=p["customer_id"].encode(), offset=i)
            for i, p in enumerate(postings)
        ],
        now_ms=AFTER_ALL,
    )
    commit(store, table)
    count(out, 0)
    return [s for _, s in out.signals if s.kind == SignalKind.PURCHASE]


def test_money_paid_into_a_product_is_a_purchase_counted_with_its_amount() -> None:
    before_cd = purchases("PREMIUM", "LARGE_CD")
    before_fund = purchases("POTENTIAL", "FUND")
    bought = run(
        {"txn_id": "P0", "customer_id": "BUYER", "amount": "600000.00"},
        # paid in at the counter for a large-denomination CD: the customer is PREMIUM by then
        {
            "txn_id": "P1",
            "customer_id": "BUYER",
            "amount": "200000.00",
            "product_code": "LARGE_CD_3Y",
        },
        # paid out of the deposit account into a fund
        {"txn_id": "P2", "customer_id": "SAVER", "amount": "100000.00"},
        {
            "txn_id": "P3",
            "customer_id": "SAVER",
            "amount": "30000.50",
            "txn_type": "TRANSFER_OUT",
            "product_code": "FUND_X",
        },
    )
    assert [(s.tier, s.detail, s.amount_fen) for s in bought] == [
        (Tier.PREMIUM, "LARGE_CD", 200_000_00),
        (Tier.POTENTIAL, "FUND", 30_000_50),
    ]
    assert purchases("PREMIUM", "LARGE_CD") == (before_cd[0] + 1, before_cd[1] + 200_000)
    assert purchases("POTENTIAL", "FUND") == (before_fund[0] + 1, before_fund[1] + 30_000.50)


@pytest.mark.parametrize(
    ("txn_type", "code"),
    [
        ("WITHDRAWAL", "TIME_DEPOSIT_1Y"),  # cash taken away, not into a product
        ("INTEREST", "TIME_DEPOSIT_1Y"),  # the bank's interest on a deposit already held
        ("TRANSFER_IN", "SHORT_TERM_WEALTH_90D"),  # a wealth product paying back
        ("FEE", "NOTICE_DEPOSIT"),
        ("DEPOSIT", "GOLD_BAR"),  # no category of the policy
    ],
)
def test_a_posting_that_only_carries_a_product_code_is_no_purchase(
    txn_type: str, code: str
) -> None:
    before = {(t.name, c): purchases(t.name, c) for t in Tier for c in POLICY.products}
    bought = run(
        {"txn_id": "Q0", "customer_id": "HOLDER", "amount": "80000.00"},
        {
            "txn_id": "Q1",
            "customer_id": "HOLDER",
            "amount": "1000.00",
            "txn_type": txn_type,
            "product_code": code,
        },
    )
    assert bought == []
    assert {(t.name, c): purchases(t.name, c) for t in Tier for c in POLICY.products} == before


def test_the_policys_targets_are_exported_and_every_pair_starts_at_zero() -> None:
    metrics.export_marketing(POLICY)
    target = {"tier": "HIGH_END", "category": "PRIVATE_EQUITY"}
    assert REGISTRY.get_sample_value("tiering_purchase_target", target) == 5
    assert REGISTRY.get_sample_value("tiering_purchase_target_cny", target) == 50_000_000
    # a pair without a target has no target series, but its purchases are there from 0
    assert (
        REGISTRY.get_sample_value(
            "tiering_purchase_target", {"tier": "ORDINARY", "category": "PRIVATE_EQUITY"}
        )
        is None
    )
    assert (
        REGISTRY.get_sample_value(
            "tiering_purchases_total", {"tier": "ORDINARY", "category": "PRIVATE_EQUITY"}
        )
        is not None
    )
