"""Issue 17.8, §6's example on the real Kafka and PostgreSQL: potential customers who keep
looking at short-term wealth products are chosen by `tiering campaign`, within their risk
tolerance (§9); the dry run sends nothing; the real run tells the customer managers once per
eligible customer and no one else; running it again tells no one twice."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta
from typing import Any

from tests.harness.records import CODEC, online, posting
from tests.harness.waiting import wait_for
from tiering.core.bank_time import CHINA_STANDARD_TIME, from_epoch_ms
from tiering.tools.report.interest import INTEREST_BY_TIER, MIN_SCORE
from tiering.wire.codec import MANAGER_NOTIFICATION, ONLINE_BEHAVIOR_EVENT
from tiering.wire.signals import decode_signal

HOUR = 3_600_000
NAME = "SHORT_TERM_COMBINATION"  # POTENTIAL, SHORT_TERM_WEALTH at least 2.0, risk up to 2
#: customer → (balance, views of short-term wealth products, risk level assessed or None)
CUSTOMERS = {
    "C00050001": ("120000.00", 3, 3),  # in: tolerance 3 admits risk 2
    "C00050002": ("80000.00", 4, 2),  # in: exactly the combination's risk
    "C00050003": ("90000.00", 3, 1),  # left out: tolerance too low
    "C00050004": ("70000.00", 3, None),  # left out: no assessment, tolerance unknown
    "C00050005": ("600000.00", 3, 5),  # PREMIUM: not the campaign's tier
    "C00050006": ("60000.00", 1, 5),  # one view: not interested enough
}
ELIGIBLE = {"C00050001", "C00050002"}


def campaign(d: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """`tiering campaign ARGS` in the deployment, as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "tiering", "campaign", *args],
        env=d.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def campaign_notes(records: list) -> list[dict]:
    notes = [CODEC.decode(r.value, expect=MANAGER_NOTIFICATION)[1] for r in records]
    return [n for n in notes if n["kind"] == "CAMPAIGN"]


def campaign_signals(records: list) -> list[Any]:
    return [s for s in (decode_signal(r.value) for r in records) if s.kind == "CAMPAIGN"]


def seconds_left_in_bank_day() -> float:
    now = datetime.now(CHINA_STANDARD_TIME)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds()


