"""The inbox's SQL is built around one visibility rule (§9), with every value a parameter."""

from __future__ import annotations

import re

from tiering.inbox.queries import ACKNOWLEDGE, COUNT_NEW, VISIBLE, Filters, visible_notifications


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
