"""The policy file: defaults from the bank's text, and clear errors for every kind of mistake."""

from __future__ import annotations

import re
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
        ('policy_version = "2026.12-5"', "", "policy_version: missing"),
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
        (
            'min_balance_cny = "500000.00"',
            'min_balance_cny = "499999.99"',
            "idle_funds.min_balance_cny: 499999.99 is below tiers.PREMIUM",
        ),
        (
            'min_balance_cny = "500000.00"',
            'min_balance_cny = "a lot"',
            "idle_funds.min_balance_cny: 'a lot' is not an amount",
        ),
        ("days = 90", "days = 0", "idle_funds.days: must be 1 or more"),
        ("days = 90", "days = 90.5", "idle_funds.days: must be a whole number"),
        ("days = 90", "weeks = 13", "idle_funds.weeks: unknown key"),
        (
            "assessment_valid_months = 12",
            "assessment_valid_months = 0",
            "suitability.assessment_valid_months: must be 1 or more",
        ),
        (
            "assessment_valid_months = 12",
            'assessment_valid_months = "a year"',
            "suitability.assessment_valid_months: must be a whole number",
        ),
        (
            "assessment_valid_months = 12",
            "assessment_valid_days = 365",
            "suitability.assessment_valid_days: unknown key",
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
            'policy_version = "2026.12-5"', 'policy_version = "test-0"'
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


# --- §5 texts in three languages --------------------------------------------------------------

#: Traditional characters that a Simplified text never holds (their Simplified forms differ)
TRADITIONAL_ONLY = set("戶產務經與優專聯薦額銀團資紹險國財積獎級體檢機場詢質賬為區華")


def _texts(policy):  # every (where, product or action) of the policy
    yield from ((f"products.{n}", p) for n, p in policy.products.items())
    for tier, by_cause in policy.actions.items():
        for cause, actions in by_cause.items():
            yield from ((f"actions.{tier.name}.{cause}[{i}]", a) for i, a in enumerate(actions))


def test_the_packaged_policy_speaks_every_language() -> None:
    p = load_policy()
    assert p.without_simplified == ()
    for where, entry in _texts(p):
        simplified, traditional = entry.in_language("zh_Hans_CN"), entry.in_language("zh_Hant")
        assert not re.search(r"[\u3400-\u9fff]", entry.in_language("en")), where
        assert not TRADITIONAL_ONLY & set(simplified), f"{where}: {simplified}"
        assert len(simplified) == len(traditional), where  # the same text, another script
    upgrade = p.actions_for(Tier.PREMIUM, "TIER_UPGRADE")[0]
    assert (upgrade.en, upgrade.zh_hant, upgrade.zh_hans) == (
        "Assign a dedicated customer manager",
        "配備專屬客戶經理",
        "配备专属客户经理",
    )
    assert str(upgrade) == "Assign a dedicated customer manager / 配備專屬客戶經理"
    assert p.products["TREASURY_BOND"].in_language("zh_Hans_CN") == "国债"


def test_a_policy_file_with_the_old_zh_key_still_loads_as_traditional() -> None:
    large_cd = 'zh_Hant = "大額定制存款", zh_Hans = "大额定制存款"'
    old = _with(large_cd, 'zh = "大額定制存款"')
    hotline = 'zh_Hant = "配備專屬客戶經理"\nzh_Hans = "配备专属客户经理"'
    old = old.replace(hotline, 'zh = "配備專屬客戶經理"')
    p = parse_policy_text(old)
    product = p.products["LARGE_CD"]
    # no Simplified text: Simplified readers see the Traditional one, and the policy says which
    assert (product.zh_hant, product.zh_hans) == ("大額定制存款", "大額定制存款")
    assert p.actions_for(Tier.PREMIUM, "TIER_UPGRADE")[0].in_language("zh_Hans_CN") == (
        "配備專屬客戶經理"
    )
    assert p.without_simplified == ("products.LARGE_CD", "actions.PREMIUM.TIER_UPGRADE[0]")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'en = "Assign a dedicated customer manager"\n',
            "",
            "actions.PREMIUM.TIER_UPGRADE[0]: lacks en (the English text)",
        ),
        (
            'zh_Hant = "配備專屬客戶經理"\n',
            "",
            "actions.PREMIUM.TIER_UPGRADE[0]: lacks zh_Hant (the original's Traditional Chinese)",
        ),
        (
            'zh_Hant = "配備專屬客戶經理"\n',
            'zh_Hant = "配備專屬客戶經理"\nzh = "配備專屬客戶經理"\n',
            "actions.PREMIUM.TIER_UPGRADE[0]: give zh_Hant only (zh is its old name)",
        ),
        (
            'zh_Hans = "配备专属客户经理"\n',
            'zh_Hans = ""\n',
            "actions.PREMIUM.TIER_UPGRADE[0].zh_Hans: must be a text",
        ),
        (
            'zh_Hans = "配备专属客户经理"\n',
            'zh_Hans = "配备专属客户经理"\nzh_CN = "配备专属客户经理"\n',
            "actions.PREMIUM.TIER_UPGRADE[0].zh_CN: unknown key",
        ),
        (
            'FUND = { risk = 3, en = "fund", zh_Hant = "基金", zh_Hans = "基金" }',
            'FUND = { risk = 3, zh_Hant = "基金", zh_Hans = "基金" }',
            "products.FUND: lacks en",
        ),
        (
            'FUND = { risk = 3, en = "fund", zh_Hant = "基金", zh_Hans = "基金" }',
            'FUND = { risk = 3, en = "fund", zh_Hans = "基金" }',
            "products.FUND: lacks zh_Hant",
        ),
    ],
)
def test_every_text_of_an_entry_is_checked_and_named(old: str, new: str, message: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy_text(_with(old, new), "policy.toml")
    assert message in str(err.value)


def test_policy_check_names_the_entries_without_simplified_chinese(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tiering.cli.admin import policy_check

    path = tmp_path / "old.toml"
    path.write_text(_with('zh_Hant = "基金", zh_Hans = "基金"', 'zh = "基金"'), "utf-8")
    result = CliRunner().invoke(policy_check, [str(path)])
    assert result.exit_code == 0, result.output
    assert "without zh_Hans (Simplified Chinese readers see the zh_Hant text): products.FUND" in (
        result.output
    )
    assert "without zh_Hans" not in CliRunner().invoke(policy_check, []).output


def test_idle_funds_are_the_premium_bound_held_90_days_unless_the_file_says_otherwise() -> None:
    """§5: a PREMIUM or HIGH_END customer's idle sum; an older file without the section reads
    with the PREMIUM bound, whatever it is, and 90 days."""
    p = load_policy()
    assert (p.idle_min_balance_fen, p.idle_ms) == (50_000_000, 90 * DAY_MS)
    text = _with('min_balance_cny = "500000.00"', 'min_balance_cny = "800000.00"')
    p = parse_policy_text(text.replace("days = 90", "days = 30"))
    assert (p.idle_min_balance_fen, p.idle_ms) == (80_000_000, 30 * DAY_MS)
    older = re.sub(r"\[idle_funds\]\n[^\n]*\n[^\n]*\n", "", default_policy_text())
    assert "[idle_funds]" not in older
    older = older.replace('PREMIUM = "500000.00"', 'PREMIUM = "600000.00"')
    p = parse_policy_text(older)
    assert (p.idle_min_balance_fen, p.idle_ms) == (60_000_000, 90 * DAY_MS)


def test_policy_check_shows_the_idle_funds_rule() -> None:
    from click.testing import CliRunner

    from tiering.cli.admin import policy_check

    output = CliRunner().invoke(policy_check, []).output
    assert "idle funds: 500,000.00 CNY or more held 90 days with no withdrawal" in output


@pytest.mark.parametrize("cause", ["TIER_UPGRADE", "DEFAULT"])
def test_high_end_customers_are_offered_business_networking(cause: str) -> None:
    """§5 HIGH_END marketing: business networking events with partner firms and clubs (高端
    會所), for a newcomer to the tier and in the team's standing actions."""
    actions = load_policy().actions_for(Tier.HIGH_END, cause)
    networking = [a for a in actions if "private-club" in a.en]
    assert len(networking) == 1, [a.en for a in actions]
    assert "私人俱樂部聚會" in networking[0].zh_hant
    assert "私人俱乐部聚会" in networking[0].zh_hans


def test_a_risk_assessment_counts_for_12_months_unless_the_file_says_otherwise() -> None:
    """§9: the packaged policy, a file that sets it, and an older file without [suitability]."""
    assert load_policy().assessment_valid_months == 12
    text = _with("assessment_valid_months = 12", "assessment_valid_months = 6")
    assert parse_policy_text(text).assessment_valid_months == 6
    older = re.sub(r"\[suitability\]\n[^\n]*\n", "", default_policy_text())
    assert "[suitability]" not in older
    assert parse_policy_text(older).assessment_valid_months == 12


def test_policy_check_shows_how_long_an_assessment_counts() -> None:
    from click.testing import CliRunner

    from tiering.cli.admin import policy_check

    output = CliRunner().invoke(policy_check, []).output
    assert "risk assessments count for 12 months (older: tolerance unknown)" in output
