"""§6 campaigns in the policy file: the packaged example, and a clear problem for each mistake."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tiering.core.policy import PolicyError
from tiering.core.policy_file import default_policy_text, load_policy, parse_policy_text
from tiering.core.tiers import Tier

SECTION = re.compile(r"\[campaigns\.SHORT_TERM_COMBINATION\]\n(?:[^\n]+\n)+")


def test_the_packaged_policy_carries_the_policys_own_example() -> None:
    """§6: potential customers interested in short-term products get the short-term product
    with a notice deposit (§5's combination)."""
    campaign = load_policy().campaigns["SHORT_TERM_COMBINATION"]
    assert campaign.tiers == (Tier.POTENTIAL,)
    assert campaign.interest == "SHORT_TERM_WEALTH"
    assert campaign.min_interest == Decimal("2.0")
    assert campaign.products == ("SHORT_TERM_WEALTH", "NOTICE_DEPOSIT")
    assert campaign.in_language("zh_Hans_CN") == "短期理财产品与通知存款组合"
    assert campaign.action is not None
    assert "积分" in campaign.action.zh_hans


def _campaign(body: str) -> str:
    text = SECTION.sub(f"[campaigns.SHORT_TERM_COMBINATION]\n{body}\n", default_policy_text())
    assert body in text
    return text


GOOD = """tiers = ["POTENTIAL", "PREMIUM"]
interest = "FUND"
min_interest = 3
products = ["FUND", "TIME_DEPOSIT"]
en = "Fund and time deposit"
zh_Hant = "基金與定期"
zh_Hans = "基金与定期\""""


def test_a_campaign_without_an_action_reads() -> None:
    campaign = parse_policy_text(_campaign(GOOD)).campaigns["SHORT_TERM_COMBINATION"]
    assert campaign.tiers == (Tier.POTENTIAL, Tier.PREMIUM)
    assert campaign.min_interest == 3
    assert campaign.action is None


def test_a_policy_file_without_campaigns_still_reads() -> None:
    older = SECTION.sub("", default_policy_text())
    assert "[campaigns" not in older
    assert parse_policy_text(older).campaigns == {}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('tiers = ["POTENTIAL", "PREMIUM"]', 'tiers = ["GOLD"]', "tiers: unknown tier 'GOLD'"),
        ('tiers = ["POTENTIAL", "PREMIUM"]', "tiers = []", "tiers: give a list of tiers"),
        ('interest = "FUND"', 'interest = "CRYPTO"', "interest: give the product category"),
        ("min_interest = 3", "min_interest = 0", "min_interest: must be above zero"),
        ("min_interest = 3", 'min_interest = "lots"', "min_interest: give the lowest"),
        ('["FUND", "TIME_DEPOSIT"]', '["FUND", "GOLD_BAR"]', "unknown product category 'GOLD_BAR'"),
        ('products = ["FUND", "TIME_DEPOSIT"]', "products = []", "name at least one product"),
        ('en = "Fund and time deposit"', "", "lacks en"),
        ('zh_Hans = "基金与定期"', 'zh_Hans = "x"\nbudget = 1', "budget: unknown key"),
    ],
)
def test_a_mistake_in_a_campaign_is_named(old: str, new: str, message: str) -> None:
    text = _campaign(GOOD.replace(old, new))
    with pytest.raises(PolicyError) as caught:
        parse_policy_text(text)
    assert message in str(caught.value)
    assert "campaigns.SHORT_TERM_COMBINATION" in str(caught.value)


def test_a_campaigns_name_must_fit_ids_and_the_command_line() -> None:
    text = default_policy_text().replace(
        "[campaigns.SHORT_TERM_COMBINATION]", '[campaigns."short term"]'
    )
    with pytest.raises(PolicyError, match="capital letters, digits and _"):
        parse_policy_text(text)


def test_policy_check_lists_the_campaigns() -> None:
    from click.testing import CliRunner

    from tiering.cli.admin import policy_check

    output = CliRunner().invoke(policy_check, []).output
    assert (
        "campaign SHORT_TERM_COMBINATION: POTENTIAL with SHORT_TERM_WEALTH interest 2.0 or more "
        "-> SHORT_TERM_WEALTH + NOTICE_DEPOSIT"
    ) in output
