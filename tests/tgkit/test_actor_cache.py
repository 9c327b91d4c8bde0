"""Who is acting is remembered briefly; a changed name, a block or a new language asks again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from desk.model import Role
from desk.values import Actor
from tgkit.middlewares import ActorCache, BlockedMarks, MemoryBlocked, RedisBlocked

ANNA = Actor.customer(1, "Анна", "ru")
SEEN = ("Анна", "anna", "ru", frozenset[Role]())


@pytest.fixture(params=["memory", "redis"])
async def blocked(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[BlockedMarks]:
    if request.param == "memory":
        yield MemoryBlocked()
        return
    redis = Redis.from_url(redis_url)
    await redis.delete(RedisBlocked.KEY)
    yield RedisBlocked(redis)
    await redis.aclose()


async def test_remembered_until_something_changes(blocked: BlockedMarks) -> None:
    cache = ActorCache(blocked)
    assert await cache.get(700, SEEN) is None
    cache.put(700, SEEN, ANNA)
    assert await cache.get(700, SEEN) == ANNA
    renamed = ("Анна К.", "anna", "ru", frozenset[Role]())
    assert await cache.get(700, renamed) is None  # Telegram says something new: ask the desk
    await blocked.add(700)
    assert await cache.get(700, SEEN) is None  # she blocked the bot meanwhile
    assert await cache.get(700, SEEN) is None  # and stays forgotten until asked again
    cache.put(700, SEEN, ANNA)
    assert await cache.get(700, SEEN) == ANNA
    cache.forget(700)
    assert await cache.get(700, SEEN) is None


async def test_remembered_for_a_while_only(blocked: BlockedMarks) -> None:
    cache = ActorCache(blocked, ttl=0.0)
    cache.put(700, SEEN, ANNA)
    assert await cache.get(700, SEEN) is None


async def test_a_mark_made_by_another_replica_is_seen_after_its_next_look(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    await redis.delete(RedisBlocked.KEY)
    sender, other = RedisBlocked(redis), RedisBlocked(redis, refresh=0.2)
    try:
        assert not await other.take(700)  # looked: nothing marked
        await sender.add(700)  # the outbox sender got 403 from her
        # Between looks the other replica asks Redis nothing (one trip a second, not
        # one per update) and so does not know yet.
        assert not await other.take(700)
        await asyncio.sleep(0.25)
        assert await other.take(700)
        assert not await other.take(700)  # taken once, everywhere
        assert await redis.zcard(RedisBlocked.KEY) == 0
    finally:
        await redis.aclose()


async def test_old_marks_are_dropped(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    await redis.delete(RedisBlocked.KEY)
    now = [1_000_000.0]
    marks = RedisBlocked(redis, refresh=0, keep_for=120, clock=lambda: now[0])
    try:
        await marks.add(700)
        now[0] += 121  # no cached entry made before the mark lives this long
        assert not await marks.take(700)
        assert await redis.zcard(RedisBlocked.KEY) == 0
    finally:
        await redis.aclose()
