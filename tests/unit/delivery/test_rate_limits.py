"""The sliding window that keeps a destination within its rate limit, on a fake clock: never
more than the limit in any window, each request counted from when it ended, waiters in order,
a cancelled wait or an unused slot taking nothing."""

from __future__ import annotations

import asyncio

import pytest

from tiering.delivery.rate_limits import UNLIMITED, SlidingWindow


class FakeTime:
    """A clock that moves only when the limiter sleeps or the test says so."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def window(time: FakeTime, limit: int, seconds: float) -> SlidingWindow:
    return SlidingWindow(limit, seconds, clock=time.clock, sleep=time.sleep)


async def settle() -> None:
    """Let every task that can run, run."""
    for _ in range(20):
        await asyncio.sleep(0)


def most_in_any_window(times: list[float], seconds: float) -> int:
    """The most of ``times`` in any half-open window (t - seconds, t]."""
    ordered = sorted(times)
    return max(sum(1 for s in ordered if t - seconds < s <= t) for t in ordered)


async def test_a_burst_goes_out_limit_by_limit_and_never_over_in_any_window() -> None:
    time = FakeTime()
    limiter = window(time, 20, 60)
    sent: list[float] = []
    for _ in range(100):
        slot = await limiter.acquire()
        sent.append(time.now)
        slot.release()  # answered at once
    assert sent == [0.0] * 20 + [60.0] * 20 + [120.0] * 20 + [180.0] * 20 + [240.0] * 20
    assert most_in_any_window(sent, 60) == 20


async def test_a_leaky_bucket_would_let_twice_the_limit_through_this_one_does_not() -> None:
    # Idle, then a burst, then a steady trickle: the pattern a bucket of 20 refilling at 20 a
    # minute lets through at 39 in one minute. Here: 20, whatever the spacing asked for.
    time = FakeTime()
    limiter = window(time, 20, 60)
    sent: list[float] = []
    for i in range(60):
        time.now = max(time.now, i * 3.0)  # one asked for every 3 s after the burst
        slot = await limiter.acquire()
        sent.append(time.now)
        slot.release()
    assert most_in_any_window(sent, 60) == 20


async def test_a_request_counts_from_when_its_answer_came() -> None:
    time = FakeTime()
    limiter = window(time, 2, 60)
    quick = await limiter.acquire()
    slow = await limiter.acquire()
    quick.release()  # at 0
    time.now = 10.0
    slow.release()  # answered at 10: counts until 70
    third = await limiter.acquire()
    assert time.now == 60.0  # the quick one left the window
    third.release()
    await limiter.acquire()
    assert time.now == 70.0  # the slow one left it: 60 s after its answer, not its start


async def test_a_full_window_of_requests_in_flight_waits_for_one_to_end() -> None:
    time = FakeTime()
    limiter = window(time, 1, 60)
    first = await limiter.acquire()
    second = asyncio.ensure_future(limiter.acquire())
    await settle()
    assert not second.done()
    assert time.sleeps == []  # nothing to wait for on the clock while it is in flight
    time.now = 5.0
    first.release()  # answered at 5
    await settle()
    await second
    assert time.now == 65.0


async def test_a_slot_given_back_unused_frees_it_at_once() -> None:
    time = FakeTime()
    limiter = window(time, 1, 60)
    claimed_elsewhere = await limiter.acquire()
    waiter = asyncio.ensure_future(limiter.acquire())
    await settle()
    claimed_elsewhere.release(used=False)  # nothing was sent (another process had the claim)
    await waiter
    assert time.now == 0.0


async def test_waiters_are_served_in_the_order_they_came() -> None:
    time = FakeTime()
    limiter = window(time, 1, 10)
    served: list[int] = []

    async def send(i: int) -> None:
        slot = await limiter.acquire()
        served.append(i)
        slot.release()

    tasks = []
    for i in range(8):
        tasks.append(asyncio.ensure_future(send(i)))
        await asyncio.sleep(0)  # each starts waiting before the next
    await asyncio.gather(*tasks)
    assert served == list(range(8))
    assert time.now == 70.0


async def test_a_cancelled_wait_takes_no_slot() -> None:
    time = FakeTime()
    limiter = window(time, 1, 60)
    held = await limiter.acquire()
    cancelled = asyncio.ensure_future(limiter.acquire())
    after = asyncio.ensure_future(limiter.acquire())
    await settle()
    cancelled.cancel()
    await settle()
    held.release(used=False)
    slot = await after
    assert time.now == 0.0
    assert limiter.in_use == 1
    slot.release(used=False)
    assert limiter.in_use == 0


async def test_a_slot_released_twice_counts_once() -> None:
    time = FakeTime()
    limiter = window(time, 3, 60)
    slot = await limiter.acquire()
    slot.release()
    slot.release()
    assert limiter.in_use == 1
    UNLIMITED.release()  # the slot of a destination without a limit: nothing to count


async def test_requests_made_before_a_restart_are_remembered() -> None:
    time = FakeTime()
    time.now = 1000.0
    limiter = window(time, 3, 60)
    # Three answered 50, 40 and 30 s ago, one 90 s ago (outside the window).
    limiter.remember([30.0, 90.0, 50.0, 40.0])
    assert limiter.in_use == 3
    await limiter.acquire()
    assert time.now == 1010.0  # when the one from 50 s ago leaves the window


async def test_remembering_more_than_the_limit_keeps_the_latest() -> None:
    time = FakeTime()
    time.now = 100.0
    limiter = window(time, 2, 60)
    limiter.remember([1.0, 2.0, 3.0, 4.0])
    await limiter.acquire()
    assert time.now == 158.0  # the window holds the latest two (99, 98); 98 leaves first


@pytest.mark.parametrize(("limit", "seconds"), [(0, 60), (20, 0), (-1, 1)])
def test_a_limit_must_let_something_through(limit: int, seconds: float) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        SlidingWindow(limit, seconds)
