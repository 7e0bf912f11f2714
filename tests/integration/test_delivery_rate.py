"""Rate limits per robot on the real Kafka and PostgreSQL, against local WeCom robots that
take ``LIMIT`` messages in any ``WINDOW`` seconds and refuse the rest with errcode 45009, as
the real ones do with 20 a minute (the window is scaled down to keep the suite fast)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY

from tests.harness.waiting import wait_for
from tests.integration.delivery_harness import (
    caught_up,
    configured,
    delivering,
    encoded,
    notification,
    serving,
)
from tiering.delivery.service import DeliveryService
from tiering.settings import Settings

LIMIT = 20
WINDOW = 2.0


@dataclass
class LimitedRobots:
    """WeCom group robots, one per ``key``, each taking ``limit`` messages in any ``seconds``
    and answering ``errcode 45009`` beyond that. With ``hold_answer_to`` set, the answer to
    that accepted message (1 for the first) waits for ``answer``."""

    limit: int
    seconds: float
    #: key -> (arrival on the monotonic clock, title) of each accepted message
    accepted: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    refused: list[tuple[str, str]] = field(default_factory=list)
    hold_answer_to: int | None = None
    answer: asyncio.Event = field(default_factory=asyncio.Event)

    def titles(self, key: str) -> list[str]:
        return [title for _, title in self.accepted.get(key, [])]

    async def handle(self, request: web.Request) -> web.Response:
        now = time.monotonic()
        key = request.query["key"]
        content = (await request.json())["markdown"]["content"]
        title = content.split("\n", 1)[0].strip("*")
        accepted = self.accepted.setdefault(key, [])
        if sum(1 for t, _ in accepted if t > now - self.seconds) >= self.limit:
            self.refused.append((key, title))
            return web.json_response({"errcode": 45009, "errmsg": "api freq out of limit"})
        accepted.append((now, title))
        if len(accepted) == self.hold_answer_to:
            await self.answer.wait()
        return web.json_response({"errcode": 0, "errmsg": "ok"})


def robot(name: str, team: str, url: str, key: str, seconds: float = WINDOW) -> str:
    return f"""
        [[webhook]]
        name = "{name}"
        team = "{team}"
        type = "wecom"
        url = "{url}?key={key}"
        rate_limit = {{ messages = {LIMIT}, seconds = {seconds} }}
        """


async def produce_all(settings: Settings, records: list[dict[str, Any]]) -> None:
    """All at once, in this order per partition, as a month-end burst arrives."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        topic = settings.topic("manager-notifications")
        for key, value in map(encoded, records):
            await producer.send(topic, key=key, value=value)
        await producer.flush()
    finally:
        await producer.stop()


def burst(prefix: str, count: int, team: str = "WEALTH_TEAM") -> list[dict[str, Any]]:
    return [notification(f"{prefix}{i:03d}", team=team) for i in range(count)]


def titles(records: list[dict[str, Any]]) -> list[str]:
    return sorted(r["title"] for r in records)


def most_in_any_window(arrivals: list[float], seconds: float) -> int:
    """The most arrivals in any half-open window (t - seconds, t]."""
    ordered = sorted(arrivals)
    return max(sum(1 for s in ordered if t - seconds < s <= t) for t in ordered)


def waiting() -> float:
    return REGISTRY.get_sample_value("tiering_deliveries_waiting", {"channel": "wecom"}) or 0.0


async def assert_each_delivered_once(d: Any, count: int) -> None:
    rows = await d.fetch(
        "SELECT status, attempts, count(*) FROM notification_channels GROUP BY 1, 2"
    )
    assert [tuple(r) for r in rows] == [("delivered", 1, count)]
    rows = await d.fetch("SELECT outcome, count(*) FROM notification_deliveries GROUP BY 1")
    assert [tuple(r) for r in rows] == [("delivered", count)]


