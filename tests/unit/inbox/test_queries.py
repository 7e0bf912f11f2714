"""The inbox's SQL is built around one visibility rule (§9), with every value a parameter."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from tiering.inbox.queries import (
    ACKNOWLEDGE,
    COUNT_NEW,
    RECORD_VIEW,
    SUPERVISED,
    VISIBLE,
    Filters,
    ViewFilters,
    supervised_views,
    visible_notifications,
)


def test_the_rule_is_own_or_team_at_branch_or_head_office() -> None:
    assert VISIBLE == (
        "(n.manager_id = m.manager_id OR (n.team = m.team AND (n.branch_id = m.branch_id"
        " OR (m.branch_id = $2 AND (n.branch_id IS NULL OR n.team = 'PRIVATE_BANKING')))))"
    )


def test_the_list_without_filters() -> None:
    sql, args = visible_notifications("M1", "HQ")
    assert args == ["M1", "HQ"]
    assert "JOIN managers m ON m.manager_id = $1" in sql
    assert f"WHERE {VISIBLE} ORDER BY n.created_at DESC" in sql
    assert "LIMIT" not in sql


def test_filters_and_limit_are_parameters_numbered_in_order() -> None:
    filters = Filters(tier="PREMIUM", kind="LARGE_DEPOSIT", status="new")
    sql, args = visible_notifications("M1", "HQ", filters, limit=201)
    assert args == ["M1", "HQ", "PREMIUM", "LARGE_DEPOSIT", 201]
    assert (
        f"WHERE {VISIBLE} AND n.tier = $3 AND n.kind = $4 AND n.acknowledged_at IS NULL"
        " ORDER BY n.created_at DESC, n.notification_id DESC LIMIT $5"
    ) in sql
    sql, args = visible_notifications("M1", "HQ", Filters(status="acknowledged"))
    assert args == ["M1", "HQ"]
    assert sorted(set(re.findall(r"\$\d+", sql))) == ["$1", "$2"]
    assert "n.acknowledged_at IS NOT NULL" in sql


def test_one_notification_keeps_the_rule() -> None:
    sql, args = visible_notifications("M1", "H'Q", Filters(tier="ORDINARY"), notification_id="N'1")
    assert args == ["M1", "H'Q", "N'1", "ORDINARY"]
    assert f"WHERE {VISIBLE} AND n.notification_id = $3 AND n.tier = $4" in sql
    assert "N'1" not in sql
    assert "H'Q" not in sql


def test_acknowledge_and_count_apply_the_rule() -> None:
    assert VISIBLE in ACKNOWLEDGE
    assert "n.notification_id = $3" in ACKNOWLEDGE  # $2 is the head office
    assert "acknowledged_at IS NULL" in ACKNOWLEDGE  # a second acknowledgement changes nothing
    assert VISIBLE in COUNT_NEW


def test_unknown_filter_values_mean_no_filter() -> None:
    assert Filters.from_query({"tier": "GOLD", "kind": "x'; DROP", "status": "all"}) == Filters()
    f = Filters.from_query({"tier": "HIGH_END", "kind": "CHURN_RISK", "status": "acknowledged"})
    assert f == Filters("HIGH_END", "CHURN_RISK", "acknowledged")
    assert f.query_string() == "?tier=HIGH_END&kind=CHURN_RISK&status=acknowledged"
    assert Filters().query_string() == ""


def test_a_view_is_recorded_only_through_the_rule() -> None:
    assert f"WHERE n.notification_id = $3 AND {VISIBLE}" in RECORD_VIEW
    assert "JOIN managers m ON m.manager_id = $1" in RECORD_VIEW
    assert "RETURNING view_id" in RECORD_VIEW  # none returned: nothing recorded, id masked


def test_a_supervisor_reads_their_branchs_views_or_at_head_office_all() -> None:
    assert SUPERVISED == (
        "(m.role = 'supervisor' AND (m.branch_id = $2 OR n.branch_id = m.branch_id))"
    )


def test_the_views_without_filters() -> None:
    sql, args = supervised_views("S1", "HQ", ViewFilters(), 101)
    assert args == ["S1", "HQ", 101]
    assert "JOIN managers m ON m.manager_id = $1" in sql
    assert f"WHERE {SUPERVISED} ORDER BY v.view_id DESC LIMIT $3" in sql


def test_the_views_filters_are_parameters_and_a_day_is_chinas() -> None:
    filters = ViewFilters(manager="M'1", day=date(2026, 12, 4), before=77)
    sql, args = supervised_views("S1", "HQ", filters, 101)
    assert args == [
        "S1",
        "HQ",
        "M'1",
        datetime(2026, 12, 3, 16, 0, tzinfo=UTC),  # midnight in China is 16:00 UTC before
        datetime(2026, 12, 4, 16, 0, tzinfo=UTC),
        77,
        101,
    ]
    assert (
        f"WHERE {SUPERVISED} AND v.manager_id = $3 AND v.viewed_at >= $4 AND v.viewed_at < $5"
        " AND v.view_id < $6 ORDER BY v.view_id DESC LIMIT $7"
    ) in sql
    assert "M'1" not in sql


def test_view_filters_from_the_query_string() -> None:
    assert ViewFilters.from_query({}) == ViewFilters()
    bad = {"manager": " " * 3, "day": "yesterday", "before": "-1"}
    assert ViewFilters.from_query(bad) == ViewFilters()
    assert ViewFilters.from_query({"manager": "x" * 101, "before": "9" * 30}) == ViewFilters()
    got = ViewFilters.from_query({"manager": " M1 ", "day": "2026-12-04", "before": "40"})
    assert got == ViewFilters("M1", date(2026, 12, 4), 40)
    assert got.query_string() == "?manager=M1&day=2026-12-04"
    assert got.query_string(before=12) == "?manager=M1&day=2026-12-04&before=12"
    assert ViewFilters().query_string() == ""
