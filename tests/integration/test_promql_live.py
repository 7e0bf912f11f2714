"""Every PromQL expression of the dashboards and the rules, on the real Prometheus, over a real
worker fed with the demo bank: it parses, and it finds data. Those that find none are listed
with the panel or rule they come from.

The Prometheus is TIERING_PROMETHEUS_URL (default http://127.0.0.1:9090); it must run this
checkout's deploy/prometheus/prometheus.yml, as `make up` starts it, so the rules are loaded."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.test_dashboards import RULES, SERIES_NAMES, expressions, metric_names, rules
from tests.harness.deployment import ROOT, Deployment
from tests.harness.prometheus import PROMETHEUS
from tests.harness.records import online, posting
from tests.harness.waiting import wait_for
from tiering.wire.codec import ONLINE_BEHAVIOR_EVENT

pytestmark = pytest.mark.integration

CUSTOMERS = 500

_SERIES = re.compile(
    r"(?<![\w:])(" + "|".join(sorted(SERIES_NAMES, key=len, reverse=True)) + r")(?![\w:])(\{)?"
)


def scoped(expr: str, instance: str) -> str:
    """``expr`` with every contract metric's selector limited to one scraped worker (recorded
    series have no instance: they stay as they are)."""

    def add(m: re.Match[str]) -> str:
        matcher = f'instance="{instance}"'
        return f"{m.group(1)}{{{matcher}," if m.group(2) else f"{m.group(1)}{{{matcher}}}"

    return _SERIES.sub(add, expr)


def test_scoped_limits_contract_metrics_to_one_worker() -> None:
    expr = (
        'sum(increase(tiering_deliveries_total{outcome="failed"}[15m])) or tiering:customers:sum'
        " / histogram_quantile(0.5, rate(tiering_event_lag_seconds_bucket[5m]))"
    )
    assert scoped(expr, "h:1") == (
        'sum(increase(tiering_deliveries_total{instance="h:1",outcome="failed"}[15m]))'
        " or tiering:customers:sum / histogram_quantile(0.5,"
        ' rate(tiering_event_lag_seconds_bucket{instance="h:1"}[5m]))'
    )


def api(path: str, method: str = "GET", **params: str) -> Any:
    url = f"{PROMETHEUS}{path}"
    data = None
    if method == "POST":
        data = urllib.parse.urlencode(params).encode()
    elif params:
        url += "?" + urllib.parse.urlencode(params)
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read().decode()
    except urllib.error.HTTPError as exc:
        body = exc.read().decode()
    return json.loads(body) if body.startswith("{") else body


def query(expr: str) -> dict[str, Any]:
    return dict(api("/api/v1/query", method="POST", query=expr))


def loaded_rules() -> dict[str, tuple[str, str]]:
    """name → (health, last error) of every rule the Prometheus has loaded."""
    groups = api("/api/v1/rules")["data"]["groups"]
    return {r["name"]: (r["health"], r.get("lastError", "")) for g in groups for r in g["rules"]}


async def load_this_checkouts_rules() -> None:
    reload = await asyncio.to_thread(api, "/-/reload", "POST")
    assert not reload, f"POST {PROMETHEUS}/-/reload: {reload}"
    ours = {r.get("record") or r["alert"] for r in rules()}
    missing = ours - set(await asyncio.to_thread(loaded_rules))
    if missing:
        flags = await asyncio.to_thread(api, "/api/v1/status/flags")
        pytest.fail(
            f"the Prometheus at {PROMETHEUS} runs {flags['data']['config.file']}, which does not "
            f"load {len(missing)} of the {len(ours)} rules in {RULES} (e.g. {min(missing)}): "
            "start it with this checkout's deploy/prometheus/prometheus.yml, or set "
            "TIERING_PROMETHEUS_URL to one that does"
        )


def demo(d: Deployment) -> subprocess.CompletedProcess[str]:
    args = ["--customers", str(CUSTOMERS), "--postings", "5000", "--rate", "5000"]
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tiering",
            "demo",
            *args,
            "--no-follow",
            "--wait",
            "60",
            "--seed",
            "1",
        ],
        cwd=ROOT,
        env=d.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def rating(customer: str, at_ms: int) -> dict[str, Any]:
    """A FEEDBACK rating of 4."""
    return online(f"rating-{customer}", customer, "FEEDBACK", at_ms, rating=4)


def views(customer: str, at_ms: int) -> list[dict[str, Any]]:
    """Three views of one category within seconds: a product-interest signal (§6)."""
    return [
        online(
            f"view-{customer}-{i}",
            customer,
            "PRODUCT_VIEW",
            at_ms + i,
            product_category="SHORT_TERM_WEALTH",
        )
        for i in range(3)
    ]


async def test_every_dashboard_and_rule_expression_finds_data(
    deployment: Any, tmp_path: Path
) -> None:
    await load_this_checkouts_rules()
    d = await deployment("promql")
    instance = f"127.0.0.1:{d.web_port}"
    d.start_worker(tmp_path)
    await d.wait_healthy()
    # Two bad messages, so that dead letters exist to be counted.
    await d.produce([], raw=[(b"C-bad-1", b"not avro"), (None, b"\xc3\x01")])
    result = await asyncio.to_thread(demo, d)
    assert result.returncode == 0, result.stderr

    async def scraped() -> bool:
        found = await asyncio.to_thread(query, f'sum(tiering_customers{{instance="{instance}"}})')
        values = found["data"]["result"]
        return bool(values) and float(values[0]["value"][1]) == CUSTOMERS

    await wait_for(scraped, 60, f"Prometheus to scrape {CUSTOMERS} customers from {instance}", 1)
    # One HIGH_END customer for certain: 500 demo customers may have none to give a rating.
    now_ms = int(time.time() * 1000)
    await d.produce([posting("wave-high", "C-PROMQL-HIGH", "3500000.00", event_time_ms=now_ms)])

    async def high_end() -> bool:
        return bool(
            await d.fetch(
                "SELECT 1 FROM customer_balances"
                " WHERE customer_id = 'C-PROMQL-HIGH' AND tier = 'HIGH_END'"
            )
        )

    await wait_for(high_end, 60, "a HIGH_END customer")
    # The demo's counters appeared, each at once, after the first scrape: increase() and rate()
    # start from their first sample. A second wave, now that they are scraped, moves them:
    # large deposits (notifications, upgrades) for customers the demo placed, a rating from a
    # customer of each tier, and one customer's interest in a product.
    rows = await d.fetch("SELECT customer_id FROM customer_balances ORDER BY customer_id LIMIT 20")
    each_tier = await d.fetch(
        "SELECT DISTINCT ON (tier) customer_id FROM customer_balances ORDER BY tier, customer_id"
    )
    events = [rating(r["customer_id"], now_ms) for r in each_tier]
    events += views(each_tier[0]["customer_id"], now_ms)
    await d.produce(events, topic="online-behavior", schema=ONLINE_BEHAVIOR_EVENT)
    await d.produce(
        posting(f"wave-{i}", r["customer_id"], "600000.00", event_time_ms=now_ms)
        for i, r in enumerate(rows)
    )

    async def moved() -> bool:
        found = await asyncio.to_thread(
            query, f'sum(increase(tiering_inflow_cny_total{{instance="{instance}"}}[1m]))'
        )
        values = found["data"]["result"]
        return bool(values) and float(values[0]["value"][1]) > 0

    await wait_for(moved, 30, "Prometheus to see the second wave", 1)

    # Rules' and panels' expressions must find data. An alert's finds none while all is well,
    # so for an alert it must run, and every metric it reads must have data.
    checks: dict[str, tuple[str, list[str]]] = {}
    for where, expr in expressions():
        queries = [scoped(expr, instance)]
        if where.startswith("alert "):
            queries += [f"count({scoped(name, instance)})" for name in sorted(metric_names(expr))]
        checks[where] = (expr, queries)

    errors: list[str] = []
    empty = dict(checks)

    async def all_found() -> bool:
        for where, (_, queries) in list(empty.items()):
            answers = [await asyncio.to_thread(query, q) for q in queries]
            failed = [
                (q, a) for q, a in zip(queries, answers, strict=True) if a["status"] != "success"
            ]
            if failed:
                errors.extend(f"{where}: {a.get('error')}\n    {q}" for q, a in failed)
                del empty[where]
            elif all(a["data"]["result"] for a in answers[1:] if where.startswith("alert ")) and (
                where.startswith("alert ") or answers[0]["data"]["result"]
            ):
                del empty[where]
        return not empty

    started = time.monotonic()
    # The KPI rules run once a minute, rates need two scrapes: give them time, then report.
    with contextlib.suppress(AssertionError):
        await wait_for(all_found, 75, "every expression to find data", interval=2)
    assert not errors, "expressions Prometheus rejects:\n" + "\n".join(errors)

    ours = {r.get("record") or r["alert"] for r in rules()}
    failing = {
        n: e
        for n, (h, e) in (await asyncio.to_thread(loaded_rules)).items()
        if n in ours and h == "err"
    }
    assert not failing, f"rules Prometheus cannot evaluate: {failing}"
    assert not empty, (
        f"{len(empty)} of {len(checks)} expressions found no data for {instance} after "
        f"{time.monotonic() - started:.0f} s:\n"
        + "\n".join(f"  {where}:\n    {expr}" for where, (expr, _) in sorted(empty.items()))
    )
