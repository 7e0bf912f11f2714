"""Exact to the fen under crashes and re-sends, on the real local Kafka and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.harness.records import CODEC, DAY_MS, T0, posting
from tests.harness.streams import (
    balances,
    exact,
    feed,
    replay,
    sums,
    tier_changes_sent,
    tier_changes_stored,
)
from tests.harness.waiting import wait_for
from tiering.core.tiers import Tier


@pytest.mark.parametrize("instance_id", ["", "worker-0"], ids=["dynamic", "static-member"])
async def test_a_worker_killed_mid_stream_and_restarted_ends_exact(
    deployment, tmp_path: Path, instance_id: str
) -> None:
    """A new member, or (as in a StatefulSet) the same static member, restarted with its data
    directory."""
    d = await deployment("kill")
    records = feed(20_000, customers=1_500, seed=1)
    expected_totals = sums(records)
    # The tier changes the policy calls for, from the pure core over the same stream.
    states, expected_changes = replay(records, d.settings.policy)

    worker = d.start_worker(tmp_path, instance_id=instance_id)
    await d.wait_healthy()
    producing = asyncio.create_task(d.produce(records))

    async def part_way() -> float:
        done = await d.metric("tiering_events_total", outcome="processed")
        return done if done >= 3_000 else 0

    done = await wait_for(part_way, 60, "the worker to be part way through", interval=0.02)
    d.kill(worker)
    assert done < 15_000, "killed too late to be in the middle"
    await producing

    d.start_worker(tmp_path, instance_id=instance_id)
    await d.wait_healthy(timeout=120)
    got = await wait_for(
        lambda: exact(d, expected_totals),
        180,
        "PostgreSQL to hold every exact balance",
        interval=1,
    )
    assert got == expected_totals
    print("replayed after the kill:", await d.metric("tiering_events_total", outcome="duplicate"))

    assert set(await tier_changes_stored(d)) == expected_changes
    # A replayed batch sends its changes again, with the same ids: the set is exact.
    await d.wait_settled(timeout=120)
    assert await tier_changes_sent(d) == expected_changes
    # the tier totals the restarted worker took back, kept beside the states, and counted on
    assert await tier_gauges(d) == tier_totals(states.values())


def tier_totals(states: Any) -> dict[str, tuple[int, int]]:
    """Customers and fen per tier, as the pure core's states say."""
    totals = {tier.name: (0, 0) for tier in Tier}
    for state in states:
        n, fen = totals[state.tier.name]
        totals[state.tier.name] = (n + 1, fen + max(state.total_fen, 0))
    return totals


async def tier_gauges(d) -> dict[str, tuple[int, int]]:
    """``tiering_customers`` and ``tiering_balance_cny`` (to the fen) per tier."""
    customers = {labels["tier"]: v for labels, v in await d.samples("tiering_customers")}
    cny = {labels["tier"]: v for labels, v in await d.samples("tiering_balance_cny")}
    return {tier: (int(customers[tier]), round(cny[tier] * 100)) for tier in customers}


async def test_resent_postings_change_nothing(deployment, tmp_path: Path) -> None:
    d = await deployment("resend")
    d.start_worker(tmp_path)
    await d.wait_healthy()
    records = feed(500, customers=40, seed=2)
    await d.produce(records)
    expected = sums(records)
    await wait_for(lambda: exact(d, expected), 60, "the first delivery's balances")
    changes_before = await d.fetch("SELECT change_id FROM tier_changes ORDER BY 1")
    versions_before = await d.fetch("SELECT customer_id, version FROM customer_balances ORDER BY 1")

    # The core system sends every posting again, in a different order.
    again = list(records)
    random.Random(3).shuffle(again)
    await d.produce(again)

    async def all_duplicates() -> bool:
        return await d.metric("tiering_events_total", outcome="duplicate") == len(records)

    await wait_for(all_duplicates, 60, f"{len(records)} postings counted as duplicates")
    assert await d.metric("tiering_events_total", outcome="processed") == len(records)
    assert await balances(d, len(expected)) == expected
    assert await d.fetch("SELECT change_id FROM tier_changes ORDER BY 1") == changes_before
    assert (
        await d.fetch("SELECT customer_id, version FROM customer_balances ORDER BY 1")
        == versions_before
    )


async def test_bad_input_goes_to_the_dead_letter_topic_and_the_rest_goes_on(
    deployment, tmp_path: Path
) -> None:
    d = await deployment("dlq")
    d.start_worker(tmp_path)
    await d.wait_healthy()
    good = CODEC.encode("deposit_transaction", posting("G1", "C1", "100.00"))
    garbage = b"\x00\xffthis is not avro"
    unknown_fingerprint = b"\xc3\x01" + bytes.fromhex("0102030405060708") + good[10:]
    negative = CODEC.encode("deposit_transaction", posting("B1", "C1", "-50.00"))
    no_rate = CODEC.encode("deposit_transaction", posting("B2", "C1", "50.00", currency="XAU"))
    await d.produce(
        [posting("V1", "C1", "1000.00", event_time_ms=T0)],
        raw=[
            (b"C1", garbage),
            (b"C1", unknown_fingerprint),
            (b"C1", negative),
            (b"C1", no_rate),
        ],
    )
    await d.produce([posting("V2", "C1", "49000.00", event_time_ms=T0 + DAY_MS)])

    letters = await d.read_until("deposit-transactions.dlq", until=lambda rs: len(rs) >= 4)
    by_reason = {dict(r.headers)["dlq.reason"].decode(): r for r in letters}
    assert set(by_reason) == {
        "undecodable",
        "unknown_schema",
        "invalid_amount",
        "unsupported_currency",
    }
    assert by_reason["undecodable"].value == garbage
    assert by_reason["unknown_schema"].value == unknown_fingerprint
    assert by_reason["invalid_amount"].value == negative
    assert by_reason["unsupported_currency"].value == no_rate
    headers = dict(by_reason["invalid_amount"].headers)
    assert headers["dlq.topic"] == d.topic("deposit-transactions").encode()
    assert int(headers["dlq.offset"]) >= 0
    assert all(r.key == b"C1" for r in letters)

    # The valid postings on either side went through: 50,000.00 is POTENTIAL.
    assert await wait_for(lambda: exact(d, {"C1": Decimal("50000.00")}), 30, "C1's balance")

    # Counted once their batch is stored, a moment after the rows are written.
    async def counted() -> bool:
        letters = await d.metric("tiering_events_total", outcome="dead_letter")
        return letters == 4

    await wait_for(counted, 30, "four dead letters counted")
    assert await d.metric("tiering_dead_letters_total", reason="invalid_amount") == 1
    await d.wait_settled()
    assert len(await d.read_to_end("deposit-transactions.dlq")) == 4
    rows = await d.fetch(
        "SELECT new_tier FROM tier_changes WHERE customer_id = 'C1' ORDER BY event_time"
    )
    assert [r["new_tier"] for r in rows] == ["ORDINARY", "POTENTIAL"]
