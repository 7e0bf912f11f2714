"""§5 idle funds on the real Kafka and PostgreSQL: a premium customer who leaves a large sum
untouched for the policy's 90 days, and posts nothing more, is told to the wealth team (a
high-end one to private banking) once stream time passes that moment; a customer who keeps
withdrawing is never told."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from tests.harness.records import CODEC, DAY_MS, T0, posting
from tests.harness.waiting import wait_for
from tiering.wire.codec import MANAGER_NOTIFICATION

IDLE_DAYS = 90  # the packaged policy's [idle_funds] days


def millis(value: datetime | int) -> int:
    return int(value.timestamp() * 1000) if isinstance(value, datetime) else value


async def test_an_idle_premium_customer_reaches_the_wealth_team(deployment, tmp_path: Path) -> None:
    # One partition: the busy customer's postings are what moves the idle ones' stream time.
    d = await deployment("idle", partitions=1)
    await d.fetch(
        "INSERT INTO managers (manager_id, name, team, branch_id) VALUES "
        "('M-W7', 'Zhou', 'WEALTH_TEAM', 'BR007')"
    )
    await d.fetch(
        "INSERT INTO customer_managers (customer_id, manager_id) VALUES ('C00071111', 'M-W7')"
    )
    d.start_worker(tmp_path)
    await d.wait_healthy()

    # The idle customers post once; the busy one withdraws a little every 30 days, up to a
    # month past the idle customers' 90 days.
    busy = [
        posting(f"B{i}", "C00082222", "100.00", "WITHDRAWAL", event_time_ms=T0 + i * 30 * DAY_MS)
        for i in range(1, 5)
    ]
    await d.produce(
        [
            posting("P1", "C00071111", "400000.00", event_time_ms=T0, branch_id="BR001"),
            posting("P2", "C00071111", "400000.00", event_time_ms=T0 + 1, branch_id="BR001"),
            posting("H1", "C00093333", "4000000.00", event_time_ms=T0, branch_id="BR009"),
            posting("B0", "C00082222", "900000.00", event_time_ms=T0, branch_id="BR008"),
            *busy,
        ]
    )

    def idle(records: list) -> list[dict]:
        decoded = [CODEC.decode(r.value, expect=MANAGER_NOTIFICATION)[1] for r in records]
        return [n for n in decoded if n["kind"] == "IDLE_FUNDS"]

    await d.read_until("manager-notifications", until=lambda rs: len(idle(rs)) >= 2)
    await d.wait_settled()
    notices = idle(await d.read_to_end("manager-notifications"))
    # Two, once each; none for the customer who kept withdrawing.
    assert sorted((n["customer_id"], n["tier"], n["team"]) for n in notices) == [
        ("C00071111", "PREMIUM", "WEALTH_TEAM"),
        ("C00093333", "HIGH_END", "PRIVATE_BANKING"),
    ]
    premium = next(n for n in notices if n["tier"] == "PREMIUM")
    # dated the moment the 800,000.00 had been held 90 days, on event time
    assert millis(premium["created_at"]) == T0 + 1 + IDLE_DAYS * DAY_MS
    assert (premium["manager_id"], premium["branch_id"], premium["priority"]) == (
        "M-W7",
        "BR007",
        "NORMAL",
    )
    assert "large-denomination custom deposit" in premium["actions"][0]
    assert premium["texts"]["zh_Hans_CN"]["title"] == "资金闲置 ¥800,000.00：客户 ****1111"
    assert "已连续 90 天无取款或转出" in premium["texts"]["zh_Hans_CN"]["body"]
    assert all("C000" not in n["title"] + n["body"] for n in notices)

    # The worker's own delivery stored them in the inbox table, once each.
    async def stored() -> list | None:
        rows = await d.fetch(
            "SELECT notification_id, customer_id, team, manager_id, texts FROM notifications "
            "WHERE kind = 'IDLE_FUNDS'"
        )
        return rows if len(rows) == 2 else None

    rows = await wait_for(stored, 30, "the idle-funds notifications in the notifications table")
    assert {r["notification_id"] for r in rows} == {n["notification_id"] for n in notices}
    assert {(r["customer_id"], r["team"], r["manager_id"]) for r in rows} == {
        ("C00071111", "WEALTH_TEAM", "M-W7"),
        ("C00093333", "PRIVATE_BANKING", None),
    }
    assert all(json.loads(r["texts"]).keys() == {"zh_Hans_CN", "zh_Hant", "en"} for r in rows)

    async def counted() -> bool:
        n = await d.metric("tiering_notifications_total", kind="IDLE_FUNDS", outcome="emitted")
        return n == 2

    await wait_for(counted, 30, "two idle-funds notifications counted")
