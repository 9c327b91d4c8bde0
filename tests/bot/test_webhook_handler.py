"""The webhook: no update before the dispatcher has started, an update journaled as it came,
and a busy process that holds Telegram's requests instead of refusing them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.types import Chat, Message, Update, User
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from bot import app as app_module
from bot.app import WEBHOOK_BACKLOG, WebhookHandler
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

    async def post(self, update_id: int, body: str | None = None) -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                self.server.make_url("/webhook"),
                data=body or update(update_id),
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": SECRET,
                },
            ) as response,
        ):
            return response.status, await response.text()


@contextlib.asynccontextmanager
async def serving(
    dispatcher: FlowDispatcher, *, started: bool, in_background: bool
) -> AsyncIterator[Served]:
    """The webhook of ``dispatcher`` on a test server; its handlers record what they got."""
    handled: list[int] = []

    async def record(message: Message) -> None:
        handled.append(message.message_id)

    dispatcher.message.register(record)
    bot = Bot("123456:TEST")
    start = asyncio.Event()
    if started:
        start.set()
    app = web.Application()
    WebhookHandler(
        dispatcher, bot, secret_token=SECRET, handle_in_background=in_background, started=start
    ).register(app, path="/webhook")
    server = TestServer(app)
    await server.start_server()
    try:
        yield Served(server, start, handled)
    finally:
        await server.close()
        await bot.session.close()


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    async with serving(
        FlowDispatcher(flow=UpdateFlow(10)), started=False, in_background=False
    ) as served:
        yield served


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
    # Telegram's own spacing and key order, which a re-dump of the parsed update would lose.
    body = update(7).replace(",", ", ")
    try:
        async with serving(dispatcher, started=True, in_background=True) as served:
            assert (await served.post(7, body))[0] == 200
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
        await dispatcher.journal.close()
        await redis.aclose()


class Blocking:
    """A dispatcher whose updates stay under way until let go."""

    def __init__(self, limit: int) -> None:
        self.dispatcher = FlowDispatcher(flow=UpdateFlow(limit))
        self.entered = asyncio.Event()
        self.go_on = asyncio.Event()

        async def hold(handler: Any, event: Any, data: Any) -> Any:
            self.entered.set()
            await self.go_on.wait()
            return await handler(event, data)

        self.dispatcher.message.outer_middleware(hold)

    async def under_way(self) -> None:
        async with asyncio.timeout(5):
            await self.entered.wait()

    async def finish(self) -> None:
        self.go_on.set()
        assert await self.dispatcher.flow.close(within=5)  # every update accepted ended


async def test_a_busy_webhook_holds_the_request_until_there_is_room() -> None:
    blocking = Blocking(limit=1)  # room for WEBHOOK_BACKLOG updates
    async with serving(blocking.dispatcher, started=True, in_background=True) as served:
        accepted = [await served.post(i) for i in range(1, WEBHOOK_BACKLOG + 1)]
        assert {status for status, _ in accepted} == {200}
        await blocking.under_way()
        held = asyncio.create_task(served.post(100))
        await asyncio.sleep(0.3)
        assert not held.done()  # not refused: Telegram waits and sends nothing else
        blocking.go_on.set()
        async with asyncio.timeout(5):
            assert (await held)[0] == 200
        await blocking.finish()
        assert sorted(served.handled) == [*range(1, WEBHOOK_BACKLOG + 1), 100]


async def test_a_request_held_too_long_or_at_a_stop_is_left_to_telegram(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(app_module, "WEBHOOK_HOLD_SECONDS", 0.2)
    blocking = Blocking(limit=1)
    async with serving(blocking.dispatcher, started=True, in_background=True) as served:
        for i in range(1, WEBHOOK_BACKLOG + 1):
            await served.post(i)
        await blocking.under_way()
        assert await served.post(100) == (503, "busy, send it again")
        monkeypatch.setattr(app_module, "WEBHOOK_HOLD_SECONDS", 30)
        held = asyncio.create_task(served.post(101))
        await asyncio.sleep(0.1)
        closing = asyncio.create_task(blocking.dispatcher.flow.close(within=5))
        async with asyncio.timeout(2):  # answered at the stop, not after its 30 s
            assert await held == (503, "stopping")
        blocking.go_on.set()
        assert await closing is True
        assert 100 not in served.handled and 101 not in served.handled
