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


async def test_a_downgrade_tells_the_team_left_and_the_team_taking_over(
    deployment, tmp_path: Path
) -> None:
    """Issue 17.4 (§3, §4): after the grace period a HIGH_END customer becomes PREMIUM; private
    banking hears of it to win them back, the wealth team to take them over, each once."""
    d = await deployment("handover")
    await d.fetch(
        "INSERT INTO managers (manager_id, name, team, branch_id) VALUES "
        "('M-W1', 'Wang', 'WEALTH_TEAM', 'BR007'), ('M-P1', 'Li', 'PRIVATE_BANKING', 'HQ')"
    )
    await d.fetch(
        "INSERT INTO customer_managers (customer_id, manager_id) VALUES ('C00067890', 'M-W1')"
    )
    d.start_worker(tmp_path)
    await d.wait_healthy()
    grace = d.settings.policy.downgrade_grace_ms
    await d.produce(
        [
            posting("D1", "C00067890", "3500000.00", event_time_ms=T0, branch_id="BR001"),
            # below HIGH_END's bound from here on: the grace period starts
            posting("D2", "C00067890", "2800000.00", "WITHDRAWAL", T0 + DAY_MS, branch_id="BR001"),
            # the next posting after the deadline finds the downgrade, dated at the deadline
            posting("D3", "C00067890", "100.00", event_time_ms=T0 + DAY_MS + grace + DAY_MS),
        ]
    )

    def downgrades(records: list) -> list[dict]:
        decoded = [CODEC.decode(r.value, expect=MANAGER_NOTIFICATION)[1] for r in records]
        return [n for n in decoded if n["kind"] == "TIER_DOWNGRADE"]

    await d.read_until("manager-notifications", until=lambda rs: len(downgrades(rs)) >= 2)
    await d.wait_settled()
    found = downgrades(await d.read_to_end("manager-notifications"))
    assert len(found) == 2
    by_team = {n["team"]: n for n in found}
    win_back, hand_over = by_team["PRIVATE_BANKING"], by_team["WEALTH_TEAM"]
    assert len({win_back["notification_id"], hand_over["notification_id"]}) == 2
    assert win_back["source_event_id"] == hand_over["source_event_id"]
    assert {n["tier"] for n in found} == {"PREMIUM"}
    # the customer's wealth manager takes them over; private banking's queue at her branch
    assert (hand_over["manager_id"], hand_over["branch_id"]) == ("M-W1", "BR007")
    assert (win_back["manager_id"], win_back["branch_id"]) == (None, "BR007")
    # each says which it is, and what the customer had, in every language
    assert "Win them back" in win_back["texts"]["en"]["body"]
    assert hand_over["texts"]["en"]["title"].startswith("Handed over from High-end customer")
    assert "¥3,000,000.00" in hand_over["texts"]["en"]["body"]
    assert "高端客户" in hand_over["texts"]["zh_Hans_CN"]["body"]
    assert "高端客戶" in hand_over["texts"]["zh_Hant"]["body"]
    assert "承接私人银行团队的定制化方案" in " ".join(hand_over["texts"]["zh_Hans_CN"]["actions"])
    assert win_back["actions"] != hand_over["actions"]

    async def counted() -> bool:
        teams = ("PRIVATE_BANKING", "WEALTH_TEAM")
        counts = [
            await d.metric(
                "tiering_notifications_total", kind="TIER_DOWNGRADE", team=t, outcome="emitted"
            )
            for t in teams
        ]
        return counts == [1, 1]

    await wait_for(counted, 30, "one downgrade counted for each team")

    async def stored() -> list | None:
        rows = await d.fetch(
            "SELECT notification_id, team FROM notifications WHERE kind = 'TIER_DOWNGRADE'"
        )
        return rows if len(rows) == 2 else None

    rows = await wait_for(stored, 30, "both downgrade notifications in the inbox table")
    assert {(r["notification_id"], r["team"]) for r in rows} == {
        (n["notification_id"], n["team"]) for n in found
    }
