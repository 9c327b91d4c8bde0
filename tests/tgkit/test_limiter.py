"""The limiter against the emulator's flood limits, in process and shared through Redis."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
import redis.asyncio as aioredis
from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from bot.app import build_bot
from bot.settings import Settings
from tgemulator import RunningEmulator
from tgkit.calls import CallMetrics
from tgkit.limiter import Limiter, LimiterMiddleware, Limits, Priority, counts, priority
from tgkit.retry import RetryMiddleware

from .conftest import BotFactory

SPEED = 20.0  # the emulator's clock runs this much faster; the limiter's limits too


def test_what_counts() -> None:
    for method in ("sendMessage", "sendMediaGroup", "copyMessage", "forwardMessages"):
        assert counts(method)
    for method in ("editMessageText", "editMessageReplyMarkup", "stopPoll"):
        assert counts(method)
    for method in ("sendChatAction", "getMe", "deleteMessage", "editForumTopic"):
        assert not counts(method)


def refusals(emulator: RunningEmulator) -> int:
    return len(emulator.world.limiter.hits)


async def started_users(emulator: RunningEmulator, count: int) -> list[int]:
    ids = []
    for i in range(count):
        person = emulator.people.user(f"P{i}")
        await emulator.people.send(person, "hi")
        ids.append(person.id)
    return ids


async def test_a_burst_to_a_private_chat_and_a_group_meets_no_429(
    emulator: RunningEmulator, make_bot: BotFactory, redis: aioredis.Redis
) -> None:
    world = emulator.world
    world.limits.enabled = True
    world.clock.speed = SPEED
    [chat] = await started_users(emulator, 1)
    group = emulator.people.group("Backoffice").id
    # The margin (real seconds) absorbs the time between the limiter's grant and the
    # emulator's count of the call: at 0.04 s a loaded two-core machine met a 429 (CI).
    limiter = Limiter(redis, Limits(margin=0.1).faster(SPEED))
    bot = make_bot(LimiterMiddleware(limiter))

    async def burst(chat_id: int, count: int) -> None:
        await asyncio.gather(*(bot.send_message(chat_id, f"m{i}") for i in range(count)))

    started = time.monotonic()
    await asyncio.gather(burst(chat, 60), burst(group, 30))
    elapsed = time.monotonic() - started
    assert refusals(emulator) == 0
    assert len(emulator.people.bot_messages(chat)) == 60
    assert len(emulator.people.bot_messages(group)) == 30
    # 57 sends after the burst of 3 at (1 s + margin) each, in emulated seconds; the
    # group's 20 per minute alone would allow its 30 in a little over one minute.
    assert elapsed * SPEED >= 57


async def test_replicas_sharing_redis_keep_the_global_limit(
    emulator: RunningEmulator, make_bot: BotFactory, redis: aioredis.Redis
) -> None:
    world = emulator.world
    world.limits.enabled = True
    world.limits.global_per_second = 20
    chats = await started_users(emulator, 60)
    # The margin absorbs the time between the limiter's grant and the emulator's count
    # of the call; on a loaded two-core machine that exceeded 0.05 s (CI saw a 429).
    limits = Limits(global_count=20, margin=0.25)
    replicas = [make_bot(LimiterMiddleware(Limiter(redis, limits))) for _ in range(2)]

    async def replica(bot: Bot, chat_ids: list[int]) -> None:
        await asyncio.gather(*(bot.send_message(c, "notice") for c in chat_ids))

    started = time.monotonic()
    await asyncio.gather(replica(replicas[0], chats[:30]), replica(replicas[1], chats[30:]))
    elapsed = time.monotonic() - started
    assert refusals(emulator) == 0
    assert sum(len(emulator.people.bot_messages(c)) for c in chats) == 60
    assert elapsed >= 2.0  # three windows of 20


async def test_replicas_with_their_own_limiters_overrun_it(
    emulator: RunningEmulator, make_bot: BotFactory
) -> None:
    """The control for the test above: without Redis each replica spends the budget alone."""
    world = emulator.world
    world.limits.enabled = True
    world.limits.global_per_second = 20
    chats = await started_users(emulator, 40)
    limits = Limits(global_count=20, margin=0.05)
    replicas = [make_bot(LimiterMiddleware(Limiter(None, limits))) for _ in range(2)]
    answers = await asyncio.gather(
        *(replicas[i % 2].send_message(c, "notice") for i, c in enumerate(chats)),
        return_exceptions=True,
    )
    refused = [a for a in answers if isinstance(a, TelegramRetryAfter)]
    assert refused and refusals(emulator) == len(refused)


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "redis"])
async def test_urgent_waiters_go_first_when_the_global_budget_is_spent(
    shared: bool, redis: aioredis.Redis
) -> None:
    limits = Limits(global_count=1, global_window=0.2, margin=0.02)
    limiter = Limiter(redis if shared else None, limits)
    await limiter.acquire(1)  # the budget for the next 0.22 s is spent
    order: list[str] = []

    async def send(name: str, chat_id: int, level: Priority) -> None:
        with priority(level):
            await limiter.acquire(chat_id)
        order.append(name)

    tasks = [asyncio.create_task(send("digest", 2, Priority.BACKGROUND))]
    await asyncio.sleep(0.05)  # the digest is first in line
    tasks.append(asyncio.create_task(send("reply", 3, Priority.CUSTOMER)))
    tasks.append(asyncio.create_task(send("P1 card", -4, Priority.URGENT)))
    await asyncio.gather(*tasks)
    assert order == ["P1 card", "reply", "digest"]


async def test_a_429_blocks_the_chat_for_every_replica(
    emulator: RunningEmulator, make_bot: BotFactory, redis: aioredis.Redis
) -> None:
    world = emulator.world
    world.limits.enabled = True
    world.limits.per_chat_burst = 1  # tighter than the limiter believes
    ann, bob = await started_users(emulator, 2)
    limiter = Limiter(redis, Limits(chat_burst=3))
    bot = make_bot(LimiterMiddleware(limiter))
    await bot.send_message(ann, "one")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(ann, "two")
    other_replica = Limiter(redis, Limits(chat_burst=3))
    assert await other_replica.acquire(bob) < 0.1
    assert await other_replica.acquire(ann) >= 0.8  # the 429 said 1 s


async def test_while_redis_is_down_the_limiter_paces_in_process() -> None:
    """A Redis outage must not silence the bot: sends still go, still paced."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once the socket closes
    down = aioredis.Redis(host="127.0.0.1", port=port, retry=Retry(NoBackoff(), 0))
    try:
        limiter = Limiter(down, Limits(chat_burst=2))
        waits = [await limiter.acquire(777) for _ in range(3)]
        assert waits[0] < 0.1 and waits[1] < 0.1
        assert waits[2] >= 0.5  # the third waits for the chat's pace, as with Redis
        await limiter.penalize(777, 1)
        assert await limiter.acquire(777) >= 0.8
    finally:
        await down.aclose()


