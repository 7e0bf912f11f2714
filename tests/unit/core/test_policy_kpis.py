"""The policy file's §7 KPI settings: when a customer has left ([churn], §7.3) and the marketing
targets per tier and product category ([targets], §7.4); an older file without them still reads."""

from __future__ import annotations

import re

import pytest

from tiering.core.bank_time import DAY_MS
from tiering.core.policy import PolicyError
from tiering.core.policy_file import default_policy_text, load_policy, parse_policy_text
from tiering.core.policy_kpis import Target
from tiering.core.tiers import Tier

TEXT = default_policy_text()


def without(section: str) -> str:
    """The default policy without ``[section]`` and its tables (up to the next comment)."""
    pattern = rf"^\[{section}(\.[A-Z_]+)?\]\n(?:[^#\n\[].*\n|\n(?=\[{section}))*"
    return re.sub(pattern, "", TEXT, flags=re.MULTILINE)


def test_the_default_has_the_policys_own_examples_as_targets() -> None:
    """§7.4: private-banking subscriptions by high-end customers, special deposit products
    bought by potential customers."""
    policy = load_policy()
    assert policy.departure_ms == 30 * DAY_MS
    targets = policy.purchase_targets
    assert targets[Tier.HIGH_END]["PRIVATE_EQUITY"] == Target(5, 50_000_000_00)
    assert targets[Tier.POTENTIAL]["NOTICE_DEPOSIT"] == Target(80, 8_000_000_00)
    assert all(category in policy.products for t in targets.values() for category in t)


def test_a_file_from_before_the_kpi_settings_reads_with_30_days_and_no_targets() -> None:
    older = parse_policy_text(without("targets").replace("[churn]\ninactive_days = 30\n", ""))
    assert older.departure_ms == 30 * DAY_MS
    assert older.purchase_targets == {}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("inactive_days = 30", "inactive_days = 0", "churn.inactive_days: must be 1 or more"),
        ("inactive_days = 30", "inactive_weeks = 4", "churn.inactive_weeks: unknown key"),
        ("[targets.PREMIUM]", "[targets.GOLD]", "targets.GOLD: unknown key"),
        (
            'LARGE_CD = { count = 30, amount_cny = "30000000.00" }',
            'SAVINGS_BOND = { count = 30, amount_cny = "30000000.00" }',
            "targets.PREMIUM.SAVINGS_BOND: not a product category",
        ),
        (
            'LARGE_CD = { count = 30, amount_cny = "30000000.00" }',
            'LARGE_CD = { count = -1, amount_cny = "30000000.00" }',
            "targets.PREMIUM.LARGE_CD.count: must be 0 or more",
        ),
        (
            'LARGE_CD = { count = 30, amount_cny = "30000000.00" }',
            'LARGE_CD = { count = 30, amount_cny = "lots" }',
            "targets.PREMIUM.LARGE_CD.amount_cny: 'lots' is not an amount",
        ),
        (
            'LARGE_CD = { count = 30, amount_cny = "30000000.00" }',
            "LARGE_CD = 30",
            "targets.PREMIUM.LARGE_CD: write {",
        ),
    ],
)
def test_mistakes_are_named(old: str, new: str, message: str) -> None:
    assert old in TEXT
    with pytest.raises(PolicyError) as err:
        parse_policy_text(TEXT.replace(old, new, 1), "policy.toml")
    assert message in str(err.value)


def test_a_target_may_give_a_count_or_an_amount_alone() -> None:
    text = TEXT.replace(
        'LARGE_CD = { count = 30, amount_cny = "30000000.00" }', "LARGE_CD = { count = 30 }"
    )
    assert parse_policy_text(text).purchase_targets[Tier.PREMIUM]["LARGE_CD"] == Target(30, 0)
