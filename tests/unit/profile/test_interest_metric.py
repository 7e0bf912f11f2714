"""§6 product interest as a metric: each PRODUCT_INTEREST signal counts once by the customer's
tier and the category, a category the policy does not know as OTHER (a bounded label set)."""

from __future__ import annotations

from prometheus_client import REGISTRY

from tests.harness.records import AFTER_ALL, T0, online
from tests.unit.ledger.test_processor import CODEC
from tiering.core.bank_time import HOUR_MS
from tiering.core.policy_file import load_policy
from tiering.core.tiers import Tier
from tiering.metrics import export_interest
from tiering.profile.processor import ProfileProcessor, ProfileStore, count
from tiering.settings import Settings
from tiering.wire.codec import ONLINE_BEHAVIOR_EVENT
from tiering.wire.inbound import Inbound
from tiering.wire.topics import DeploymentTopics

POLICY = load_policy()


def interest(tier: str, category: str) -> float:
    labels = {"tier": tier, "category": category}
    return REGISTRY.get_sample_value("tiering_product_interest_total", labels) or 0.0


def views(customer: str, category: str, n: int) -> list[Inbound]:
    return [
        Inbound(
            "online-behavior",
            0,
            i,
            customer.encode(),
            CODEC.encode(
                ONLINE_BEHAVIOR_EVENT,
                online(
                    f"{customer}-{category}-{i}",
                    customer,
                    "PRODUCT_VIEW",
                    T0 + i * HOUR_MS,
                    product_category=category,
                ),
            ),
        )
        for i in range(n)
    ]


def test_interest_counts_by_tier_and_category_unknown_ones_as_other() -> None:
    export_interest(POLICY)
    before = (
        interest("POTENTIAL", "SHORT_TERM_WEALTH"),
        interest("POTENTIAL", "OTHER"),
        interest("POTENTIAL", "FUND"),
    )
    profiles: dict[bytes, bytes] = {}
    proc = ProfileProcessor(
        POLICY,
        CODEC,
        ProfileStore(profiles.get),
        lambda _: Tier.POTENTIAL,
        DeploymentTopics.of(Settings()),
    )
    # three views within the week are one signal; the fourth is another (§6)
    batch = views("C1", "SHORT_TERM_WEALTH", 4) + views("C2", "CRYPTO", 3) + views("C3", "FUND", 2)
    out = proc.decide(batch, AFTER_ALL)
    assert len(out.interest) == 3
    count(out)
    assert (
        interest("POTENTIAL", "SHORT_TERM_WEALTH") - before[0],
        interest("POTENTIAL", "OTHER") - before[1],
        interest("POTENTIAL", "FUND") - before[2],
    ) == (2, 1, 0)
    assert (
        REGISTRY.get_sample_value(
            "tiering_product_interest_total", {"tier": "HIGH_END", "category": "PRIVATE_EQUITY"}
        )
        is not None
    )  # exported from 0
