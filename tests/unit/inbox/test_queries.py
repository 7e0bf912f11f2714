"""The inbox's SQL is built around one visibility rule (§9), with every value a parameter."""

from __future__ import annotations

from tiering.inbox.queries import ACKNOWLEDGE, COUNT_NEW, VISIBLE, Filters, visible_notifications


def test_the_rule_is_own_or_team_at_branch() -> None:
    assert VISIBLE == (
        "(n.manager_id = m.manager_id OR (n.team = m.team AND n.branch_id = m.branch_id))"
    )


def test_the_list_without_filters() -> None:
    sql, args = visible_notifications("M1")
    assert args == ["M1"]
    assert "JOIN managers m ON m.manager_id = $1" in sql
    assert f"WHERE {VISIBLE} ORDER BY n.created_at DESC" in sql
    assert "LIMIT" not in sql


def test_filters_and_limit_are_parameters_numbered_in_order() -> None:
    filters = Filters(tier="PREMIUM", kind="LARGE_DEPOSIT", status="new")
    sql, args = visible_notifications("M1", filters, limit=201)
    assert args == ["M1", "PREMIUM", "LARGE_DEPOSIT", 201]
    assert (
        f"WHERE {VISIBLE} AND n.tier = $2 AND n.kind = $3 AND n.acknowledged_at IS NULL"
        " ORDER BY n.created_at DESC, n.notification_id DESC LIMIT $4"
    ) in sql
    sql, args = visible_notifications("M1", Filters(status="acknowledged"))
    assert args == ["M1"]
    assert sql.count("$") == 1
    assert "n.acknowledged_at IS NOT NULL" in sql


def test_one_notification_keeps_the_rule() -> None:
    sql, args = visible_notifications("M1", Filters(tier="ORDINARY"), notification_id="N'1")
    assert args == ["M1", "N'1", "ORDINARY"]
    assert f"WHERE {VISIBLE} AND n.notification_id = $2 AND n.tier = $3" in sql
    assert "N'1" not in sql


def test_acknowledge_and_count_apply_the_rule() -> None:
    assert VISIBLE in ACKNOWLEDGE
    assert "acknowledged_at IS NULL" in ACKNOWLEDGE  # a second acknowledgement changes nothing
    assert VISIBLE in COUNT_NEW


def test_unknown_filter_values_mean_no_filter() -> None:
    assert Filters.from_query({"tier": "GOLD", "kind": "x'; DROP", "status": "all"}) == Filters()
    f = Filters.from_query({"tier": "HIGH_END", "kind": "CHURN_RISK", "status": "acknowledged"})
    assert f == Filters("HIGH_END", "CHURN_RISK", "acknowledged")
    assert f.query_string() == "?tier=HIGH_END&kind=CHURN_RISK&status=acknowledged"
    assert Filters().query_string() == ""
