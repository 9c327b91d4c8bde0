from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest_asyncio
import redis.asyncio as aioredis
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.client.telegram import TelegramAPIServer

from tgemulator.pytest_plugin import RunningEmulator, emulator

__all__ = ["emulator"]

BotFactory = Callable[..., Bot]


@pytest_asyncio.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest_asyncio.fixture
async def make_bot(emulator: RunningEmulator) -> AsyncIterator[BotFactory]:
    """Real aiogram Bots talking to the emulator through the given request middlewares
    (the first is the outermost)."""
    bots: list[Bot] = []

    def make(*middlewares: BaseRequestMiddleware, url: str | None = None) -> Bot:
        session = AiohttpSession(api=TelegramAPIServer.from_base(url or emulator.url))
        for middleware in middlewares:
            session.middleware(middleware)
        bot = Bot(emulator.token, session=session)
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        await bot.session.close()
