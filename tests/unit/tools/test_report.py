"""`tiering report`: the period in China Standard Time, the aggregations, and the HTML page."""

from __future__ import annotations

import base64
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tiering.core.policy_file import load_policy
from tiering.tools.report.charts import draw_charts
from tiering.tools.report.figures import (
    Note,
    Report,
    TierTrend,
    daily_changes,
    notification_lines,
    team_totals,
    tier_trends,
    tiers_now,
)
from tiering.tools.report.interest import product_interest
from tiering.tools.report.page import render_html
from tiering.tools.report.period import CST, Period
from tiering.tools.report.sources import trends_from_prometheus

PERIOD = Period(date(2026, 11, 1), date(2026, 11, 3))
POLICY = load_policy()


def sample_report(**overrides: object) -> Report:
    report = Report(
        period=PERIOD,
        generated_at=datetime(2026, 11, 4, 1, 30, tzinfo=UTC),
        schema="public",
        tiers_now=tiers_now(
            [("ORDINARY", 1200, Decimal("9876543.21")), ("PREMIUM", 30, Decimal("45000000.00"))]
        ),
        changes=daily_changes(
            [
                (date(2026, 11, 1), "UPGRADE", "ORDINARY", "POTENTIAL", 4),
                (date(2026, 11, 2), "UPGRADE", "POTENTIAL", "PREMIUM", 2),
                (date(2026, 11, 3), "DOWNGRADE", "PREMIUM", "ORDINARY", 1),
            ],
            PERIOD,
        ),
        notifications=notification_lines(
            [
                ("WEALTH_TEAM", "TIER_UPGRADE", 2, 1),
                ("CUSTOMER_MANAGER", "TIER_UPGRADE", 4, 4),
                ("WEALTH_TEAM", "LARGE_DEPOSIT", 3, 0),
            ]
        ),
        trends=tier_trends(
            {"PREMIUM": 1_500_000.0, "ORDINARY": 20_000.0},
            {"PREMIUM": 500_000.0, "ORDINARY": 35_000.0},
            {"PREMIUM": 3.0},
            {"PREMIUM": 30.0, "ORDINARY": 1200.0},
        ),
        interest=product_interest(
            [
                ("POTENTIAL", "SHORT_TERM_WEALTH", 37, 2.46),
                ("PREMIUM", "LARGE_CD", 5, 1.2),
                ("POTENTIAL", "TIME_DEPOSIT", 12, 1.04),
                ("POTENTIAL", "CRYPTO", 2, 3.0),
            ],
            POLICY.products,
            datetime(2026, 11, 3, 16, tzinfo=UTC),
            7,
        ),
    )
    for name, value in overrides.items():
        setattr(report, name, value)
    return report


def test_the_period_runs_from_midnight_to_midnight_in_china_standard_time() -> None:
    assert PERIOD.start == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert PERIOD.end == datetime(2026, 11, 3, 16, 0, tzinfo=UTC)
    assert PERIOD.days == [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)]
    assert Period(date(2026, 11, 1), date(2026, 11, 1)).days == [date(2026, 11, 1)]
    with pytest.raises(ValueError, match="ends"):
        Period(date(2026, 11, 2), date(2026, 11, 1))


@pytest.mark.parametrize("bad", ["2026-11", "01/11/2026", "2026-02-30", ""])
def test_days_are_given_as_year_month_day(bad: str) -> None:
    assert Period.parse("2026-11-01", "2026-11-03") == PERIOD
    with pytest.raises(ValueError, match="--to: expected a day as YYYY-MM-DD"):
        Period.parse("2026-11-01", bad)


def test_tiers_now_lists_every_tier_in_order() -> None:
    lines = tiers_now([("PREMIUM", 3, Decimal("1.50")), ("ORDINARY", 7, None)])
    assert [(t.tier, t.customers, t.balance) for t in lines] == [
        ("ORDINARY", 7, Decimal(0)),
        ("POTENTIAL", 0, Decimal(0)),
        ("PREMIUM", 3, Decimal("1.50")),
        ("HIGH_END", 0, Decimal(0)),
    ]


def test_changes_count_upgrades_by_tier_reached_and_downgrades_by_tier_left() -> None:
    changes = daily_changes(
        [
            (date(2026, 11, 1), "UPGRADE", "ORDINARY", "PREMIUM", 2),
            (date(2026, 11, 1), "UPGRADE", "POTENTIAL", "PREMIUM", 1),
            (date(2026, 11, 3), "DOWNGRADE", "HIGH_END", "POTENTIAL", 5),
            (date(2026, 11, 2), "INITIAL", None, "PREMIUM", 9),  # not a change of tier
            (date(2026, 11, 9), "UPGRADE", "ORDINARY", "PREMIUM", 7),  # outside the period
        ],
        PERIOD,
    )
    assert changes.upgrades["PREMIUM"] == [3, 0, 0]
    assert changes.downgrades["HIGH_END"] == [0, 0, 5]
    assert changes.total("upgrades") == 3
    assert changes.total("downgrades", "HIGH_END") == 5
    assert changes.total("downgrades", "PREMIUM") == 0