async def test_a_campaign_reaches_each_eligible_customer_once(deployment, tmp_path) -> None:
    # A run's id is its bank day (China time): the runs below must share one, so they start
    # clear of midnight (should the test begin in a day's last 5 minutes, once the next began).
    if seconds_left_in_bank_day() < 300:

        async def next_day() -> bool:
            return seconds_left_in_bank_day() > 3600

        await wait_for(next_day, 330, "the next bank day", interval=1.0)
    d = await deployment("campaign")
    # Online behaviour in the last hours: the campaign decays scores to its own start (now).
    now = time.time_ns() // 1_000_000
    assessed = (from_epoch_ms(now).astimezone(CHINA_STANDARD_TIME) - timedelta(days=10)).date()
    for customer, (_, _, level) in CUSTOMERS.items():
        if level is not None:
            await d.fetch(
                "INSERT INTO customer_risk_assessments (customer_id, risk_level, assessed_on) "
                "VALUES ($1, $2, $3)",
                customer,
                level,
                assessed,
            )
    d.start_worker(tmp_path)
    await d.wait_healthy()
    await d.produce(
        posting(f"T-{c}", c, balance, event_time_ms=now - 6 * HOUR, branch_id=f"B{c[-1]}")
        for c, (balance, _, _) in CUSTOMERS.items()
    )
    await wait_for(
        lambda: d.fetch("SELECT 1 FROM customer_balances HAVING count(*) = 6"), 60, "6 placed"
    )
    views = [
        online(
            f"V-{c}-{i}",
            c,
            "PRODUCT_VIEW",
            now - (5 - i) * HOUR,
            product_category="SHORT_TERM_WEALTH",
        )
        for c, (_, n, _) in CUSTOMERS.items()
        for i in range(n)
    ]
    await d.produce(views, topic="online-behavior", schema=ONLINE_BEHAVIOR_EVENT)
    await wait_for(
        lambda: d.fetch(
            "SELECT 1 FROM customer_profiles WHERE interest ? 'SHORT_TERM_WEALTH' "
            "HAVING sum(version) = $1",
            len(views),
        ),
        60,
        "every view in the profiles",
    )
    await d.wait_settled()

    # The report's product interest by tier and category reads the same profiles: at least one
    # view's worth now (C00050006's single view five hours ago has decayed just below it).
    half_life_s = d.settings.policy.interest_half_life_ms / 1000
    interest_rows = await d.fetch(INTEREST_BY_TIER, from_epoch_ms(now), half_life_s, MIN_SCORE)
    assert sorted((r[0], r[1], r[2]) for r in interest_rows) == [
        ("POTENTIAL", "SHORT_TERM_WEALTH", 4),
        ("PREMIUM", "SHORT_TERM_WEALTH", 1),
    ]

    # The dry run: the cohort per tier and branch, in Simplified Chinese; nothing sent.
    dry = await asyncio.to_thread(campaign, d, NAME, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "试运行：未发送任何通知。" in dry.stdout
    assert "潜力客户" in dry.stdout
    assert "未纳入（办法第九条）：2 位客户" in dry.stdout
    assert "C0005" not in dry.stdout + dry.stderr  # no customer named
    assert campaign_signals(await d.read_to_end(d.topics.signals)) == []
    runs = await d.fetch("SELECT dry_run, cohort, excluded, policy_version FROM campaign_runs")
    assert [(r[0], r[1], json.loads(r[2])) for r in runs] == [
        (True, 2, {"tolerance_too_low": 1, "tolerance_unknown": 1})
    ]

    # The real run: one notification per eligible customer, to the customer managers.
    real = await asyncio.to_thread(campaign, d, NAME)
    assert real.returncode == 0, real.stderr
    # the signals are on the topic when the command ends: settled, every notification is out
    await d.wait_settled()
    notes = campaign_notes(await d.read_to_end("manager-notifications"))
    assert sorted(n["customer_id"] for n in notes) == sorted(ELIGIBLE)
    assert {(n["team"], n["tier"], n["priority"]) for n in notes} == {
        ("CUSTOMER_MANAGER", "POTENTIAL", "LOW")
    }
    assert all(
        n["actions"][-1] == "Propose: short-term wealth product + notice deposit / "
        "推薦：短期理財產品＋通知存款"
        for n in notes
    )

    async def stored() -> list | None:
        rows = await d.fetch(
            "SELECT customer_id, branch_id FROM notifications WHERE kind = 'CAMPAIGN'"
        )
        return rows if len(rows) == 2 else None

    # no manager is assigned: each goes to the team's queue at the customer's own branch
    found = await wait_for(stored, 30, "both in the inbox")
    assert {(r[0], r[1]) for r in found} == {(c, f"B{c[-1]}") for c in ELIGIBLE}

    # Again the same day: the same signals go out, and the cooldown holds every one back.
    again = await asyncio.to_thread(campaign, d, NAME)
    assert again.returncode == 0, again.stderr
    await d.wait_settled()
    signals = campaign_signals(await d.read_to_end(d.topics.signals))
    assert len(signals) == 4
    assert len({s.signal_id for s in signals}) == 2  # a re-run repeats the ids
    assert len(campaign_notes(await d.read_to_end("manager-notifications"))) == 2
    assert await d.metric("tiering_notifications_total", kind="CAMPAIGN", outcome="suppressed") == 2
    assert await d.metric("tiering_notifications_total", kind="CAMPAIGN", outcome="emitted") == 2
    rows = await d.fetch("SELECT count(*) FROM notifications WHERE kind = 'CAMPAIGN'")
    assert rows[0][0] == 2
    runs = await d.fetch("SELECT dry_run, cohort, run_id FROM campaign_runs ORDER BY started_at")
    assert [(r[0], r[1]) for r in runs] == [(True, 2), (False, 2), (False, 2)]
    assert len({r[2] for r in runs}) == 1  # one bank day, one run id
    interest = await d.metric(
        "tiering_product_interest_total", tier="POTENTIAL", category="SHORT_TERM_WEALTH"
    )
    # a signal at every third view or later within the week (§6): C1, C3, C4 one each, C2 two
    assert interest == 5
