"""`tiering report` against a real deployment with a few tier changes: one HTML file with the
charts inside and the numbers PostgreSQL holds, in Simplified Chinese unless asked otherwise;
without Prometheus, a note instead."""

from __future__ import annotations

import asyncio
import base64
import re
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.harness.deployment import ROOT
from tests.harness.prometheus import PROMETHEUS, promql
from tests.harness.records import posting
from tests.harness.waiting import wait_for
from tiering.core.bank_time import CHINA_STANDARD_TIME as CST
from tiering.i18n.terms import team_name
from tiering.tools.report.page import period_text
from tiering.tools.report.period import Period

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


def report(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tiering", "report", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def cells(page: str, *first: str) -> list[str]:
    """All the cells of the table row that starts with the cells ``first``."""
    start = r"\s*".join(rf"<td[^>]*>{re.escape(c)}</td>" for c in first)
    found = re.search(rf"<tr[^>]*>\s*{start}(.*?)</tr>", page, re.S)
    assert found is not None, first
    return [*first, *re.findall(r"<td[^>]*>(.*?)</td>", found.group(1))]


def row(page: str, *cells: str) -> bool:
    """The page has a table row that starts with these cells."""
    pattern = r"\s*".join(rf"<td[^>]*>{re.escape(c)}</td>" for c in cells)
    return re.search(rf"<tr[^>]*>\s*{pattern}", page) is not None


async def test_the_report_of_a_period_with_tier_changes(deployment: Any, tmp_path: Path) -> None:
    d = await deployment("report")
    today = datetime.now(CST).date()
    first = today - timedelta(days=40)
    base = int(datetime.combine(first, datetime.min.time(), CST).timestamp() * 1000)
    d.start_worker(tmp_path)
    await d.wait_healthy()
    await d.produce(
        [
            # C1 is placed ORDINARY, then climbs to POTENTIAL and to PREMIUM: two upgrades
            posting("R1", "C1", "10000.00", event_time_ms=base + HOUR_MS),
            posting("R2", "C1", "45000.00", event_time_ms=base + DAY_MS),
            posting("R3", "C1", "500000.00", event_time_ms=base + 2 * DAY_MS),
            # C2 is placed PREMIUM, falls below every bound, and is downgraded after the grace
            posting("R4", "C2", "600000.00", event_time_ms=base + HOUR_MS),
            posting("R5", "C2", "590000.00", "WITHDRAWAL", event_time_ms=base + 3 * DAY_MS),
            posting("R6", "C2", "1.00", event_time_ms=base + 35 * DAY_MS),
        ]
    )

    async def changes() -> list[Any]:
        rows = await d.fetch(
            "SELECT direction, count(*) AS n FROM tier_changes"
            " WHERE direction <> 'INITIAL' GROUP BY direction ORDER BY direction"
        )
        found = {r["direction"]: r["n"] for r in rows}
        return rows if found.get("UPGRADE") == 2 and found.get("DOWNGRADE", 0) >= 1 else []

    by_direction = {r["direction"]: r["n"] for r in await wait_for(changes, 60, "tier changes")}

    seen: list[int] = []

    async def notifications_settled() -> bool:
        rows = await d.fetch("SELECT count(*) AS n FROM notifications")
        seen.append(rows[0]["n"])
        return len(seen) > 5 and seen[-1] > 0 and len(set(seen[-5:])) == 1

    await wait_for(notifications_settled, 60, "notifications to be delivered", interval=0.5)
    teams = await d.fetch(
        "SELECT team, count(*) AS n FROM notifications GROUP BY team ORDER BY team"
    )

    # growth and churn come from Prometheus: wait until it has scraped this worker's customers
    instance = f"127.0.0.1:{d.web_port}"

    async def scraped() -> bool:
        found = await promql(f'sum(tiering_customers{{instance="{instance}"}})')
        return bool(found) and float(found[0]["value"][1]) == 2

    await wait_for(scraped, 60, f"Prometheus to scrape the 2 customers from {instance}", 1)

    async def value(expr: str) -> float | None:
        found = await promql(expr.replace("INSTANCE", f'instance="{instance}"'))
        return float(found[0]["value"][1]) if found else None

    # §7.4 and per branch: C1 posts at a branch (its series start at 0 there), and once
    # Prometheus has seen that, buys a large-denomination CD from the deposit account
    # (a branch of this run alone: the report reads the whole Prometheus, other runs' too)
    branch = f"B-REPORT-{uuid.uuid4().hex[:8]}"
    await d.produce(
        [posting("R7", "C1", "1.00", event_time_ms=base + 36 * DAY_MS, branch_id=branch)]
    )

    async def branch_seen() -> bool:
        expr = f'sum(tiering_branch_purchases_total{{INSTANCE,branch_id="{branch}"}})'
        return await value(expr) == 0

    await wait_for(branch_seen, 60, "Prometheus to see the branch's series at 0", 1)
    bought = posting(
        "R8",
        "C1",
        "20000.00",
        "TRANSFER_OUT",
        event_time_ms=base + 37 * DAY_MS,
        branch_id=branch,
        product_code="LARGE_CD_1Y",
    )
    await d.produce([bought])

    async def purchase_seen() -> bool:
        expr = 'sum(tiering_purchases_total{INSTANCE,tier="PREMIUM",category="LARGE_CD"})'
        return await value(expr) == 1

    await wait_for(purchase_seen, 60, "Prometheus to see the purchase", 1)

    env = dict(d.env)
    env["TIERING_PROMETHEUS_URL"] = PROMETHEUS
    out = tmp_path / "report.html"
    period = ("--from", f"{first:%Y-%m-%d}", "--to", f"{today:%Y-%m-%d}")
    result = await asyncio.to_thread(report, env, *period, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"written to {out}" in result.stdout
    page = out.read_text()

    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 4  # tiers, changes, notifications, growth
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert not re.search(r'(src|href)="(?!data:)', page)
    # Simplified Chinese when nothing chooses a language
    assert '<html lang="zh-Hans-CN">' in page
    assert f"统计期间：{period_text(Period(first, today), 'zh_Hans_CN')}（北京时间）" in page

    # customers and deposits now: C1 in PREMIUM (after the purchase), C2 back in ORDINARY
    assert row(page, "优质客户", "1", "50.0%", "¥535,001.00")
    assert row(page, "普通客户", "1", "50.0%", "¥10,001.00")
    assert row(page, "全部层级", "2", "", "¥545,002.00")
    assert "共 2 位客户，存款合计 54.50万元。" in page
    # tier changes: C1's upgrades into POTENTIAL and PREMIUM, C2's downgrade out of PREMIUM
    assert row(page, "潜力客户", "1", "0")
    assert row(page, "优质客户", "1", str(by_direction["DOWNGRADE"]))
    assert row(page, "全部层级", "2", str(by_direction["DOWNGRADE"]))
    # notifications per team, none acknowledged yet
    for r in teams:
        assert row(page, team_name(r["team"], "zh_Hans_CN"), f"{r['n']:,}", "0", "0.0%"), r
    assert row(page, "全部团队", "", f"{sum(r['n'] for r in teams):,}", "0", "0.0%")
    # growth and churn from Prometheus
    assert '<th class="n">存入</th>' in page
    assert row(page, "高端客户")
    # satisfaction: the ratings there are, and that the surveys are not loaded
    assert "<h2>客户满意度</h2>" in page
    assert "管理办法要求的定期满意度调查结果未导入本系统" in page
    # marketing completion: PREMIUM's large CDs (this purchase at least: the Prometheus may
    # hold other runs'), against the policy's target, with its share done
    assert "<h2>营销任务完成情况</h2>" in page
    purchase = cells(page, "优质客户", "大额定制存款")
    assert int(purchase[2].replace(",", "")) >= 1, purchase
    assert purchase[3] != "–", purchase
    assert purchase[4].endswith("%"), purchase
    # per branch: this branch's purchase and its amount; increase() over a series a minute
    # old extrapolates to the sample interval's edges, so the amount is at least the 20,000
    assert "<h2>各网点</h2>" in page
    at_branch = cells(page, branch)
    # C1, the branch's one customer now (customer_balances.branch_id), has not left: 0%
    assert (at_branch[3], at_branch[4]) == ("1", "0.0%"), at_branch
    assert at_branch[5] == "1", at_branch
    assert 20_000 <= float(at_branch[6].lstrip("¥").replace(",", "")) < 30_000, at_branch

    # Prometheus away, in English: the rest of the report, and a note in place of growth and churn
    env["TIERING_PROMETHEUS_URL"] = "http://127.0.0.1:1"
    result = await asyncio.to_thread(report, env, *period, "--out", str(out), "--language", "en")
    assert result.returncode == 0, result.stderr
    page = out.read_text()
    assert "could not be read" in page
    assert "<code>http://127.0.0.1:1</code>" in page
    assert page.count("data:image/png;base64,") == 3
    assert row(page, "All tiers", "2", "", "¥545,002.00")
    assert row(page, "Premium customer", "1", "50.0%", "¥535,001.00")
    assert page.count("These figures come from Prometheus") == 3  # each section says so
