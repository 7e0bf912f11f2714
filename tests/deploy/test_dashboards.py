"""The Grafana dashboards: valid JSON with fixed uids, the provisioned datasource everywhere,
and only metrics that exist: the contract's, the project's own (docs/metrics.md), or a recording
rule of deploy/prometheus/rules.

The helpers here also feed tests/integration/test_promql_live.py, which runs every expression
on the real Prometheus."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
RULES = ROOT / "deploy" / "prometheus" / "rules"
UIDS = {"tiering-operations", "tiering-kpis"}

#: the contract's metrics ("Prometheus metrics"), the consumer lag and dependency gauges
CONTRACT_METRICS = {
    "tiering_events_total",
    "tiering_dead_letters_total",
    "tiering_event_lag_seconds",
    "tiering_customers",
    "tiering_balance_cny",
    "tiering_inflow_cny_total",
    "tiering_outflow_cny_total",
    "tiering_tier_changes_total",
    "tiering_churned_customers_total",
    "tiering_tier_change_latency_seconds",
    "tiering_notifications_total",
    "tiering_deliveries_total",
    "tiering_online_events_total",
    "tiering_satisfaction_rating",
    "tiering_conversions_total",
    "tiering_consumer_lag_messages",
    "tiering_dependency_up",
}
#: metrics the project added (docs/metrics.md): the §7.4 purchases and targets, the KPIs per
#: branch, §6 product interest
PROJECT_METRICS = {
    "tiering_product_interest_total",
    "tiering_purchases_total",
    "tiering_purchases_cny_total",
    "tiering_purchase_target",
    "tiering_purchase_target_cny",
    "tiering_branch_inflow_cny_total",
    "tiering_branch_outflow_cny_total",
    "tiering_branch_churned_customers_total",
    "tiering_branch_purchases_total",
    "tiering_branch_purchases_cny_total",
    "tiering_branch_satisfaction_rating",
}
#: summaries: _sum and _count
SUMMARIES = {"tiering_branch_satisfaction_rating"}
HISTOGRAMS = {
    "tiering_event_lag_seconds",
    "tiering_tier_change_latency_seconds",
    "tiering_satisfaction_rating",
}
#: the series a scrape has: histograms as _bucket, _sum and _count
SERIES_NAMES = (
    ((CONTRACT_METRICS | PROJECT_METRICS) - HISTOGRAMS - SUMMARIES)
    | {f"{h}{suffix}" for h in HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")}
    | {f"{m}{suffix}" for m in SUMMARIES for suffix in ("_sum", "_count")}
)

#: Grafana's own variables, with what they stand for when the expression runs elsewhere
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}

_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool"}
_KEYWORDS |= {"and", "or", "unless", "inf", "nan", "atan2"}


def dashboards() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, rows' collapsed panels included, rows themselves left out."""
    found: list[dict[str, Any]] = []
    for p in board["panels"]:
        if p.get("type") == "row":
            found.extend(p.get("panels", []))
        else:
            found.append(p)
    return found


def rules() -> list[dict[str, Any]]:
    return [
        rule
        for path in sorted(RULES.glob("*.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def recorded_names() -> set[str]:
    return {r["record"] for r in rules() if "record" in r}


def expressions() -> list[tuple[str, str]]:
    """(where, PromQL) for every dashboard target and every rule, Grafana variables replaced."""
    found: list[tuple[str, str]] = []
    for name, board in dashboards().items():
        for p in panels(board):
            for t in p.get("targets", []):
                found.append(
                    (f"{name} / {p['title']} / {t['refId']}", grafana_to_promql(t["expr"]))
                )
    for r in rules():
        where = f"record {r['record']}" if "record" in r else f"alert {r['alert']}"
        found.append((where, r["expr"].strip()))
    return found


def grafana_to_promql(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (label names, functions and keywords left out)."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    s = re.sub(r"\{[^}]*\}", "", s)  # label matchers
    s = re.sub(r"\[[^\]]*\]", "", s)  # ranges and subqueries
    s = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", s)
    names = set()
    for m in re.finditer(r"(?<![\w:.])[A-Za-z_:][\w:]*", s):
        if s[m.end() :].lstrip().startswith("(") or m.group(0).lower() in _KEYWORDS:
            continue  # a function or an aggregation
        names.add(m.group(0))
    return names


def test_metric_names_are_found() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (job, le) (rate(tiering_x_bucket{le="1"}[5m]))) > 1e3'
        " or on (job) tiering:a:b offset 5m unless sum(tiering_y) without (tier)"
    )
    assert metric_names(expr) == {"tiering_x_bucket", "tiering:a:b", "tiering_y"}


def test_dashboards_are_valid_json_with_fixed_uids() -> None:
    boards = dashboards()
    assert {b["uid"] for b in boards.values()} == UIDS
    for name, board in boards.items():
        assert board["refresh"] == "30s", name
        assert board["title"], name
        assert panels(board), name


@pytest.mark.parametrize("name", sorted(dashboards()))
def test_every_panel_uses_the_provisioned_prometheus(name: str) -> None:
    provisioning = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    uid = provisioning["datasources"][0]["uid"]
    assert uid == "prometheus"
    ids = set()
    for p in panels(dashboards()[name]):
        ids.add(p["id"])
        assert p["datasource"] == {"type": "prometheus", "uid": uid}, p["title"]
        assert p["targets"], p["title"]
        for t in p["targets"]:
            assert t["datasource"]["uid"] == uid, p["title"]
            assert t["expr"].strip(), p["title"]
    assert len(ids) == len(panels(dashboards()[name])), "panel ids must be unique"


def test_every_metric_is_in_the_contract_or_a_recording_rule() -> None:
    known = SERIES_NAMES | recorded_names()
    for where, expr in expressions():
        unknown = metric_names(expr) - known
        assert not unknown, f"{where}: unknown metrics {sorted(unknown)} in {expr}"


def test_the_dashboards_cover_every_contract_and_project_metric() -> None:
    used = {name for _, expr in expressions() for name in metric_names(expr)}
    metrics = CONTRACT_METRICS | PROJECT_METRICS
    missing = {m for m in metrics if not any(u.startswith(m) for u in used)}
    assert not missing, f"no panel or rule reads {sorted(missing)}"


def test_the_projects_metrics_are_documented() -> None:
    docs = (ROOT / "docs" / "metrics.md").read_text()
    # a section of its own, or a line of the per-branch table
    undocumented = {m for m in PROJECT_METRICS if f"### {m}\n" not in docs and f"`{m}`" not in docs}
    assert not undocumented, f"docs/metrics.md has no section for {sorted(undocumented)}"