def test_notifications_in_team_order_with_the_acknowledged_share() -> None:
    lines = sample_report().notifications
    assert [(n.team, n.kind) for n in lines] == [
        ("CUSTOMER_MANAGER", "TIER_UPGRADE"),
        ("WEALTH_TEAM", "LARGE_DEPOSIT"),
        ("WEALTH_TEAM", "TIER_UPGRADE"),
    ]
    totals = team_totals(lines)
    assert [(t.team, t.count, t.acknowledged) for t in totals] == [
        ("CUSTOMER_MANAGER", 4, 4),
        ("WEALTH_TEAM", 5, 1),
    ]
    assert totals[1].acknowledged_share == pytest.approx(0.2)
    assert notification_lines([("X", "K", 0, 0)])[0].acknowledged_share == 0


def test_trends_growth_and_churn_rate() -> None:
    by_tier = {t.tier: t for t in sample_report().trends or []}
    assert by_tier["PREMIUM"].growth == 1_000_000
    assert by_tier["PREMIUM"].churn_rate == pytest.approx(0.1)
    assert by_tier["ORDINARY"].growth == -15_000
    assert by_tier["ORDINARY"].churn_rate == 0
    assert by_tier["HIGH_END"].churn_rate is None  # no customers to lose
    assert TierTrend("HIGH_END", 0, 0, 0, 0.0).churn_rate is None


def test_the_page_holds_the_numbers_and_its_charts() -> None:
    report = sample_report()
    report.charts = draw_charts(report, "en")
    assert set(report.charts) == {"tiers", "changes", "notifications", "growth"}
    page = render_html(report, "en")
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 4
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    # self-contained: nothing is fetched from elsewhere
    assert not re.search(r'(src|href)="(?!data:)', page)
    for text in (
        "Period Nov 1, 2026 to Nov 3, 2026 (China time)",
        "generated Nov 4, 2026, 9:30:00\u202fAM",  # 01:30 UTC
        "¥9,876,543.21",  # ORDINARY deposits
        "1,230",  # all customers
        "¥54,876,543.21",  # all deposits
        "1,230 customers hold ¥54,876,543 in deposits.",
        "6 tier upgrades in the period.",
        "1 tier downgrade in the period.",
        "¥1,000,000.00",  # PREMIUM growth
        "-¥15,000.00",  # ORDINARY shrank
        "10.0%",  # PREMIUM churn
        "20.0%",  # WEALTH_TEAM acknowledged
        "<td>Premium customer</td>",
        "<td>Wealth team</td><td>Large deposit</td>",
        "Product interest by tier and category",
        # tier order, then the policy's categories, one it does not know last
        '<td>Potential customer</td><td>time deposit</td><td class="n">12</td>'
        '<td class="n">1.0</td>',
        '<td>Potential customer</td><td>short-term wealth product</td><td class="n">37</td>',
        "<td>Premium customer</td><td>large-denomination custom deposit</td>",
    ):
        assert text in page, text
    order = [
        page.index(t) for t in ("time deposit</td>", "short-term wealth", "<code>CRYPTO", "large-d")
    ]
    assert order == sorted(order)


def test_the_page_says_why_growth_and_churn_are_missing() -> None:
    _, notes = trends_from_prometheus(
        "http://127.0.0.1:1", PERIOD, datetime(2026, 11, 5, tzinfo=CST)
    )
    note = Note(notes[0].message, {**notes[0].values, "reason": "<refused> & gone"})
    report = sample_report(trends=None, trends_notes=[note])
    report.charts = draw_charts(report, "en")
    assert "growth" not in report.charts
    page = render_html(report, "en")
    assert "which could not be read (<code>&lt;refused&gt; &amp; gone</code>)" in page
    assert "<code>http://127.0.0.1:1</code>" in page
    assert page.count("data:image/png;base64,") == 3


def test_an_unreachable_prometheus_gives_a_note() -> None:
    trends, notes = trends_from_prometheus(
        "http://127.0.0.1:1", PERIOD, datetime(2026, 11, 5, tzinfo=CST)
    )
    assert trends is None
    assert [n.values["url"] for n in notes] == ["http://127.0.0.1:1"]
    assert "could not be read" in notes[0].message
    assert notes[0].values["reason"]  # the system's words: connection refused


def test_a_period_in_the_future_has_no_trends() -> None:
    trends, notes = trends_from_prometheus(
        "http://127.0.0.1:1", PERIOD, datetime(2026, 10, 1, tzinfo=CST)
    )
    assert trends is None
    assert "not started" in notes[0].message
