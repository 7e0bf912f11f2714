"""A month-end burst to one WeCom robot drains within the robot's rate: every notification
delivered once, none refused. The robot here refuses, as WeCom does (errcode 45009), any
message beyond its limit in a sliding window; the window is 2 s instead of a minute so that
the test takes seconds."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.harness.waiting import wait_for
from tests.integration.test_delivery import (
    configured,
    delivering,
    encoded,
    notification,
    produce,
    serving,
)

LIMIT = 20
WINDOW = 2.0
BURST = 100


@dataclass
class LimitedRobot:
    """A WeCom group robot: at most ``LIMIT`` messages in any ``WINDOW`` seconds."""

    accepted: list[tuple[float, str]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        now = time.monotonic()
        content = json.loads(await request.read())["markdown"]["content"]
        recent = [t for t, _ in self.accepted if now - t < WINDOW]
        if len(recent) >= LIMIT:
            self.refused.append(content)
            return web.json_response({"errcode": 45009, "errmsg": "api freq out of limit"})
        self.accepted.append((now, content))
        return web.json_response({"errcode": 0, "errmsg": "ok"})


async def test_a_burst_of_100_to_one_wecom_robot_is_delivered_within_its_rate(
    deployment: Any, tmp_path: Path
) -> None:
    d = await deployment("rate")
    robot = LimitedRobot()
    async with serving(robot) as base:  # type: ignore[arg-type]
        settings = configured(
            d,
            tmp_path,
            f"""
            [[webhook]]
            name = "month-end-wecom"
            team = "WEALTH_TEAM"
            type = "wecom"
            url = "{base}/wecom?key=k"
            rate = "{LIMIT}/{WINDOW:g}s"
            """,
        )
        burst = [notification(f"N{i:03d}") for i in range(BURST)]
        async with delivering(settings) as service:
            await produce(settings, [encoded(n) for n in burst])

            async def all_delivered() -> bool:
                assert service.running, "the delivery consumer died"
                rows = await d.fetch(
                    "SELECT count(*) FROM notification_channels WHERE status = 'delivered'"
                )
                return bool(rows[0][0] == BURST)

            await wait_for(all_delivered, 60, f"{BURST} notifications delivered")

    assert robot.refused == []
    titles = sorted(content.split("**")[1] for _, content in robot.accepted)
    assert titles == sorted(n["title"] for n in burst)  # each once
    times = sorted(t for t, _ in robot.accepted)
    busiest = max(sum(1 for t in times if start <= t < start + WINDOW) for start in times)
    assert busiest <= LIMIT
    # and it kept the robot busy rather than idle: the burst took about its rate's time
    assert times[-1] - times[0] < (BURST / LIMIT) * WINDOW + 2 * WINDOW