async def test_build_bot_retries_and_paces_for_real(
    emulator: RunningEmulator, redis_url: str
) -> None:
    """Telegram's own numbers, real time, the bot as the process builds it."""
    world = emulator.world
    world.limits.enabled = True
    [chat] = await started_users(emulator, 1)
    group = emulator.people.group("Backoffice").id
    settings = Settings(
        bot_token=emulator.token,
        telegram_api_url=emulator.url,
        backoffice_chat_id=group,
        database_url="sqlite+aiosqlite:///unused.sqlite3",
        redis_url=redis_url,
    )
    redis = aioredis.Redis.from_url(redis_url)
    bot = build_bot(settings, redis)
    kinds = [type(m) for m in bot.session.middleware._middlewares]
    # Every retry is paced, and every paced attempt is counted.
    assert kinds == [RetryMiddleware, LimiterMiddleware, CallMetrics]
    try:
        started = time.monotonic()
        await asyncio.gather(
            *(bot.send_message(chat, f"m{i}") for i in range(6)),
            *(bot.send_message(group, f"card {i}") for i in range(5)),
        )
        elapsed = time.monotonic() - started
    finally:
        await bot.session.close()
        await redis.aclose()
    assert refusals(emulator) == 0
    assert len(emulator.people.bot_messages(chat)) == 6
    assert 3.0 <= elapsed < 6.0  # three sends after the burst of three, 1.1 s apart
