"""Postings over the real Kafka lift a customer to PREMIUM and then HIGH_END: the wealth team
and then private banking hear of it, with the policy's actions (§4, §5)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.harness.records import CODEC, DAY_MS, T0, posting
from tests.harness.waiting import wait_for
from tiering.wire.codec import MANAGER_NOTIFICATION


async def test_upgrades_reach_the_wealth_team_then_private_banking(
    deployment, tmp_path: Path
) -> None:
    d = await deployment("notify")
    # The directory assigns C1 to a wealth manager; C2 has no manager.
    await d.fetch(
        "INSERT INTO managers (manager_id, name, team, branch_id) VALUES "
        "('M-W1', 'Wang', 'WEALTH_TEAM', 'BR007'), ('M-P1', 'Li', 'PRIVATE_BANKING', 'HQ')"
    )
    await d.fetch(
        "INSERT INTO customer_managers (customer_id, manager_id) VALUES ('C00012345', 'M-W1')"
    )
    d.start_worker(tmp_path)
    await d.wait_healthy()

    await d.produce(
        [
            posting("T1", "C00012345", "100000.00", event_time_ms=T0, branch_id="BR001"),
            posting("T2", "C00012345", "450000.00", event_time_ms=T0 + DAY_MS, branch_id="BR001"),
            posting(
                "T3", "C00012345", "2500000.00", event_time_ms=T0 + 2 * DAY_MS, branch_id="BR001"
            ),
            posting("T4", "C2", "20000.00", event_time_ms=T0, branch_id="BR002"),
        ]
    )

    def decoded(records: list) -> list[dict]:
        return [CODEC.decode(r.value, expect=MANAGER_NOTIFICATION)[1] for r in records]

    def upgrades(records: list) -> list[dict]:
        return [n for n in decoded(records) if n["kind"] == "TIER_UPGRADE"]

    # PREMIUM, then HIGH_END with its large deposit: three notifications, and no more.
    await d.read_until("manager-notifications", until=lambda rs: len(rs) >= 3)
    await d.wait_settled()
    records = await d.read_to_end("manager-notifications")
    # The initial placement in POTENTIAL is not news; PREMIUM and then HIGH_END are.
    assert [(n["tier"], n["team"], n["priority"]) for n in upgrades(records)] == [
        ("PREMIUM", "WEALTH_TEAM", "HIGH"),
        ("HIGH_END", "PRIVATE_BANKING", "URGENT"),
    ]
    premium, high_end = upgrades(records)
    actions = " ".join(premium["actions"]).lower()
    assert "assign a dedicated customer manager" in actions
    assert "7×24 hotline" in actions
    assert "large-denomination custom deposit" in actions
    assert any("private banking" in a.lower() for a in high_end["actions"])
    # ...and in every language the service speaks, for each reader to get their own
    assert set(premium["texts"]) == {"zh_Hans_CN", "zh_Hant", "en"}
    assert premium["texts"]["zh_Hans_CN"]["title"] == "升级至优质客户：客户 ****2345"
    assert "配备专属客户经理" in premium["texts"]["zh_Hans_CN"]["actions"]
    assert "配備專屬客戶經理" in premium["texts"]["zh_Hant"]["actions"]
    # The wealth manager is assigned; private banking is not that manager's team: its queue.
    assert (premium["manager_id"], premium["branch_id"]) == ("M-W1", "BR007")
    assert (high_end["manager_id"], high_end["branch_id"]) == (None, "BR007")
    assert all("C00012345" not in n["title"] + n["body"] for n in decoded(records))
    # The large deposit is notified too (a separate kind, with its own cooldown).
    assert sorted(n["kind"] for n in decoded(records)) == [
        "LARGE_DEPOSIT",
        "TIER_UPGRADE",
        "TIER_UPGRADE",
    ]

    # Counted once the batch is stored, a moment after its records are on the topic.
    async def counted() -> bool:
        upgrades = await d.metric(
            "tiering_notifications_total", kind="TIER_UPGRADE", outcome="emitted"
        )
        return upgrades == 2

    await wait_for(counted, 30, "two upgrades counted in tiering_notifications_total")

    # The worker's own delivery put them in the inbox table, once each, to the right people.
    async def inbox() -> list | None:
        rows = await d.fetch(
            "SELECT notification_id, kind, team, manager_id, texts FROM notifications"
        )
        return rows if len(rows) == 3 else None

    rows = await wait_for(inbox, 30, "the three notifications in the notifications table")
    assert {r["notification_id"] for r in rows} == {n["notification_id"] for n in decoded(records)}
    assert all(json.loads(r["texts"]).keys() == {"zh_Hans_CN", "zh_Hant", "en"} for r in rows)
    assert sorted(
        (r["team"], r["manager_id"] or "-") for r in rows if r["kind"] == "TIER_UPGRADE"
    ) == [
        ("PRIVATE_BANKING", "-"),
        ("WEALTH_TEAM", "M-W1"),
    ]
