"""The one background loop: intervals, wake-ups, surviving a failed round, stopping."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy.exc import OperationalError

from tgkit.loop import BackgroundLoop, cancel_and_wait


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


async def test_a_wake_in_the_same_turn_as_the_stop_still_stops_the_loop() -> None:
    # Python 3.11's wait_for drops a cancellation that meets the event it waits
    # for in one turn; the loop then ran on and stop() waited for it forever
    # (a test-suite teardown hung in CI: the outbox was woken as it was stopped).
    rounds = 0

    async def step() -> float:
        nonlocal rounds
        rounds += 1
        return 3600.0

    loop = BackgroundLoop("test-stop-race", step, interval=3600)
    loop.start()
    await asyncio.sleep(0.05)
    for _ in range(20):
        loop.wake()
        stopping = asyncio.create_task(loop.stop())
        # Not asyncio.timeout: its cancellation would reach the loop through
        # stop() and end it, hiding the lost one.
        done, _ = await asyncio.wait({stopping}, timeout=3)
        assert done, "the loop ran on after stop()"
        assert not loop.running
        loop.start()
        await asyncio.sleep(0.01)
    await loop.stop()
    assert rounds >= 21  # every start ran a round; the wakes may add one each


async def test_an_outage_is_one_warning_line_per_round(caplog: pytest.LogCaptureFixture) -> None:
    """A database that is away is not a bug: no traceback, the rounds go on."""
    rounds: list[int] = []

    async def step() -> None:
        rounds.append(len(rounds))
        if len(rounds) <= 2:
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))

    loop = BackgroundLoop("test-outage", step, interval=0.01)
    with caplog.at_level(logging.WARNING, logger="tgkit.loop"):
        loop.start()
        for _ in range(200):
            if len(rounds) >= 3:
                break
            await asyncio.sleep(0.01)
        await loop.stop()
    assert len(rounds) >= 3
    failed = [r for r in caplog.records if "round failed" in r.getMessage()]
    assert [r.levelno for r in failed] == [logging.WARNING, logging.WARNING]
    assert all(r.exc_info is None and "OperationalError" in r.getMessage() for r in failed)


async def test_cancel_and_wait_ends_a_task_that_swallowed_the_first_cancellation() -> None:
    """As Python 3.11's ``asyncio.wait_for`` inside redis-py may: the task runs on."""
    swallowed = asyncio.Event()
    ended = asyncio.Event()

    async def renewer() -> None:
        try:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                swallowed.set()  # eaten: the loop goes on as if nothing happened
            await asyncio.sleep(3600)
        finally:
            ended.set()

    task = asyncio.create_task(renewer())
    await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await cancel_and_wait(task, again_after=0.05)
    assert swallowed.is_set() and ended.is_set()
    assert task.cancelled()


async def test_cancel_and_wait_raises_what_the_task_failed_with() -> None:
    async def failing() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise RuntimeError("broke while stopping") from None

    task = asyncio.create_task(failing())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="broke while stopping"):
        await cancel_and_wait(task)
