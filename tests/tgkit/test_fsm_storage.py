"""The FSM storage sends concurrent reads and writes together, and stores what aiogram's does."""

from __future__ import annotations

import asyncio
import datetime

from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis

from tgkit.fsm_storage import BatchedRedisStorage


class Form(StatesGroup):
    name = State()


def key(n: int) -> StorageKey:
    return StorageKey(bot_id=1, chat_id=n, user_id=n)


async def mget_calls(redis: Redis) -> int:
    stats = await redis.info("commandstats")
    return int(stats.get("cmdstat_mget", {}).get("calls", 0))


async def test_what_one_writes_the_other_reads(redis: Redis) -> None:
    builder = DefaultKeyBuilder(with_destiny=True)
    ours = BatchedRedisStorage(redis, key_builder=builder)
    theirs = RedisStorage(redis, key_builder=builder)
    await ours.set_state(key(1), Form.name)
    await ours.set_data(key(1), {"topic": "Не работает", "step": 2})
    assert await theirs.get_state(key(1)) == "Form:name"
    assert await theirs.get_data(key(1)) == {"topic": "Не работает", "step": 2}
    await theirs.set_state(key(2), "Form:name")
    await theirs.set_data(key(2), {"a": [1, 2]})
    assert await ours.get_state(key(2)) == "Form:name"
    assert await ours.get_data(key(2)) == {"a": [1, 2]}
    # Nothing left behind for no state and no data, as aiogram's storage leaves nothing.
    await ours.set_state(key(1), None)
    await ours.set_data(key(1), {})
    assert await redis.exists(builder.build(key(1), "state"), builder.build(key(1), "data")) == 0
    assert await ours.get_state(key(1)) is None
    assert await ours.get_data(key(1)) == {}


async def test_concurrent_reads_go_as_one_command_and_each_gets_its_own(redis: Redis) -> None:
    storage = BatchedRedisStorage(redis)
    await asyncio.gather(*(storage.set_data(key(n), {"n": n}) for n in range(100, 150)))
    before = await mget_calls(redis)
    values = await asyncio.gather(*(storage.get_data(key(n)) for n in range(100, 150)))
    assert values == [{"n": n} for n in range(100, 150)]
    assert await mget_calls(redis) - before == 1


async def test_written_with_the_storages_expiry(redis: Redis) -> None:
    storage = BatchedRedisStorage(redis, state_ttl=datetime.timedelta(minutes=5), data_ttl=60)
    await storage.set_state(key(3), Form.name)
    await storage.set_data(key(3), {"x": 1})
    builder = storage.key_builder
    assert 290 < await redis.ttl(builder.build(key(3), "state")) <= 300
    assert 50 < await redis.ttl(builder.build(key(3), "data")) <= 60
