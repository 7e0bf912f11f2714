"""The Prometheus the local launcher starts, and the metrics a worker serves."""

from __future__ import annotations

import asyncio
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

#: the Prometheus the local launcher starts (deploy/prometheus/prometheus.yml scrapes TEST_PORTS)
PROMETHEUS = os.environ.get("TIERING_PROMETHEUS_URL", "http://127.0.0.1:9090").rstrip("/")


def http_get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def http_status(url: str) -> int:
    """The status ``url`` answers with; 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


async def promql(query: str) -> list[dict[str, Any]]:
    """The result of an instant PromQL query on the local Prometheus."""
    url = f"{PROMETHEUS}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    body = json.loads(await asyncio.to_thread(http_get, url))
    assert body["status"] == "success", body
    return list(body["data"]["result"])


async def scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """A ``/metrics`` page: sample name → its (labels, value) samples."""
    text = await asyncio.to_thread(http_get, url)
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return samples
