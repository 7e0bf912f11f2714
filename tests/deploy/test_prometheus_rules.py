"""The Prometheus configs, rules and alerts are valid, and their promtool unit tests pass.

promtool comes with Prometheus (Debian's `prometheus` package, installed by `make up`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
TEST_FILES = sorted((PROMETHEUS / "tests").glob("*.yml"))
DOCKER_RULES = "/etc/prometheus/rules/*.yml"


def promtool(*args: str | Path) -> str:
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail("promtool is not on PATH: `make up` installs Debian's prometheus package")
    result = subprocess.run(
        [exe, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"promtool {' '.join(map(str, args))} failed:\n{output}"
    return output


def rule_groups() -> list[dict]:
    return [g for path in RULE_FILES for g in yaml.safe_load(path.read_text())["groups"]]


def test_there_are_rules_and_rule_tests() -> None:
    assert RULE_FILES, "no rule files in deploy/prometheus/rules"
    assert TEST_FILES, "no promtool tests in deploy/prometheus/tests"


def test_local_config_is_valid_and_loads_every_rule_file() -> None:
    output = promtool("check", "config", PROMETHEUS / "prometheus.yml")
    for path in RULE_FILES:
        assert path.name in output, f"prometheus.yml does not load {path.name}:\n{output}"


def test_docker_config_is_valid_with_the_mounted_rules(tmp_path: Path) -> None:
    text = (PROMETHEUS / "prometheus.docker.yml").read_text()
    assert DOCKER_RULES in text, "prometheus.docker.yml should read the mounted rule files"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = compose["services"]["prometheus"]["volumes"]
    assert "./deploy/prometheus/rules:/etc/prometheus/rules:ro" in mounts
    # The container's path, pointed at this checkout's rule files.
    copy = tmp_path / "prometheus.docker.yml"
    copy.write_text(text.replace(DOCKER_RULES, str(PROMETHEUS / "rules" / "*.yml")))
    output = promtool("check", "config", copy)
    for path in RULE_FILES:
        assert path.name in output, output


def test_rules_are_valid() -> None:
    promtool("check", "rules", *RULE_FILES)


def test_rule_unit_tests_pass() -> None:
    promtool("test", "rules", *TEST_FILES)


def test_recording_rules_are_named_level_metric_operations() -> None:
    records = [r["record"] for g in rule_groups() for r in g["rules"] if "record" in r]
    assert records
    for name in records:
        level, metric, operations = name.split(":")
        assert level == "tiering", name
        assert metric, name
        assert operations, name
    assert len(records) == len(set(records))


def test_alerts_have_a_severity_a_summary_and_a_runbook() -> None:
    alerts = [r for g in rule_groups() for r in g["rules"] if "alert" in r]
    assert {a["alert"] for a in alerts} >= {
        "TieringConsumerLagGrowing",
        "TieringDeadLetters",
        "TieringDeliveryFailures",
        "TieringStalled",
        "TieringTierChangeLatencyHigh",
    }
    docs = (ROOT / "docs" / "metrics.md").read_text()
    for a in alerts:
        assert a["labels"]["severity"] in {"warning", "critical"}, a["alert"]
        assert a["annotations"]["summary"], a["alert"]
        description = a["annotations"]["description"]
        assert "{{ $labels." in description, a["alert"]
        anchor = a["alert"].lower()
        assert f"docs/metrics.md#{anchor}" in description, a["alert"]
        assert f"### {a['alert']}" in docs, f"docs/metrics.md has no section for {a['alert']}"


def test_every_alert_is_tested_firing_and_quiet() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in TEST_FILES:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    alerts = {r["alert"] for g in rule_groups() for r in g["rules"] if "alert" in r}
    assert alerts <= firing, f"never seen firing: {sorted(alerts - firing)}"
    assert alerts <= quiet, f"never seen quiet: {sorted(alerts - quiet)}"


def test_every_recording_rule_has_its_value_tested() -> None:
    tested = {
        case["expr"]
        for path in TEST_FILES
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("promql_expr_test", [])
    }
    records = {r["record"] for g in rule_groups() for r in g["rules"] if "record" in r}
    assert records <= tested, f"untested recording rules: {sorted(records - tested)}"
