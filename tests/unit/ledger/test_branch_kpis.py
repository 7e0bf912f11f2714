"""§7 per branch as well as per tier: deposit growth, departures and purchases are counted by
the customer's branch too, and a customer's rating by their branch; the branch labels stay a
bounded set (a bank's hundreds of branches), never a customer."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import REGISTRY

from tests.harness.records import AFTER_ALL, T0, online
from tests.unit.ledger.test_processor import CODEC, commit, encoded, message, processor
from tiering.core.bank_time import DAY_MS
from tiering.core.policy_file import load_policy
from tiering.core.tiers import Tier
from tiering.ledger.processor import count
from tiering.metrics import BranchLabels
from tiering.profile.processor import ProfileProcessor, ProfileStore
from tiering.profile.processor import count as count_profiles
from tiering.settings import Settings
from tiering.wire.codec import ONLINE_BEHAVIOR_EVENT
from tiering.wire.inbound import Inbound
from tiering.wire.topics import DeploymentTopics

POLICY = load_policy()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_growth_departures_and_purchases_per_branch_and_tier() -> None:
    proc, store, table = processor()
    names = (
        ("tiering_branch_inflow_cny_total", "B-SH-01", "POTENTIAL"),
        ("tiering_branch_outflow_cny_total", "B-SH-01", "POTENTIAL"),
        ("tiering_branch_inflow_cny_total", "B-BJ-02", "ORDINARY"),
        ("tiering_branch_churned_customers_total", "B-BJ-02", "ORDINARY"),
        ("tiering_branch_purchases_total", "B-SH-01", "POTENTIAL"),
        ("tiering_branch_purchases_cny_total", "B-SH-01", "POTENTIAL"),
    )
    before = [sample(n, branch_id=b, tier=t) for n, b, t in names]
    postings = [
        # SH's customer pays 80,000 in and buys a 20,000 notice deposit with it
        {"txn_id": "B1", "customer_id": "SH", "amount": "80000.00", "branch_id": "B-SH-01"},
        {
            "txn_id": "B2",
            "customer_id": "SH",
            "amount": "20000.00",
            "txn_type": "TRANSFER_OUT",
            "product_code": "NOTICE_DEPOSIT",
            "branch_id": "B-SH-01",
        },
        # BJ's customer empties the account and leaves: counted at their branch
        {"txn_id": "B3", "customer_id": "BJ", "amount": "300.00", "branch_id": "B-BJ-02"},
        {
            "txn_id": "B4",
            "customer_id": "BJ",
            "amount": "300.00",
            "txn_type": "WITHDRAWAL",
            "branch_id": None,
        },
        {
            "txn_id": "B5",
            "customer_id": "SH",
            "amount": "1.00",
            "branch_id": "B-SH-01",
            "event_time_ms": T0 + POLICY.departure_ms + DAY_MS,
        },
    ]
    for i, p in enumerate(postings):
        out = proc.decide(
            [message(encoded(**p), key=p["customer_id"].encode(), offset=i)], now_ms=AFTER_ALL
        )
        commit(store, table)
        count(out, AFTER_ALL)
    after = [sample(n, branch_id=b, tier=t) for n, b, t in names]
    assert [a - b for a, b in zip(after, before, strict=True)] == [
        80_001.0,  # B1 and B5
        20_000.0,
        300.0,
        1.0,  # BJ's branch stays the one their postings named
        1.0,
        20_000.0,
    ]


def test_a_rating_counts_at_the_customers_branch() -> None:
    before = (
        sample("tiering_branch_satisfaction_rating_count", branch_id="B-GZ-03"),
        sample("tiering_branch_satisfaction_rating_sum", branch_id="B-GZ-03"),
    )
    profiles: dict[bytes, bytes] = {}
    proc = ProfileProcessor(
        POLICY,
        CODEC,
        ProfileStore(profiles.get),
        lambda _: Tier.PREMIUM,
        DeploymentTopics.of(Settings()),
        branch_of={"GZ": "B-GZ-03"}.get,
    )
    event = online("E1", "GZ", "FEEDBACK", T0, rating=4)
    value = CODEC.encode(ONLINE_BEHAVIOR_EVENT, event)
    out = proc.decide([Inbound("online-behavior", 0, 0, b"GZ", value)], AFTER_ALL)
    count_profiles(out)
    assert (
        sample("tiering_branch_satisfaction_rating_count", branch_id="B-GZ-03") - before[0],
        sample("tiering_branch_satisfaction_rating_sum", branch_id="B-GZ-03") - before[1],
    ) == (1, 4)


def test_branch_labels_are_bounded_and_say_so_once(caplog: pytest.LogCaptureFixture) -> None:
    labels = BranchLabels(limit=2)
    assert [labels(b) for b in (None, "", "B1", "B2", "B1")] == ["NONE", "NONE", "B1", "B2", "B1"]
    with caplog.at_level(logging.WARNING, logger="tiering.metrics"):
        assert [labels(b) for b in ("B3", "B4", "B2")] == ["OTHER", "OTHER", "B2"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "B3" not in warnings[0].getMessage()
