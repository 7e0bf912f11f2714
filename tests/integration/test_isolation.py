"""Two deployments share one broker and one database through TIERING_APP_ID,
TIERING_TOPIC_PREFIX and TIERING_WEB_PORT, and never see each other's customers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.harness.records import posting
from tests.harness.waiting import wait_for


async def test_two_deployments_on_one_broker_and_database(deployment, tmp_path: Path) -> None:
    blue = await deployment("blue")
    green = await deployment("green")
    assert blue.settings.db_schema != green.settings.db_schema
    for d in (blue, green):
        d.start_worker(tmp_path)
    for d in (blue, green):
        await d.wait_healthy()

    # The same customer ids and txn ids in both: each deployment must count only its own.
    await blue.produce([posting("T1", "C1", "600000.00"), posting("T2", "C2", "10.00")])
    await green.produce([posting("T1", "C1", "70000.00")])

    async def rows(d) -> dict[str, tuple[Decimal, str]]:
        return {
            r["customer_id"]: (r["balance"], r["tier"])
            for r in await d.fetch("SELECT customer_id, balance, tier FROM customer_balances")
        }

    assert await wait_for(lambda: _when(rows(blue), 2), 30, "blue's rows") == {
        "C1": (Decimal("600000.00"), "PREMIUM"),
        "C2": (Decimal("10.00"), "ORDINARY"),
    }
    assert await wait_for(lambda: _when(rows(green), 1), 30, "green's rows") == {
        "C1": (Decimal("70000.00"), "POTENTIAL"),
    }
    # Each deployment's tier-changes holds its own customers' placements, and only those.
    for d, placed in ((blue, 2), (green, 1)):
        await d.wait_settled()
        assert len(await d.read_to_end("tier-changes")) == placed


async def _when(coro, n: int):
    got = await coro
    return got if len(got) >= n else None
