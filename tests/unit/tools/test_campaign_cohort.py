"""`tiering campaign`: who the cohort is (POLICY §6: tiers and a decayed interest score; §9: the
risk tolerance in force admits the whole combination), who is left out and why, and signals
whose ids a re-run repeats."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from click.testing import CliRunner

from tiering.cli import main
from tiering.core.bank_time import DAY_MS
from tiering.core.kinds import SignalKind
from tiering.core.policy_file import load_policy
from tiering.core.tiers import Tier
from tiering.notify.context import Assessment
from tiering.tools.campaign.cohort import (
    Candidate,
    Exclusion,
    campaign_signal,
    run_id,
    select_cohort,
)

POLICY = load_policy()
CAMPAIGN = POLICY.campaigns["SHORT_TERM_COMBINATION"]  # POTENTIAL, SHORT_TERM_WEALTH >= 2.0
AT = 1_764_000_000_000  # 2025-11-25 00:00 China time
TODAY = date(2025, 11, 25)


def customer(
    n: int,
    tier: Tier = Tier.POTENTIAL,
    score: float = 3.0,
    days_ago: int = 0,
    level: int | None = 2,
    branch: str | None = "B-SH-01",
    assessed_on: date = TODAY,
) -> Candidate:
    return Candidate(
        customer_id=f"C{n:08d}",
        tier=tier,
        score=score,
        last_seen_ms=AT - days_ago * DAY_MS,
        branch_id=branch,
        assessments=() if level is None else (Assessment(level, assessed_on),),
    )


def test_the_cohort_is_the_tiers_with_enough_interest_and_tolerance() -> None:
    candidates = [
        customer(1),
        customer(2, branch="B-BJ-02", level=5),
        customer(3, tier=Tier.PREMIUM),  # not the campaign's tier: no one's business here
        customer(4, score=1.9),  # below the minimum
        customer(5, level=1),  # tolerance below SHORT_TERM_WEALTH (risk 2)
        customer(6, level=None),  # unknown tolerance: the lowest risk only
        customer(7, assessed_on=date(2024, 11, 24)),  # expired a day ago: unknown
        customer(8, branch=None),
    ]
    cohort = select_cohort(candidates, CAMPAIGN, POLICY, AT)
    assert [m.customer_id for m in cohort.members] == ["C00000001", "C00000002", "C00000008"]
    assert cohort.excluded == {Exclusion.TOLERANCE_TOO_LOW: 1, Exclusion.TOLERANCE_UNKNOWN: 2}
    assert cohort.sizes() == {
        (Tier.POTENTIAL, "B-SH-01"): 1,
        (Tier.POTENTIAL, "B-BJ-02"): 1,
        (Tier.POTENTIAL, None): 1,
    }


def test_the_score_is_decayed_to_the_campaigns_time() -> None:
    """A score of 4 seven days ago (one half-life) is 2 now: just enough; a day older is not."""
    week_old = customer(1, score=4.0, days_ago=7)
    older = customer(2, score=4.0, days_ago=8)
    members = select_cohort([week_old, older], CAMPAIGN, POLICY, AT).members
    assert members == [week_old]


def test_a_campaign_of_lowest_risk_products_reaches_customers_without_an_assessment() -> None:
    safe = replace(CAMPAIGN, products=("NOTICE_DEPOSIT", "TIME_DEPOSIT"))
    cohort = select_cohort([customer(1, level=None)], safe, POLICY, AT)
    assert len(cohort.members) == 1
    assert not cohort.excluded


def test_signals_are_keyed_by_customer_with_ids_a_rerun_repeats() -> None:
    member = customer(1)
    run = run_id(AT + 3_600_000)
    assert run == "2025-11-25"
    assert run_id(AT - 1) == "2025-11-24"  # the bank's day, China time
    first = campaign_signal(CAMPAIGN, run, member, AT)
    again = campaign_signal(CAMPAIGN, run, member, AT + 3_600_000)
    next_day = campaign_signal(CAMPAIGN, run_id(AT + DAY_MS), member, AT + DAY_MS)
    assert first.signal_id == again.signal_id != next_day.signal_id
    assert (first.kind, first.customer_id, first.tier, first.detail, first.branch_id) == (
        SignalKind.CAMPAIGN,
        "C00000001",
        Tier.POTENTIAL,
        "SHORT_TERM_COMBINATION",
        "B-SH-01",
    )


def test_the_command_lists_the_campaigns_and_refuses_an_unknown_one() -> None:
    runner = CliRunner()
    listed = runner.invoke(main, ["campaign"])
    assert listed.exit_code == 0, listed.output
    assert "SHORT_TERM_COMBINATION" in listed.output
    unknown = runner.invoke(main, ["campaign", "WINTER_SALE", "--dry-run"])
    assert unknown.exit_code == 2
    assert "no campaign 'WINTER_SALE'" in unknown.output
    helped = runner.invoke(main, ["campaign", "--help"])
    assert "--dry-run" in helped.output
    assert "§6" in helped.output


def test_the_dry_run_shows_the_cohort_per_tier_and_branch_in_chinese() -> None:
    from rich.console import Console

    from tiering.tools.campaign import CampaignRun, show_run

    cohort = select_cohort(
        [customer(1), customer(2), customer(3, branch=None), customer(4, level=None)],
        CAMPAIGN,
        POLICY,
        AT,
    )
    console = Console(record=True, width=120)
    show_run(
        console, CampaignRun(CAMPAIGN, "2025-11-25", AT, True, cohort, 0), POLICY, "zh_Hans_CN"
    )
    text = console.export_text()
    assert "营销活动 SHORT_TERM_COMBINATION（短期理财产品与通知存款组合）" in text
    assert "潜力客户" in text
    assert "B-SH-01" in text
    assert "未分配客户经理：团队待办" in text
    assert "未纳入（办法第九条）：1 位客户" in text
    assert "试运行：未发送任何通知。" in text
    assert "C0000000" not in text  # no customer is named
