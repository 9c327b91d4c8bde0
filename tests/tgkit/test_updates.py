"""Each update handled once; a failure lets it be handled again; passing faults are retried."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey
from aiogram.types import Chat, Message, Update, User
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from tgkit.flow import FlowDispatcher, UpdateFlow
from tgkit.updates import (
    DONE,
    IN_PROGRESS_SECONDS,
    SEEN_FOR_SECONDS,
    MemorySeen,
    Orphans,
    RedisSeen,
    SeenUpdates,
    UpdateGuard,
    note_commit,
)


def update(update_id: int, text: str = "hi") -> Update:
    message = Message(
        message_id=update_id,
        date=datetime.now(UTC),
        chat=Chat(id=5, type="private"),
        from_user=User(id=5, is_bot=False, first_name="Ann"),
        text=text,
    )
    return Update(update_id=update_id, message=message)


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    bot = Bot("123456:guard-test")  # the handlers here never call Telegram
    yield bot
    await bot.session.close()


@pytest.fixture(params=["memory", "redis"])
async def seen(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[SeenUpdates]:
    if request.param == "memory":
        yield MemorySeen()
        return
    redis = Redis.from_url(redis_url)
    yield RedisSeen(redis)
    await redis.aclose()


class Handler:
    def __init__(self, failures: list[Exception] | None = None, commit_first: bool = False) -> None:
        self.failures = failures or []
        self.commit_first = commit_first
        self.calls: list[str] = []

    async def handle(self, message: Message) -> None:
        self.calls.append(message.text or "")
        if self.commit_first:
            note_commit()  # as the desk does after a commit
        if self.failures:
            raise self.failures.pop(0)


def dispatcher(seen: SeenUpdates, handler: Handler) -> Dispatcher:
    dp = Dispatcher()
    dp.update.outer_middleware(UpdateGuard(seen, backoff=0.01))
    dp.message.register(handler.handle)
    return dp


async def journal_keys(redis: Redis, journals: str) -> list[bytes]:
    """The journals under ``journals``, not their "alive" marks. (A pattern like
    ``journals[^a]*`` also skipped the one journal whose owner's hex id began with "a".)"""
    return [
        key
        async for key in redis.scan_iter(match=f"{journals}*")
        if not key.decode().startswith(f"{journals}alive:")
    ]


async def test_a_resent_update_is_handled_once(bot: Bot, seen: SeenUpdates) -> None:
    handler = Handler()
    dp = dispatcher(seen, handler)
    await dp.feed_update(bot, update(1001))
    await dp.feed_update(bot, update(1001))
    await dp.feed_update(bot, update(1002))
    assert handler.calls == ["hi", "hi"]


async def test_a_failed_update_is_handled_again_when_resent(bot: Bot, seen: SeenUpdates) -> None:
    handler = Handler(failures=[ValueError("a bug")])
    dp = dispatcher(seen, handler)
    with pytest.raises(ValueError):
        await dp.feed_update(bot, update(2001))
    assert handler.calls == ["hi"]  # a bug is not retried on the spot
    await dp.feed_update(bot, update(2001))
    assert handler.calls == ["hi", "hi"]


async def test_a_lost_connection_is_retried_while_nothing_was_committed(
    bot: Bot, seen: SeenUpdates
) -> None:
    handler = Handler(failures=[RedisConnectionError("reset"), RedisConnectionError("reset")])
    dp = dispatcher(seen, handler)
    await dp.feed_update(bot, update(3001))
    assert handler.calls == ["hi"] * 3


async def test_no_retry_once_the_desk_committed(bot: Bot, seen: SeenUpdates) -> None:
    handler = Handler(failures=[RedisConnectionError("reset")], commit_first=True)
    dp = dispatcher(seen, handler)
    with pytest.raises(RedisConnectionError):
        await dp.feed_update(bot, update(4001))
    assert handler.calls == ["hi"]


async def test_retries_are_bounded(bot: Bot, seen: SeenUpdates) -> None:
    handler = Handler(failures=[RedisConnectionError("down")] * 5)
    dp = dispatcher(seen, handler)
    with pytest.raises(RedisConnectionError):
        await dp.feed_update(bot, update(5001))
    assert len(handler.calls) == 3


async def test_redis_marks_are_short_while_handled_then_long(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    try:
        seen = RedisSeen(redis)
        assert await seen.first_sight(6001)
        assert not await seen.first_sight(6001)
        assert 0 < await redis.ttl("ctv:update:6001") <= IN_PROGRESS_SECONDS
        await seen.done(6001)
        assert await redis.ttl("ctv:update:6001") > SEEN_FOR_SECONDS - 60
        await seen.forget(6001)
        assert await seen.first_sight(6001)
    finally:
        await redis.aclose()


async def test_an_update_of_a_process_that_died_is_handled_again_soon(redis_url: str) -> None:
    """kill -9 mid-update: its mark lapses, so the redelivery is handled, not dropped."""
    redis = Redis.from_url(redis_url)
    dead, alive = RedisSeen(redis, in_progress=0.6), RedisSeen(redis, in_progress=0.6)
    try:
        assert await dead.first_sight(8001)
        await dead.close()  # it stops renewing, as a killed process does
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await alive.first_sight(8001)
        assert loop.time() - started < 1.5
        await alive.done(8001)
        assert not await RedisSeen(redis).first_sight(8001)
    finally:
        await alive.close()
        await redis.aclose()


async def test_a_live_process_keeps_its_update_and_the_redelivery_is_a_duplicate(
    redis_url: str,
) -> None:
    redis = Redis.from_url(redis_url)
    owner, other = RedisSeen(redis, in_progress=0.6), RedisSeen(redis, in_progress=0.6)
    try:
        assert await owner.first_sight(8101)
        waiting = asyncio.create_task(other.first_sight(8101))
        await asyncio.sleep(1.5)  # well past one mark's life: only renewal keeps it
        assert not waiting.done()
        await owner.done(8101)
        assert await asyncio.wait_for(waiting, 2) is False
    finally:
        await owner.close()
        await redis.aclose()


async def test_without_redis_marks_are_kept_in_memory() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once the socket closes
    redis = Redis(host="127.0.0.1", port=port, retry=Retry(NoBackoff(), 0))
    seen = RedisSeen(redis)
    try:
        assert await seen.first_sight(8201)
        assert not await seen.first_sight(8201)
        await seen.done(8201)
        await seen.forget(8201)
        assert await seen.first_sight(8201)
    finally:
        await seen.close()
        await redis.aclose()


async def test_the_updates_of_a_killed_process_are_adopted_and_handled_once(
    bot: Bot, redis_url: str
) -> None:
    """Telegram had its answer (the update was confirmed) before the process died: only
    the journal in Redis still has the update, and a survivor handles it."""
    redis = Redis.from_url(redis_url)
    journals = f"test:{uuid.uuid4().hex}:"
    dead = RedisSeen(redis, in_progress=0.6, journals=journals)
    survivor = RedisSeen(redis, in_progress=0.6, journals=journals)
    try:
        lost = update(9001, "lost in the crash")
        assert await dead.keep(9001, lost.model_dump_json(by_alias=True))
        assert await dead.first_sight(9001)
        await dead.close()  # killed: no renewal, no done
        assert await survivor.adopt_orphans() == []  # not before its owner is overdue
        await asyncio.sleep(0.8)
        handler = Handler()
        flow = FlowDispatcher(flow=UpdateFlow(4))
        flow.update.outer_middleware(UpdateGuard(survivor, backoff=0.01))
        flow.message.register(handler.handle)
        flow.journal = survivor
        orphans = Orphans(survivor, flow, bot)
        await orphans.adopt()
        await orphans.wait(5)
        assert handler.calls == ["lost in the crash"]
        await orphans.adopt()  # nothing is adopted twice
        await orphans.wait(5)
        assert handler.calls == ["lost in the crash"]
        assert await journal_keys(redis, journals) == []
    finally:
        await survivor.close()
        await redis.aclose()


async def test_an_update_leaves_the_journal_whatever_came_of_it(bot: Bot, redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    journals = f"test:{uuid.uuid4().hex}:"
    seen = RedisSeen(redis, journals=journals)
    try:
        handler = Handler(failures=[ValueError("a bug")])
        flow = FlowDispatcher(flow=UpdateFlow(4))
        flow.update.outer_middleware(UpdateGuard(seen, backoff=0.01))
        flow.message.register(handler.handle)
        flow.journal = seen
        with pytest.raises(ValueError):
            await flow.feed_update(bot, update(9101))  # failed
        await flow.feed_update(bot, update(9102))  # handled
        await flow.feed_update(bot, update(9102))  # a duplicate
        assert handler.calls == ["hi", "hi"]
        assert await journal_keys(redis, journals) == []
    finally:
        await seen.close()
        await redis.aclose()


async def test_memory_keeps_the_newest_ids() -> None:
    seen = MemorySeen(size=2)
    for update_id in (1, 2, 3):
        await seen.first_sight(update_id)
    assert [await seen.first_sight(i) for i in (2, 3, 1)] == [False, False, True]


async def test_one_update_fed_twice_stays_journaled_until_both_are_done(redis_url: str) -> None:
    """Telegram's copy and an adopted copy may meet in one process."""
    redis = Redis.from_url(redis_url)
    journals = f"test:{uuid.uuid4().hex}:"
    seen = RedisSeen(redis, journals=journals)
    try:
        assert await seen.keep(9201, "{}") and await seen.keep(9201, "{}")
        await seen.release(9201)
        assert await journal_keys(redis, journals) != []
        await seen.release(9201)
        assert await journal_keys(redis, journals) == []
    finally:
        await seen.close()
        await redis.aclose()


class FlakyIsolation(BaseEventIsolation):
    """A chat's turn in Redis while Redis restarts: the first attempt fails."""

    def __init__(self) -> None:
        self.failures = 1

    @contextlib.asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        if self.failures:
            self.failures -= 1
            raise RedisConnectionError("Connection refused")
        yield

    async def close(self) -> None:
        return None


async def test_a_chats_turn_that_fails_to_be_taken_is_retried_by_the_guard(bot: Bot) -> None:
    handler = Handler()
    flow = FlowDispatcher(
        flow=UpdateFlow(4),
        guard=UpdateGuard(MemorySeen(), backoff=0.01),
        events_isolation=FlakyIsolation(),
    )
    flow.message.register(handler.handle)
    await flow.feed_update(bot, update(9301))
    assert handler.calls == ["hi"]


async def test_an_orphan_older_than_what_its_chat_did_since_is_not_played(
    bot: Bot, redis_url: str
) -> None:
    """Played late, an old step would send the person's dialog back (seen: an intake
    started over and filed twice)."""
    redis = Redis.from_url(redis_url)
    journals = f"test:{uuid.uuid4().hex}:"
    dead = RedisSeen(redis, in_progress=0.6, journals=journals, prefix="test:seen:")
    survivor = RedisSeen(redis, in_progress=0.6, journals=journals, prefix="test:seen:")
    try:
        old = update(9401, "an old step")
        assert await dead.keep(9401, old.model_dump_json(by_alias=True))
        await dead.close()
        handler = Handler()
        flow = FlowDispatcher(flow=UpdateFlow(4), guard=UpdateGuard(survivor, backoff=0.01))
        flow.message.register(handler.handle)
        flow.journal = survivor
        await flow.feed_update(bot, update(9402, "what the person did next"))
        await asyncio.sleep(0.8)
        orphans = Orphans(survivor, flow, bot)
        await orphans.adopt()
        await orphans.wait(5)
        assert handler.calls == ["what the person did next"]
        assert await journal_keys(redis, journals) == []
    finally:
        await survivor.close()
        await redis.aclose()


async def test_a_stop_that_cancels_an_update_as_it_is_marked_done_keeps_the_mark(
    bot: Bot, redis_url: str
) -> None:
    """The handler has answered: the next process, finding the update in the journal,
    must see it done (a forgotten mark would have it answered twice)."""

    class SlowToMark(RedisSeen):
        marking = asyncio.Event()

        async def done(self, update_id: int, chat: int | None = None) -> None:
            self.marking.set()
            await asyncio.sleep(0.2)  # a Redis trip under load
            await super().done(update_id, chat)

    redis = Redis.from_url(redis_url)
    prefix = f"test:{uuid.uuid4().hex}:"
    seen = SlowToMark(redis, prefix=prefix)
    handler = Handler()
    try:
        task = asyncio.create_task(dispatcher(seen, handler).feed_update(bot, update(31)))
        async with asyncio.timeout(5):
            await seen.marking.wait()
        task.cancel()  # the drain ran out (tgkit.flow.UpdateFlow.close)
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.4)
        assert handler.calls == ["hi"]
        assert await redis.get(f"{prefix}31") == DONE.encode()
    finally:
        await seen.close()
        await redis.aclose()
