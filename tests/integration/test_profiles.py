"""§6 on the real Kafka and PostgreSQL: a POTENTIAL customer who keeps looking at short-term
wealth products is proposed one with a notice deposit, once; the profile is in PostgreSQL;
the later purchase counts as a conversion (§7.4)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from tests.harness.records import CODEC, DAY_MS, T0, online, posting
from tests.harness.waiting import wait_for
from tiering.wire.codec import MANAGER_NOTIFICATION, ONLINE_BEHAVIOR_EVENT

HOUR = 3_600_000


async def test_product_interest_reaches_the_customer_manager_once(
    deployment, tmp_path: Path
) -> None:
    d = await deployment("profile")
    await d.fetch(  # assessed three weeks before the events: valid for them (§9)
        "INSERT INTO customer_risk_assessments (customer_id, risk_level, assessed_on) "
        "VALUES ('C0001234', 3, '2025-11-04')"
    )
    d.start_worker(tmp_path)
    await d.wait_healthy()
    await d.produce([posting("T1", "C0001234", "120000.00", event_time_ms=T0, branch_id="BR003")])
    await wait_for(
        lambda: d.fetch("SELECT 1 FROM customer_balances WHERE tier = 'POTENTIAL'"),
        30,
        "C0001234 placed",
    )

    def at(hours: float) -> int:
        return T0 + int(hours * HOUR)

    events = [
        online("E1", "C0001234", "LOGIN", at(1)),
        online("E2", "C0001234", "PRODUCT_VIEW", at(2), product_category="SHORT_TERM_WEALTH"),
        online("E3", "C0001234", "LOGIN", at(48), channel="WEB"),
        online("E4", "C0001234", "PRODUCT_VIEW", at(49), product_category="SHORT_TERM_WEALTH"),
        online("E5", "C0001234", "PRODUCT_VIEW", at(120), product_category="SHORT_TERM_WEALTH"),
        online("E6", "C0001234", "FEEDBACK", at(121), rating=4, comment="my number is 13812345678"),
    ]
    await d.produce(events, topic="online-behavior", schema=ONLINE_BEHAVIOR_EVENT)

    def interest(records: list) -> list[dict]:
        notes = [CODEC.decode(r.value, expect=MANAGER_NOTIFICATION)[1] for r in records]
        return [n for n in notes if n["kind"] == "PRODUCT_INTEREST"]

    records = await d.read_until("manager-notifications", until=lambda rs: len(interest(rs)) >= 1)
    [note] = interest(records)
    assert (note["risk_level"], note["risk_assessed_on"]) == (3, date(2025, 11, 4))
    assert (note["team"], note["tier"], note["priority"]) == (
        "CUSTOMER_MANAGER",
        "POTENTIAL",
        "NORMAL",
    )
    assert "Propose: short-term wealth product + notice deposit" in note["actions"][-1]
    assert "13812345678" not in note["title"] + note["body"]

    # A fourth view within the cooldown (24 h) adds no notification: it is counted as suppressed.
    await d.produce(
        [online("E7", "C0001234", "PRODUCT_VIEW", at(125), product_category="SHORT_TERM_WEALTH")],
        topic="online-behavior",
        schema=ONLINE_BEHAVIOR_EVENT,
    )

    async def suppressed() -> bool:
        return (
            await d.metric(
                "tiering_notifications_total", kind="PRODUCT_INTEREST", outcome="suppressed"
            )
            == 1
        )

    await wait_for(suppressed, 30, "the fourth view to be suppressed")
    await d.wait_settled()
    assert len(interest(await d.read_to_end("manager-notifications"))) == 1

    async def profile() -> list | None:
        rows = await d.fetch("SELECT * FROM customer_profiles WHERE customer_id = 'C0001234'")
        return rows if rows and rows[0]["version"] == 7 else None

    [row] = await wait_for(profile, 30, "the profile row after seven events")
    assert row["logins_7d"] == 2
    assert row["logins_30d"] == 2
    assert json.loads(row["views_7d"]) == {"SHORT_TERM_WEALTH": 4}
    assert json.loads(row["channels"]) == {"MOBILE_APP": 6, "WEB": 1}
    assert list(row["last_ratings"]) == [4]
    assert set(json.loads(row["interest"])) == {"SHORT_TERM_WEALTH"}

    # The customer then buys a notice deposit: the notification converted (§7.4).
    await d.produce(
        [
            posting(
                "T2", "C0001234", "20000.00", event_time_ms=at(200), product_code="NOTICE_DEPOSIT"
            )
        ]
    )

    async def converted() -> bool:
        return (
            await d.metric(
                "tiering_conversions_total", tier="POTENTIAL", notification_kind="PRODUCT_INTEREST"
            )
            == 1
        )

    await wait_for(converted, 30, "the purchase to count as a conversion")
    assert (
        await d.metric("tiering_online_events_total", event_type="PRODUCT_VIEW", tier="POTENTIAL")
        == 4
    )
    assert await d.metric("tiering_satisfaction_rating_count", tier="POTENTIAL") == 1


async def test_a_rating_outside_1_to_5_goes_to_the_dead_letter_topic(
    deployment, tmp_path: Path
) -> None:
    d = await deployment("rating")
    d.start_worker(tmp_path)
    await d.wait_healthy()
    await d.produce(
        [online("E1", "C1", "FEEDBACK", T0, rating=7), online("E2", "C1", "LOGIN", T0 + DAY_MS)],
        topic="online-behavior",
        schema=ONLINE_BEHAVIOR_EVENT,
    )
    rows = await wait_for(
        lambda: d.fetch("SELECT logins_30d FROM customer_profiles"), 30, "C1's profile"
    )
    assert rows[0]["logins_30d"] == 1
    await d.wait_settled()
    [letter] = await d.read_to_end("online-behavior.dlq")
    assert dict(letter.headers)["dlq.reason"] == b"invalid_rating"
