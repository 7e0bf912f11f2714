"""How fast a channel may send: a rate such as ``20/min``, and the sliding window that keeps a
channel to it.

A WeCom group robot accepts 20 messages a minute and answers errcode 45009 to the 21st; a
month-end burst for one team went over, retried and ended on the dead-letter topic. Each
webhook therefore has a rate (``rate`` in the channels file; WeCom and DingTalk robots 20/min
by default) and a :class:`Pace` per robot, so that a burst queues and drains within it and one
busy team does not slow another's robot.

The window counts a send from when its answer came back: the next send that needs its place
leaves a full period after that, so it reaches the server a full period after the first did,
whatever the network's delay. (A leaky bucket, as aiolimiter's, lets twice the rate through in
a window that starts with a burst: the robot would refuse the excess.)
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*(s|min|h)\s*$")
_SECONDS = {"s": 1.0, "min": 60.0, "h": 3600.0}


@dataclass(frozen=True, slots=True)
class Rate:
    """At most ``count`` sends in any ``seconds``."""

    count: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"20/min"``, ``"5/s"``, ``"100/h"``, ``"20/2s"`` (20 in any 2 seconds)."""
        match = _RATE.fullmatch(text)
        if match is None:
            raise ValueError(f"{text!r} is not a rate such as 20/min, 5/s or 20/2s")
        count, length, unit = match.groups()
        seconds = float(length or 1) * _SECONDS[unit]
        if int(count) < 1 or seconds <= 0:
            raise ValueError(f"{text!r}: the count and the period must be positive")
        return cls(int(count), seconds)

    def __str__(self) -> str:
        return f"{self.count} per {self.seconds:g} s"


class Pace:
    """Lets at most ``rate.count`` sends into any period of ``rate.seconds``, in the order they
    asked; a send holds its place from the moment it leaves until its answer is back."""

    def __init__(
        self,
        rate: Rate,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        #: the sends in the window: when each answer came back, None while in flight
        self._window: deque[list[float | None]] = deque()
        self._turn = asyncio.Lock()
        self._answered = asyncio.Event()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for a place in the window, then send inside the ``async with``."""
        async with self._turn:
            while len(self._window) >= self.rate.count:
                oldest = self._window[0][0]
                if oldest is None:  # still in flight: its place frees once it is answered
                    self._answered.clear()
                    await self._answered.wait()
                    continue
                delay = oldest + self.rate.seconds - self._clock()
                if delay > 0:
                    await self._sleep(delay)
                self._window.popleft()
            mine: list[float | None] = [None]
            self._window.append(mine)
        try:
            yield
        finally:
            mine[0] = self._clock()
            self._answered.set()
