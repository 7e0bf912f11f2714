"""The report's satisfaction, marketing completion and per-branch sections (§7.1, §7.4, §7 per
branch): what Prometheus answers and the policy's targets become, and the page in each
language."""

from __future__ import annotations

import re

import pytest

from tests.unit.tools.test_report import sample_report
from tiering.core.policy_file import load_policy
from tiering.tools.report.kpis import Answer, build_kpis, kpis_from_prometheus
from tiering.tools.report.page import render_html

POLICY = load_policy()
DAY = 86_400


def row(page: str, *cells: str) -> bool:
    pattern = r"\s*".join(rf"<td[^>]*>{re.escape(c)}</td>" for c in cells)
    return re.search(rf"<tr[^>]*>\s*{pattern}", page) is not None


def answers(expr: str, by: tuple[str, ...]) -> Answer:
    """What a Prometheus would answer over a 3-day period."""
    table: dict[str, Answer] = {
        "tiering_satisfaction_rating_count": {("PREMIUM",): 4.0},
        "tiering_satisfaction_rating_sum": {("PREMIUM",): 18.0},
        "tiering_purchases_total": {("PREMIUM", "LARGE_CD"): 3.0, ("ORDINARY", "FUND"): 1.9},
        "tiering_purchases_cny_total": {
            ("PREMIUM", "LARGE_CD"): 1_500_000.0,
            ("ORDINARY", "FUND"): 2_000.0,
        },
        "tiering_conversions_total": {("PREMIUM",): 1.0},
        "tiering_branch_inflow_cny_total": {("B-SH-01",): 900_000.0, ("NONE",): 10.0},
        "tiering_branch_outflow_cny_total": {("B-SH-01",): 100_000.0},
        "tiering_branch_churned_customers_total": {("B-SH-01",): 2.0, ("NONE",): 0.0},
        "tiering_branch_purchases_total": {("B-SH-01",): 4.0},
        "tiering_branch_purchases_cny_total": {("B-SH-01",): 1_502_000.0},
        "tiering_branch_satisfaction_rating_count": {("B-SH-01",): 4.0},
        "tiering_branch_satisfaction_rating_sum": {("B-SH-01",): 18.0},
    }
    metric = re.search(r"increase\((\w+)\[259200s\]\)", expr)
    assert metric is not None, expr  # every figure over the period's 3 days
    return table[metric.group(1)]


KPIS = kpis_from_prometheus(answers, 3 * DAY, POLICY)


def test_purchases_against_the_targets_scaled_to_the_period() -> None:
    lines = {(p.tier, p.category): p for p in KPIS.purchases}
    large_cd = lines["PREMIUM", "LARGE_CD"]
    # the policy's 30 a month, over 3 days of 30: 3
    assert large_cd.target_count == pytest.approx(3)
    assert large_cd.count_done == pytest.approx(1)
    assert large_cd.amount_done == pytest.approx(1_500_000 / 3_000_000)
    # a purchase without a target is shown, a target without a purchase too
    assert lines["ORDINARY", "FUND"].target_count is None
    assert lines["HIGH_END", "PRIVATE_EQUITY"].count == 0
    assert lines["HIGH_END", "PRIVATE_EQUITY"].count_done == 0
    assert ("HIGH_END", "FUND") not in lines
    assert KPIS.prompted["PREMIUM"] == (1.0, 3.0)
    assert KPIS.prompted["POTENTIAL"] == (0.0, 0.0)


def test_satisfaction_and_branches() -> None:
    assert KPIS.satisfaction["PREMIUM"].average == 4.5
    assert KPIS.satisfaction["ORDINARY"].average is None
    branches = {b.branch: b for b in KPIS.branches}
    assert branches["B-SH-01"].growth == 800_000
    assert branches["B-SH-01"].rating.average == 4.5
    assert branches["NONE"].growth == 10


def test_the_page_shows_the_three_sections_in_english() -> None:
    page = render_html(sample_report(kpis=KPIS, branch_customers={"B-SH-01": 40}), "en")
    for heading in ("Customer satisfaction", "Marketing completion", "Per branch"):
        assert f"<h2>{heading}</h2>" in page
    assert row(page, "Premium customer", "4", "4.50")
    assert row(page, "Premium customer", "large-denomination custom deposit", "3", "3", "100.0%")
    assert row(page, "Ordinary customer", "fund", "2", "–", "–", "¥2,000.00", "–", "–")
    assert row(page, "Premium customer", "3", "1", "33.3%")
    # §7.3 per branch: 2 of its 40 customers left; with no count of customers, no rate
    assert row(page, "B-SH-01", "¥800,000.00", "2", "40", "5.0%", "4", "¥1,502,000.00", "4.50")
    assert row(page, "No branch", "¥10.00", "0", "–", "–")
    assert "over this period of 3 days" in page


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        ("zh_Hans_CN", ("<h2>营销任务完成情况</h2>", "<td>大额定制存款</td>", "<h2>各网点</h2>")),
        ("zh_Hant", ("<h2>營銷任務完成情況</h2>", "<td>大額定制存款</td>", "<h2>各網點</h2>")),
    ],
)
def test_the_sections_in_chinese(language: str, texts: tuple[str, ...]) -> None:
    page = render_html(sample_report(kpis=KPIS), language)  # type: ignore[arg-type]
    for text in texts:
        assert text in page, text


def test_no_ratings_says_so_and_names_the_missing_surveys() -> None:
    quiet = build_kpis(
        ratings=({}, {}),
        purchases=({}, {}),
        conversions={},
        branches={
            k: {} for k in ("inflow", "outflow", "lost", "purchases", "amount", "ratings", "points")
        },
        policy=POLICY,
        days=1.0,
    )
    page = render_html(sample_report(kpis=quiet), "en")
    assert "No customer rated our service in online banking in the period." in page
    assert "No branch has figures in the period." in page
    assert "surveys the policy asks for are not loaded" in page
