"""Client-side rate limits per delivery destination: at most N requests in any T seconds to one
robot (WeCom and DingTalk group robots take 20 a minute and refuse the rest), so a burst queues
here and drains within the limit instead of being refused, retried and dead-lettered.

A sliding window, not a token or leaky bucket: a bucket of N that refills at N/T lets N through
at once and N more over the next T, up to 2N - 1 in one window, which is exactly what a robot
refuses. Each request is counted from the moment its answer came back, and a request still in
flight counts as now, so however long the network holds one, the robot never sees more than N
in any T. Waiters are served in the order they came.

The clock and the sleep are injectable, so the rules are tested on a fake clock.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]


class Slot:
    """The right to send one request. ``release()`` when it is over: ``used=False`` gives the
    slot back untouched (nothing was sent), otherwise the request counts from now."""

    __slots__ = ("_released", "_window")

    def __init__(self, window: SlidingWindow | None) -> None:
        self._window = window
        self._released = False

    def release(self, used: bool = True) -> None:
        if self._released:
            return
        self._released = True
        if self._window is not None:
            self._window._give_back(used)


#: the slot of a destination without a limit
UNLIMITED = Slot(None)


class SlidingWindow:
    """At most ``limit`` requests in any ``seconds``, counted from when each one ended."""

    def __init__(
        self,
        limit: int,
        seconds: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if limit < 1 or seconds <= 0:
            raise ValueError("a rate limit needs limit >= 1 and seconds > 0")
        self.limit = limit
        self.seconds = seconds
        self._clock = clock
        self._sleep = sleep
        #: when the latest requests ended, oldest first; at most ``limit`` of them matter
        self._ended: deque[float] = deque(maxlen=limit)
        self._in_flight = 0
        #: one waiter at a time looks for a slot, in the order they came (asyncio.Lock is FIFO)
        self._turn = asyncio.Lock()
        #: set when a slot is given back, which may free one sooner than the window's end
        self._given_back = asyncio.Event()

    @property
    def in_use(self) -> int:
        """Requests in flight or ended within the window: what a new one is counted with."""
        self._forget_old(self._clock())
        return len(self._ended) + self._in_flight

    def remember(self, ended_ago: Iterable[float]) -> None:
        """Count requests that ended ``ended_ago`` seconds before now (another process's, or
        this one's before a restart), so a restart mid-burst does not start a fresh window."""
        now = self._clock()
        ended = sorted([*self._ended, *(now - ago for ago in ended_ago if ago < self.seconds)])
        self._ended.clear()
        self._ended.extend(ended[-self.limit :])

    async def acquire(self) -> Slot:
        """Wait for a slot; cancelling the wait takes none."""
        async with self._turn:
            while True:
                now = self._clock()
                self._forget_old(now)
                if len(self._ended) + self._in_flight < self.limit:
                    self._in_flight += 1
                    return Slot(self)
                self._given_back.clear()
                # Full: the oldest ended request leaves the window first, unless a slot in
                # flight is given back unused before that.
                until = self._ended[0] + self.seconds - now if self._ended else None
                await self._wait(until)

    async def _wait(self, seconds: float | None) -> None:
        waits: set[asyncio.Future[object]] = {asyncio.ensure_future(self._given_back.wait())}
        if seconds is not None:
            waits.add(asyncio.ensure_future(self._sleep(seconds)))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    def _forget_old(self, now: float) -> None:
        while self._ended and self._ended[0] <= now - self.seconds:
            self._ended.popleft()

    def _give_back(self, used: bool) -> None:
        self._in_flight -= 1
        if used:
            self._ended.append(self._clock())
        self._given_back.set()
