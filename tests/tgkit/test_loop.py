"""The one background loop: intervals, wake-ups, surviving a failed round, stopping."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tgkit.loop import BackgroundLoop


async def test_runs_every_interval_and_survives_a_failed_round(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rounds: list[int] = []

    async def step() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("first round breaks")

    loop = BackgroundLoop("test-loop", step, interval=0.01)
    with caplog.at_level(logging.ERROR, logger="tgkit.loop"):
        loop.start()
        loop.start()  # already running: still one task
        for _ in range(200):
            if len(rounds) >= 3:
                break
            await asyncio.sleep(0.01)
        await loop.stop()
    assert len(rounds) >= 3
    failure = next(r for r in caplog.records if "test-loop" in r.getMessage())
    assert failure.exc_info is not None and "first round breaks" in str(failure.exc_info[1])
    assert not loop.running


async def test_wake_cuts_the_wait_short_and_a_step_may_choose_its_delay() -> None:
    rounds = 0
    woken = asyncio.Event()

    async def step() -> float:
        nonlocal rounds
        rounds += 1
        if rounds == 2:
            woken.set()
        return 3600.0  # longer than the test: only wake() brings the next round

    loop = BackgroundLoop("test-wake", step, interval=0.01)
    loop.start()
    await asyncio.sleep(0.05)
    assert rounds == 1
    loop.wake()
    await asyncio.wait_for(woken.wait(), timeout=5)
    await loop.stop()
    await loop.stop()  # stopping twice is harmless
    assert rounds == 2
