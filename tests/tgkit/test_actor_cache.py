"""Who is acting is remembered briefly; a changed name, a block or a new language asks again."""

from __future__ import annotations

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
