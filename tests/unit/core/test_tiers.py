"""§3: tiers by balance, lower bounds inclusive, to the fen."""

from __future__ import annotations

import pytest

from tiering.core.money import parse_yuan
from tiering.core.policy_file import load_policy
from tiering.core.tiers import Tier, classify

BOUNDS = load_policy().lower_bounds_fen


@pytest.mark.parametrize(
    ("balance", "tier"),
    [
        ("-100.00", Tier.ORDINARY),
        ("0.00", Tier.ORDINARY),
        ("49999.99", Tier.ORDINARY),
        ("50000.00", Tier.POTENTIAL),
        ("50000.01", Tier.POTENTIAL),
        ("499999.99", Tier.POTENTIAL),
        ("500000.00", Tier.PREMIUM),
        ("500000.01", Tier.PREMIUM),
        ("2999999.99", Tier.PREMIUM),
        ("3000000.00", Tier.HIGH_END),
        ("3000000.01", Tier.HIGH_END),
        ("9999999999999999.99", Tier.HIGH_END),
    ],
)
def test_classification_at_every_bound(balance: str, tier: Tier) -> None:
    assert classify(parse_yuan(balance), BOUNDS) is tier


def test_tiers_are_ordered_like_the_policy() -> None:
    assert [t.name for t in sorted(Tier)] == ["ORDINARY", "POTENTIAL", "PREMIUM", "HIGH_END"]
    assert Tier.parse("PREMIUM") is Tier.PREMIUM
    with pytest.raises(ValueError, match="unknown tier 'GOLD'"):
        Tier.parse("GOLD")
