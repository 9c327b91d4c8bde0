"""A minimal aiogram bot driven through the emulator, by long polling and by webhook."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter
from aiogram.filters import CommandStart
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from tgemulator import RunningEmulator, make_image


@dataclass
class TinyBot:
    bot: Bot
    dispatcher: Dispatcher
    downloads: dict[str, bytes] = field(default_factory=dict)


def make_tiny_bot(emulator: RunningEmulator) -> TinyBot:
    bot = Bot(emulator.token, session=AiohttpSession(api=TelegramAPIServer.from_base(emulator.url)))
    dispatcher = Dispatcher()
    tiny = TinyBot(bot, dispatcher)

    @dispatcher.message(CommandStart())
    async def start(message: Message) -> None:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(text="Call", callback_data="call"),
                    InlineKeyboardButton(text="Visit", callback_data="visit"),
                ]
            ]
        )
        await message.answer("<b>Welcome</b> to the desk", parse_mode="HTML", reply_markup=keyboard)

    @dispatcher.callback_query(F.data == "call")
    async def call(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        await query.message.edit_text("We will call you")
        await query.answer("Noted", show_alert=True)

    @dispatcher.message(F.photo)
    async def photo(message: Message) -> None:
        assert message.photo is not None
        largest = message.photo[-1]
        buffer = await message.bot.download(largest) if message.bot else None
        assert buffer is not None
        tiny.downloads[largest.file_id] = buffer.read()
        await message.answer(f"Got {largest.width}x{largest.height}")

    return tiny


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def run_polling(tiny: TinyBot) -> AsyncIterator[None]:
    task = asyncio.create_task(
        tiny.dispatcher.start_polling(tiny.bot, handle_signals=False, polling_timeout=5)
    )
    try:
        yield
    finally:
        await tiny.dispatcher.stop_polling()
        await task


@contextlib.asynccontextmanager
async def run_webhook(tiny: TinyBot, emulator: RunningEmulator) -> AsyncIterator[None]:
    secret = secrets.token_urlsafe(16)
    app = web.Application()
    SimpleRequestHandler(tiny.dispatcher, tiny.bot, secret_token=secret).register(
        app, path="/webhook"
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await tiny.bot.set_webhook(f"http://127.0.0.1:{port}/webhook", secret_token=secret)
    try:
        yield
    finally:
        await tiny.bot.delete_webhook()
        await runner.cleanup()


@pytest_asyncio.fixture(params=["polling", "webhook"])
async def tiny_bot(
    emulator: RunningEmulator, request: pytest.FixtureRequest
) -> AsyncIterator[TinyBot]:
    tiny = make_tiny_bot(emulator)
    runner = run_polling(tiny) if request.param == "polling" else run_webhook(tiny, emulator)
    try:
        async with runner:
            yield tiny
    finally:
        await tiny.bot.session.close()


async def test_start_button_press_and_photo(emulator: RunningEmulator, tiny_bot: TinyBot) -> None:
    people = emulator.people
    ann = people.user("Ann", username="ann", language_code="uk")

    await people.command(ann, "start")
    welcome = await people.wait_for_message(ann)
    assert welcome.text == "Welcome to the desk"
    assert welcome.data["entities"] == [{"offset": 0, "length": 7, "type": "bold"}]
    assert [b["text"] for b in welcome.buttons] == ["Call", "Visit"]

    press = await people.press(ann, welcome, text="Call")
    answer = await press.answer()
    assert answer["text"] == "Noted"
    assert answer["show_alert"] is True
    edited = people.bot_messages(ann)[0]
    assert edited.text == "We will call you"
    assert edited.buttons == []
    assert edited.history[0]["text"] == "Welcome to the desk"

    image = make_image(1000, 600)
    sent = await people.send_photo(ann, image, caption="my meter")
    reply = await people.wait_for_message(ann, after=sent)
    assert reply.text == "Got 1000x600"
    largest = sent.data["photo"][-1]
    assert tiny_bot.downloads[largest["file_id"]] == image
    assert [p["width"] for p in sent.data["photo"]] == [90, 320, 800, 1000]


async def test_bot_sends_and_reuses_files(emulator: RunningEmulator, tiny_bot: TinyBot) -> None:
    ann = emulator.people.user("Ann")
    await emulator.people.send(ann, "hello")
    image = make_image(50, 40)
    first = await tiny_bot.bot.send_photo(ann.id, BufferedInputFile(image, "p.png"), caption="one")
    assert first.photo is not None
    assert (first.photo[-1].width, first.photo[-1].height) == (50, 40)
    again = await tiny_bot.bot.send_photo(ann.id, first.photo[-1].file_id)
    assert again.photo is not None
    assert again.photo[-1].file_id == first.photo[-1].file_id
    document = await tiny_bot.bot.send_document(
        ann.id,
        BufferedInputFile(b"%PDF-1.4 fake", "act.pdf"),
        caption="<i>act</i>",
        parse_mode="HTML",
    )
    assert document.document is not None
    assert document.document.file_name == "act.pdf"
    downloaded = await tiny_bot.bot.download(document.document.file_id)
    assert downloaded is not None
    assert downloaded.read() == b"%PDF-1.4 fake"
    from aiogram.types import InputMediaPhoto

    album = await tiny_bot.bot.send_media_group(
        ann.id,
        [
            InputMediaPhoto(media=BufferedInputFile(make_image(10, 10), "a.png"), caption="a"),
            InputMediaPhoto(media=first.photo[-1].file_id),
        ],
    )
    assert len({m.media_group_id for m in album}) == 1
    assert [m.caption for m in album] == ["a", None]
    copied = await tiny_bot.bot.copy_message(ann.id, ann.id, document.message_id)
    copy_seen = emulator.world.find_message(ann.id, copied.message_id)
    assert copy_seen is not None
    assert copy_seen.data["document"]["file_id"] == document.document.file_id


async def test_blocked_user_gives_403(emulator: RunningEmulator, tiny_bot: TinyBot) -> None:
    bob = emulator.people.user("Bob")
    await emulator.people.send(bob, "hi")
    await emulator.people.block(bob)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await tiny_bot.bot.send_message(bob.id, "are you there?")


async def test_flood_limit_then_retry_after_is_honoured(
    emulator: RunningEmulator, tiny_bot: TinyBot
) -> None:
    world = emulator.world
    world.limits.enabled = True
    ann = emulator.people.user("Ann")
    await emulator.people.send(ann, "hi")
    sent = 0
    with pytest.raises(TelegramRetryAfter) as caught:
        for _ in range(10):
            await tiny_bot.bot.send_message(ann.id, "spam")
            sent += 1
    assert sent == world.limits.per_chat_burst
    assert caught.value.retry_after >= 1
    # The fake clock stands in for waiting retry_after seconds.
    world.clock.advance(caught.value.retry_after)
    await tiny_bot.bot.send_message(ann.id, "after waiting")
    assert emulator.people.last_bot_message(ann) is not None
