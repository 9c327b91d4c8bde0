"""Per-key locks: one holder per key in asking order, and nothing kept once nobody waits."""

from __future__ import annotations

import asyncio

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
