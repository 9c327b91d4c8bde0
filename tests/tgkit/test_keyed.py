"""Per-key locks: one holder per key in asking order, and nothing kept once nobody waits."""

from __future__ import annotations

import asyncio

import pytest

from tgkit.keyed import KeyedLocks


async def test_one_holder_per_key_in_order_then_forgotten() -> None:
    locks = KeyedLocks()
    order: list[tuple[str, int]] = []
    holding: dict[str, int] = {}

    async def hold(key: str, n: int) -> None:
        async with locks.hold(key):
            holding[key] = holding.get(key, 0) + 1
            assert holding[key] == 1
            await asyncio.sleep(0.01)
            order.append((key, n))
            holding[key] -= 1

    await asyncio.gather(*(hold(k, n) for n in range(5) for k in ("a", "b")))
    assert [n for k, n in order if k == "a"] == list(range(5))
    assert [n for k, n in order if k == "b"] == list(range(5))
    assert len(locks) == 0


async def test_a_waiter_cancelled_or_a_failing_block_leaves_nothing_held() -> None:
    locks = KeyedLocks()
    entered = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with locks.hold("a"):
            entered.set()
            await release.wait()

    first = asyncio.create_task(holder())
    await entered.wait()
    waiter = asyncio.create_task(holder())
    await asyncio.sleep(0)
    assert len(locks) == 1
    waiter.cancel()
    release.set()
    await asyncio.gather(first, waiter, return_exceptions=True)
    assert waiter.cancelled()
    assert len(locks) == 0

    async def failing() -> None:
        async with locks.hold("a"):
            raise ValueError("inside")

    for _ in range(2):  # the lock was given back: the second time does not hang
        with pytest.raises(ValueError, match="inside"):
            await asyncio.wait_for(failing(), 1)
    assert len(locks) == 0
    async with locks.hold(None):
        assert len(locks) == 0