async def test_a_burst_of_100_to_one_robot_drains_within_its_rate_and_other_robots_go_on(
    deployment: Any, tmp_path: Path
) -> None:
    d = await deployment("dlvrate")
    robots = LimitedRobots(LIMIT, WINDOW)
    async with serving(robots.handle) as base:
        url = f"{base}/wecom"
        settings = configured(
            d,
            tmp_path,
            robot("wealth", "WEALTH_TEAM", url, "wealth")
            + robot("private", "PRIVATE_BANKING", url, "private"),
        )
        wealth = burst("W", 100)
        private = burst("P", 5, team="PRIVATE_BANKING")  # after the burst in every partition
        most_waiting = 0.0
        # Small batches: the private ones come in later batches than most of the burst.
        service = DeliveryService(settings, batch_size=10)
        await service.start()
        try:
            await produce_all(settings, wealth + private)

            async def private_delivered() -> bool:
                assert service.running, "the delivery consumer died"
                return len(robots.titles("private")) == 5

            await wait_for(private_delivered, 60, "the other team's notifications")
            committed_all = await caught_up(settings)
            wealth_sent = len(robots.titles("wealth"))
            # What is still queued is not acknowledged.
            assert wealth_sent < 100
            assert not committed_all

            async def all_handled() -> bool:
                nonlocal most_waiting
                assert service.running, "the delivery consumer died"
                most_waiting = max(most_waiting, waiting())
                return await caught_up(settings)

            await wait_for(all_handled, 60, "the burst delivered and committed")
        finally:
            await service.stop()

    assert robots.refused == []
    assert sorted(robots.titles("wealth")) == titles(wealth)  # every one, none twice
    assert sorted(robots.titles("private")) == titles(private)
    arrivals = sorted(t for t, _ in robots.accepted["wealth"])
    assert most_in_any_window(arrivals, WINDOW) == LIMIT
    assert arrivals[-1] - arrivals[0] >= 4 * WINDOW  # 100 at 20 a window: five windows
    # The other robot did not wait for the burst to drain: its messages all came before the
    # burst's third window.
    assert max(t for t, _ in robots.accepted["private"]) < arrivals[2 * LIMIT]
    await assert_each_delivered_once(d, 105)
    assert most_waiting > 0  # the burst queued here, and the gauge showed it
    assert waiting() == 0


async def test_a_restart_mid_burst_sends_nothing_twice_and_keeps_to_the_rate(
    deployment: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    d = await deployment("dlvrestart")
    seconds = 6.0  # longer than a restart takes: the new process must count the old one's sends
    robots = LimitedRobots(LIMIT, seconds, hold_answer_to=LIMIT)
    async with serving(robots.handle) as base:
        url = f"{base}/wecom"
        settings = configured(d, tmp_path, robot("wealth", "WEALTH_TEAM", url, "k", seconds))
        wealth = burst("W", 2 * LIMIT)
        first = DeliveryService(settings, stop_timeout=0.2)
        await first.start()
        try:
            await produce_all(settings, wealth)

            async def first_window_sent() -> bool:
                assert first.running, "the delivery consumer died"
                return len(robots.titles("k")) == LIMIT

            await wait_for(first_window_sent, 60, "the first window's messages")
            # Stopped with the last of them unanswered and the rest queued for the next window.
            stopping = asyncio.create_task(first.stop())

            async def gave_up_waiting() -> bool:
                return "did not finish within" in caplog.text

            await wait_for(gave_up_waiting, 30, "the stop to cancel what is unfinished")
            assert not stopping.done()  # the request on its way is seen through
            robots.answer.set()
            await stopping
        finally:
            await first.stop()
        # The unanswered one was recorded, not released; the queued ones held no claim.
        await assert_each_delivered_once(d, LIMIT)

        async with delivering(settings) as second:

            async def all_handled() -> bool:
                assert second.running, "the delivery consumer died"
                return await caught_up(settings)

            await wait_for(all_handled, 60, "the rest delivered after the restart")

    assert robots.refused == []
    assert sorted(robots.titles("k")) == titles(wealth)  # every one, none twice
    assert most_in_any_window([t for t, _ in robots.accepted["k"]], seconds) == LIMIT
    await assert_each_delivered_once(d, 2 * LIMIT)
