"""tgkit.session.JsonSession against the emulator: what it sends, and what it reads back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import RestrictChatMember, SendMessage, SendPhoto
from aiogram.types import (
    BufferedInputFile,
    ChatPermissions,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

from tests.dialogs.images import png
from tgemulator.pytest_plugin import RunningEmulator
from tgemulator.state import User
from tgkit.session import JsonSession

KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="Взять в работу", callback_data="take:1042")]]
)


@pytest_asyncio.fixture
async def bot(emulator: RunningEmulator) -> AsyncIterator[Bot]:
    session = JsonSession(api=TelegramAPIServer.from_base(emulator.url))
    bot = Bot(
        emulator.token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
    )
    yield bot
    await session.close()


async def customer(emulator: RunningEmulator) -> User:
    person = emulator.people.user("Анна")
    await emulator.people.send(person, "/start")  # so that the bot may write to her
    return person


def last_call(emulator: RunningEmulator, method: str) -> dict[str, object]:
    return [call for call in emulator.world.calls if call.method == method][-1].params


async def test_a_message_goes_as_one_json_body_and_arrives_whole(
    emulator: RunningEmulator, bot: Bot
) -> None:
    person = await customer(emulator)
    chat = person.id
    text = "Заявка <b>CTV-1042</b> &amp; «кавычки» — принята"
    sent = await bot.send_message(chat, text, reply_markup=KEYBOARD, disable_notification=False)
    params = last_call(emulator, "sendMessage")
    # A form would carry every field as text; a JSON body keeps the keyboard an object.
    assert params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Взять в работу", "callback_data": "take:1042"}]]
    }
    assert params["parse_mode"] == "HTML"  # the bot's default, filled in
    assert params["chat_id"] == chat
    [stored] = emulator.people.bot_messages(person)
    assert stored.text == "Заявка CTV-1042 & «кавычки» — принята"
    assert stored.buttons[0]["callback_data"] == "take:1042"
    # The answer is read into aiogram's model, bound to the bot as the library's own would be.
    assert sent.message_id == stored.message_id
    assert sent.text == stored.text
    assert sent.bot is bot


async def test_a_call_with_a_file_goes_the_librarys_way(
    emulator: RunningEmulator, bot: Bot
) -> None:
    chat = (await customer(emulator)).id
    photo = BufferedInputFile(png((64, 48)), filename="chart.png")
    assert bot.session.json_body(bot, SendPhoto(chat_id=chat, photo=photo)) is None  # type: ignore[attr-defined]
    sent = await bot.send_photo(chat, photo, caption="Сводка за неделю")
    params = last_call(emulator, "sendPhoto")
    assert params["caption"] == "Сводка за неделю"
    assert sent.photo


async def test_an_empty_text_field_is_left_out_as_the_form_leaves_it(bot: Bot) -> None:
    body = bot.session.json_body(bot, SendMessage(chat_id=1, text="x", business_connection_id=""))  # type: ignore[attr-defined]
    assert body is not None and "business_connection_id" not in body


async def test_refusals_keep_their_exception_and_text(emulator: RunningEmulator, bot: Bot) -> None:
    chat = (await customer(emulator)).id
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(chat + 999_999, "кому?")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(chat, "")
    [violation] = emulator.take_violations()  # the empty text, provoked here
    assert "text is empty" in str(violation)


async def test_the_body_holds_what_the_librarys_preparation_gives(bot: Bot) -> None:
    """The shortcut for plain values changes nothing: the same fields as aiogram's own
    ``prepare_value`` gives, with defaults, enums, dates and nested models among them."""
    session = bot.session
    assert isinstance(session, JsonSession)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="P1", callback_data="prio:1:1042"),
                InlineKeyboardButton(text="Ссылка", url="https://example.com/?a=1&b=2"),
            ],
            [InlineKeyboardButton(text="", callback_data="x")],
        ]
    )
    calls = [
        SendMessage(chat_id=-1001, text="Карточка", reply_markup=keyboard, message_thread_id=7),
        SendMessage(chat_id="@desk", text="1.5", parse_mode=ParseMode.MARKDOWN_V2),
        SendMessage(chat_id=1, text="x", disable_notification=True, protect_content=False),
        RestrictChatMember(
            chat_id=-1001,
            user_id=5,
            permissions=ChatPermissions(can_send_messages=False),
            until_date=datetime(2026, 12, 1, tzinfo=UTC),
        ),
    ]
    for call in calls:
        files: dict[str, object] = {}
        expected = {
            key: prepared
            for key, value in call.model_dump(warnings=False, exclude_none=True).items()
            if (prepared := session.prepare_value(value, bot, files, _dumps_json=False))
            not in (None, "")
        }
        body = session.json_body(bot, call)
        assert body is not None
        assert json.loads(body) == json.loads(json.dumps(expected))
