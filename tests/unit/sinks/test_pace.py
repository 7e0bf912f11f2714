"""A channel's rate: parsed from the channels file, and kept by a sliding window."""

from __future__ import annotations

import asyncio

import pytest

from tiering.sinks.channels.config import parse_channels
from tiering.sinks.channels.errors import ChannelsConfigError
from tiering.sinks.channels.pace import Pace, Rate


class FakeTime:
    """A clock that moves only when the pace sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("20/min", Rate(20, 60)),
        ("5/s", Rate(5, 1)),
        ("100/h", Rate(100, 3600)),
        ("20/2s", Rate(20, 2)),
        (" 3 / 1.5 min ", Rate(3, 90)),
    ],
)
def test_rates_are_read(text: str, rate: Rate) -> None:
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["20", "20/day", "0/min", "fast", "-1/s", "20/0s"])
def test_a_wrong_rate_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"rate|positive"):
        Rate.parse(text)


async def test_a_burst_goes_out_at_the_rate_and_in_order() -> None:
    time = FakeTime()
    pace = Pace(Rate(3, 60), clock=time.clock, sleep=time.sleep)
    sent: list[tuple[int, float]] = []

    async def send(i: int) -> None:
        async with pace.slot():
            sent.append((i, time.now))
            time.now += 0.5  # the robot answers half a second later

    await asyncio.gather(*(send(i) for i in range(7)))
    assert [i for i, _ in sent] == list(range(7))
    starts = [t for _, t in sent]
    # three at once, the fourth a minute after the first one's answer, and so on
    assert starts == [0.0, 0.5, 1.0, 60.5, 61.0, 61.5, 121.0]
    for a, b in zip(starts, starts[3:], strict=False):
        assert b - a >= 60


async def test_a_send_in_flight_holds_its_place_until_answered() -> None:
    time = FakeTime()
    pace = Pace(Rate(1, 1), clock=time.clock, sleep=time.sleep)
    answered = asyncio.Event()
    order: list[str] = []

    async def slow() -> None:
        async with pace.slot():
            order.append("slow sent")
            await answered.wait()
            order.append("slow answered")

    async def next_one() -> None:
        async with pace.slot():
            order.append("next sent")

    first = asyncio.create_task(slow())
    await asyncio.sleep(0)
    second = asyncio.create_task(next_one())
    time.now += 1000  # far longer than the period: only the answer frees the place
    for _ in range(10):
        await asyncio.sleep(0)  # let the waiting send run as far as it can
    assert order == ["slow sent"]
    answered.set()
    await asyncio.gather(first, second)
    assert order == ["slow sent", "slow answered", "next sent"]


def robot(extra: str = "", kind: str = "wecom") -> str:
    return f"""
    [[webhook]]
    name = "r"
    team = "*"
    type = "{kind}"
    url = "https://robot.example/send?key=k"
    {extra}
    """


def test_robots_keep_to_their_limit_by_default_and_a_file_may_say_otherwise() -> None:
    assert parse_channels(robot()).webhook[0].pace == Rate(20, 60)
    assert parse_channels(robot(kind="dingtalk")).webhook[0].pace == Rate(20, 60)
    assert parse_channels(robot(kind="json")).webhook[0].pace is None
    assert parse_channels(robot('rate = "10/min"')).webhook[0].pace == Rate(10, 60)
    assert parse_channels(robot('rate = "unlimited"')).webhook[0].pace is None
    with pytest.raises(ChannelsConfigError, match="rate"):
        parse_channels(robot('rate = "twenty a minute"'))
