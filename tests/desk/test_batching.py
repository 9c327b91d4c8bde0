"""The write-combiner on its own: how requests become batches, and how batches fail."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from desk.batching import Combiner


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate: asyncio.Event | None = None
        self.writing = asyncio.Event()

    async def write(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        self.writing.set()
        if self.gate is not None:
            await self.gate.wait()
        return [item * 10 for item in items]


async def test_concurrent_requests_share_batches_up_to_the_limit() -> None:
    recorder = Recorder()
    combiner = Combiner(recorder.write, limit=3)
    results = await asyncio.gather(*(combiner.submit(i) for i in range(7)))
    assert results == [i * 10 for i in range(7)]
    assert recorder.batches == [[0, 1, 2], [3, 4, 5], [6]]


async def test_requests_arriving_during_a_write_make_the_next_batch() -> None:
    recorder = Recorder()
    recorder.gate = asyncio.Event()
    combiner = Combiner(recorder.write)
    first = asyncio.create_task(combiner.submit(1))
    await recorder.writing.wait()
    later = [asyncio.create_task(combiner.submit(i)) for i in range(2, 6)]
    await asyncio.sleep(0)
    recorder.gate.set()
    assert await first == 10
    assert [await task for task in later] == [20, 30, 40, 50]
    assert recorder.batches == [[1], [2, 3, 4, 5]]


async def test_a_lone_request_is_written_alone_and_at_once() -> None:
    recorder = Recorder()
    combiner = Combiner(recorder.write)
    for i in range(3):
        assert await asyncio.wait_for(combiner.submit(i), timeout=1) == i * 10
    assert recorder.batches == [[0], [1], [2]]


async def test_a_failure_is_every_callers_and_the_next_batch_is_written() -> None:
    failure = ConnectionError("restarting")
    calls = 0

    async def write(items: Sequence[int]) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise failure
        return list(items)

    combiner = Combiner(write)
    outcomes = await asyncio.gather(*(combiner.submit(i) for i in range(5)), return_exceptions=True)
    assert outcomes == [failure] * 5 and all(o is failure for o in outcomes)
    assert await combiner.submit(7) == 7


async def test_a_cancelled_caller_leaves_the_batch_to_the_others() -> None:
    recorder = Recorder()
    recorder.gate = asyncio.Event()
    combiner = Combiner(recorder.write)
    tasks = [asyncio.create_task(combiner.submit(i)) for i in range(3)]
    await recorder.writing.wait()
    tasks[0].cancel()
    await asyncio.sleep(0)
    recorder.gate.set()
    assert [await task for task in tasks[1:]] == [10, 20]
    assert tasks[0].cancelled()


async def test_a_caller_cancelled_before_its_batch_is_not_written() -> None:
    recorder = Recorder()
    recorder.gate = asyncio.Event()
    combiner = Combiner(recorder.write)
    first = asyncio.create_task(combiner.submit(1))
    await recorder.writing.wait()
    gone = asyncio.create_task(combiner.submit(2))
    kept = asyncio.create_task(combiner.submit(3))
    await asyncio.sleep(0)
    gone.cancel()
    recorder.gate.set()
    assert (await first, await kept) == (10, 30)
    assert recorder.batches == [[1], [3]]


async def test_a_wrong_number_of_results_fails_the_callers() -> None:
    async def write(items: Sequence[int]) -> list[int]:
        return []

    combiner = Combiner(write)
    with pytest.raises(RuntimeError, match="0 results for 1 items"):
        await combiner.submit(1)
