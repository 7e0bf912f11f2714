"""The policy file: defaults from the bank's text, and clear errors for every kind of mistake."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tiering.core.bank_time import DAY_MS
from tiering.core.policy import PolicyError
from tiering.core.policy_file import default_policy_text, load_policy, parse_policy_text
from tiering.core.tiers import Tier


def test_the_packaged_policy_has_the_banks_numbers() -> None:
    p = load_policy()
    assert p.lower_bounds_fen == (5_000_000, 50_000_000, 300_000_000)
    assert p.downgrade_grace_ms == 30 * DAY_MS
    assert p.large_deposit_fen == p.large_withdrawal_fen == 50_000_000
    assert p.churn_drop_ratio == Decimal("0.50")
    assert p.churn_peak_window_days == 30
    assert p.churn_min_tier is Tier.POTENTIAL
    assert p.near_upgrade_ratio == Decimal("0.95")
    assert p.version
    assert p.rates["CNY"] == 1


def _with(old: str, new: str) -> str:
    text = default_policy_text()
    assert old in text
    return text.replace(old, new)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('PREMIUM = "500000.00"', 'PREMIUM = "40000.00"', "bounds must rise strictly: POTENTIAL"),
        ('PREMIUM = "500000.00"', 'PREMIUM = "50000.00"', "would overlap"),
        ('HIGH_END = "3000000.00"', 'HIGH_END = "3,000,000.001"', "tiers.HIGH_END: amount"),
        ('HIGH_END = "3000000.00"', 'HIGH_END = "lots"', "tiers.HIGH_END: 'lots' is not an amount"),
        ('HIGH_END = "3000000.00"', "HIGH_END = true", "tiers.HIGH_END: write money as a string"),
        ('POTENTIAL = "50000.00"', 'POTENTIAL = "-1.00"', "tiers.POTENTIAL: must be above zero"),
        (
            'POTENTIAL = "50000.00"',
            'POTENTIAL = "50000.00"\nGOLD = "1.00"',
            "tiers.GOLD: unknown key",
        ),
        (
            "downgrade_grace_days = 30",
            "downgrade_grace_days = -1",
            "downgrade_grace_days: must be 0 or more",
        ),
        (
            "downgrade_grace_days = 30",
            "downgrade_grace_days = 1.5",
            "downgrade_grace_days: must be a whole number",
        ),
        (
            "downgrade_grace_days = 30",
            "downgrade_grace_dayz = 30",
            "rules.downgrade_grace_dayz: unknown key",
        ),
        (
            'churn_drop_ratio = "0.50"',
            'churn_drop_ratio = "1.5"',
            "churn_drop_ratio: must be between 0 and 1",
        ),
        (
            'near_upgrade_ratio = "0.95"',
            'near_upgrade_ratio = "most"',
            "near_upgrade_ratio: 'most' is not a number",
        ),
        ('churn_min_tier = "POTENTIAL"', 'churn_min_tier = "GOLD"', "unknown tier 'GOLD'"),
        ('USD = "7.10"', 'usd = "7.10"', "rates.usd: not an ISO 4217 code"),
        ('USD = "7.10"', 'USD = "0"', "rates.USD: must be above zero"),
        ('CNY = "1"', 'CNY = "2"', "rates.CNY: must be 1"),
        ('policy_version = "2026.11-1"', "", "policy_version: missing"),
        ("[dedup]", "[dedupe]", "dedupe: unknown key"),
        (
            "max_event_time_lead_minutes = 60",
            "max_event_time_lead_minutes = 0",
            "input.max_event_time_lead_minutes: must be 1 or more",
        ),
        (
            "max_event_time_lead_minutes = 60",
            "max_event_time_lead_hours = 1",
            "input.max_event_time_lead_hours: unknown key",
        ),
    ],
)
def test_mistakes_are_named(old: str, new: str, message: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy_text(_with(old, new), "policy.toml")
    assert message in str(err.value)
    assert str(err.value).startswith("policy.toml:")


def test_all_problems_are_reported_at_once() -> None:
    text = _with('PREMIUM = "500000.00"', 'PREMIUM = "40000.00"')
    text = text.replace("downgrade_grace_days = 30", "downgrade_grace_days = -3")
    with pytest.raises(PolicyError, match=r"2 problem\(s\)"):
        parse_policy_text(text)


def test_not_toml_at_all() -> None:
    with pytest.raises(PolicyError, match="not valid TOML"):
        parse_policy_text("tiers = [", "p.toml")


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        load_policy(tmp_path / "nope.toml")


def test_a_file_overrides_the_default(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        _with("downgrade_grace_days = 30", "downgrade_grace_days = 0").replace(
            'policy_version = "2026.11-1"', 'policy_version = "test-0"'
        )
    )
    p = load_policy(path)
    assert p.downgrade_grace_ms == 0
    assert p.version == "test-0"


def test_the_event_time_lead_is_an_hour_unless_the_file_says_otherwise() -> None:
    assert load_policy().max_event_time_lead_ms == 3_600_000
    text = _with("max_event_time_lead_minutes = 60", "max_event_time_lead_minutes = 5")
    assert parse_policy_text(text).max_event_time_lead_ms == 300_000
    # a policy file from before the setting still reads, with the hour
    older = _with("[input]\nmax_event_time_lead_minutes = 60\n", "")
    assert parse_policy_text(older).max_event_time_lead_ms == 3_600_000
