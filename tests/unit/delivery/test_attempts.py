"""A request already on its way outlives a stop: it ends, its outcome is kept, and only then
does the cancellation go on."""

from __future__ import annotations

import asyncio

import pytest

from tiering.delivery.attempts import outlive_cancellation


async def test_the_work_ends_before_the_cancellation_goes_on() -> None:
    answered = asyncio.Event()
    recorded: list[str] = []

    async def send_and_record() -> str:
        await answered.wait()
        recorded.append("delivered")
        return "delivered"

    caller = asyncio.ensure_future(outlive_cancellation(send_and_record()))
    await asyncio.sleep(0)
    caller.cancel()
    await asyncio.sleep(0)
    assert not caller.done()  # still waiting for the answer
    caller.cancel()  # a second stop does not cut it short either
    await asyncio.sleep(0)
    assert not caller.done()
    answered.set()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert recorded == ["delivered"]


async def test_without_a_cancellation_it_is_the_work_and_its_error() -> None:
    async def fine() -> int:
        return 7

    async def broken() -> int:
        raise RuntimeError("a bug")

    assert await outlive_cancellation(fine()) == 7
    with pytest.raises(RuntimeError, match="a bug"):
        await outlive_cancellation(broken())
