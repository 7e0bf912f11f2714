"""The real Prometheus scrapes a real worker; PromQL over its HTTP API sees our counters."""

from __future__ import annotations

from pathlib import Path

from tests.harness.prometheus import promql
from tests.harness.records import posting
from tests.harness.waiting import wait_for


async def test_prometheus_scrapes_the_worker(deployment, tmp_path: Path) -> None:
    d = await deployment("prom")
    d.start_worker(tmp_path)
    await d.wait_healthy()
    await d.produce(
        posting(f"T{i}", f"C{i % 7}", "1000.00", event_time_ms=1_764_000_000_000 + i)
        for i in range(25)
    )

    instance = f"127.0.0.1:{d.web_port}"
    query = (
        f'sum(tiering_events_total{{job="deposit-tiering",instance="{instance}",'
        f'outcome="processed"}})'
    )

    async def scraped_all() -> list[dict] | None:
        result = await promql(query)
        return result if result and float(result[0]["value"][1]) == 25 else None

    await wait_for(
        scraped_all, 60, f"Prometheus to scrape 25 processed events from {instance}", interval=1
    )
    customers = await promql(f'sum(tiering_customers{{instance="{instance}"}})')
    assert float(customers[0]["value"][1]) == 7
