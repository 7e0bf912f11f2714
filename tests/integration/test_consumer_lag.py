"""tiering_consumer_lag_messages counts what the worker has not yet committed, per partition."""

from __future__ import annotations

from pathlib import Path

from tests.harness.records import posting
from tests.harness.waiting import wait_for


async def test_lag_rises_with_a_backlog_and_falls_to_zero(deployment, tmp_path: Path) -> None:
    d = await deployment("lag")
    # A backlog before any worker runs: the lag, once measured, is all of it.
    await d.produce(posting(f"T{i}", f"C{i % 50}", "10.00") for i in range(400))
    d.start_worker(tmp_path)
    await d.wait_healthy()

    async def caught_up() -> bool:
        ledger = await d.metric(
            "tiering_consumer_lag_messages", group="ledger", topic="deposit-transactions"
        )
        partitions = await d.metric("tiering_events_total", outcome="processed")
        return partitions == 400 and ledger == 0

    await wait_for(caught_up, 60, "the ledger's lag to reach zero after 400 postings")
    waiting = await d.metric("tiering_consumer_lag_messages", group="delivery")
    assert waiting == 0  # nothing was notified, nothing waits
