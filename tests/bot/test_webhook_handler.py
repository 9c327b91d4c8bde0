"""The webhook: no update before the dispatcher has started, and an update journaled as it came."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
from aiogram import Bot
from aiogram.types import Chat, Message, Update, User
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from bot.app import WebhookHandler
from tgkit.flow import FlowDispatcher, UpdateFlow
from tgkit.updates import RedisSeen

SECRET = "webhook-secret"


def update(update_id: int) -> str:
    message = Message(
        message_id=update_id,
        date=datetime.now(UTC),
        chat=Chat(id=42, type="private"),
        from_user=User(id=42, is_bot=False, first_name="Ann"),
        text="hi",
    )
    return Update(update_id=update_id, message=message).model_dump_json(exclude_none=True)


class Served:
    def __init__(self, server: TestServer, started: asyncio.Event, handled: list[int]) -> None:
        self.server = server
        self.started = started
        self.handled = handled

    async def post(self, update_id: int) -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                self.server.make_url("/webhook"),
                data=update(update_id),
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": SECRET,
                },
            ) as response,
        ):
            return response.status, await response.text()


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    handled: list[int] = []
    dispatcher = FlowDispatcher(flow=UpdateFlow(10))

    async def record(message: Message) -> None:
        handled.append(message.message_id)

    dispatcher.message.register(record)
    bot = Bot("123456:TEST")
    started = asyncio.Event()
    app = web.Application()
    WebhookHandler(
        dispatcher, bot, secret_token=SECRET, handle_in_background=False, started=started
    ).register(app, path="/webhook")
    server = TestServer(app)
    await server.start_server()
    yield Served(server, started, handled)
    await server.close()
    await bot.session.close()


async def test_an_update_before_the_start_is_left_to_telegram(served: Served) -> None:
    status, text = await served.post(1)
    assert (status, text) == (503, "starting, send it again")
    assert served.handled == []  # nothing of it ran: Telegram sends it again later
    served.started.set()
    status, _ = await served.post(1)
    assert status == 200
    assert served.handled == [1]


async def test_an_update_is_journaled_as_telegram_sent_it(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    dispatcher = FlowDispatcher(flow=UpdateFlow(10))
    dispatcher.journal = RedisSeen(redis, journals="test:inflight:")
    inside = asyncio.Event()
    go_on = asyncio.Event()

    async def hold(message: Message) -> None:
        inside.set()
        await go_on.wait()

    dispatcher.message.register(hold)
    bot = Bot("123456:TEST")
    started = asyncio.Event()
    started.set()
    app = web.Application()
    WebhookHandler(dispatcher, bot, secret_token=SECRET, started=started).register(
        app, path="/webhook"
    )
    server = TestServer(app)
    await server.start_server()
    # Telegram's own spacing and key order, which a re-dump of the parsed update would lose.
    body = update(7).replace(",", ", ")
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(
                server.make_url("/webhook"),
                data=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": SECRET,
                },
            ) as response:
                assert response.status == 200
            async with asyncio.timeout(5):
                await inside.wait()
            journals = [
                name for name in await redis.keys("test:inflight:*") if b"alive" not in name
            ]
            assert len(journals) == 1
            assert await redis.hgetall(journals[0]) == {b"7": body.encode()}
            go_on.set()
            for _ in range(100):  # handled: out of the journal
                if not await redis.hlen(journals[0]):
                    break
                await asyncio.sleep(0.05)
            assert await redis.hlen(journals[0]) == 0
    finally:
        go_on.set()
        await server.close()
        await bot.session.close()
        await dispatcher.journal.close()
        await redis.aclose()
