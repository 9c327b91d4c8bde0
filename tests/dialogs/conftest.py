"""The real Dispatcher (bot.app.build_dispatcher) with aiogram-dialog's test tools.

Dialog messages go to a MockMessageManager; what handlers send themselves
(the clean copy of a screenshot, callback answers, reminders) goes to a
recording bot. The FSM storage is JsonMemoryStorage, which fails on dialog
data Redis could not store.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from aiogram import Dispatcher
from aiogram.fsm.storage.base import BaseStorage
from aiogram.methods import (
    AnswerCallbackQuery,
    SendDocument,
    SendMessage,
    TelegramMethod,
)
from aiogram.types import (
    Chat,
    Contact,
    Document,
    InlineKeyboardMarkup,
    Location,
    Message,
    PhotoSize,
    Sticker,
    Update,
    User,
    Voice,
)
from aiogram_dialog.test_tools import BotClient, MockMessageManager
from aiogram_dialog.test_tools.bot_client import FakeBot
from aiogram_dialog.test_tools.keyboard import InlineButtonTextLocator
from aiogram_dialog.test_tools.memory_storage import JsonMemoryStorage

import dialogs
from bot.app import build_dispatcher
from bot.settings import Settings
from desk.service import Desk
from dialogs.drafts import IdleReminder, MemoryDraftActivity
from locales import Texts
from storage.db import SessionFactory
from tests.conftest import BACKOFFICE_CHAT_ID

RU = Texts("ru")
CHAT_ID = USER_ID = 700_001


class RecordingBot(FakeBot):
    """Answers the few Bot API calls handlers make themselves, and remembers them."""

    def __init__(self) -> None:
        self.calls: list[TelegramMethod[Any]] = []
        self.files: dict[str, bytes] = {}
        self.downloads: list[str] = []
        self._next_id = 10_000

    def _message(self, chat_id: int | str, **content: Any) -> Message:
        self._next_id += 1
        return Message(
            message_id=self._next_id,
            date=datetime.now(),
            chat=Chat(id=int(chat_id), type="private"),
            from_user=User(id=1, is_bot=True, first_name="Desk"),
            **content,
        )

    async def __call__(
        self, method: TelegramMethod[Any], request_timeout: int | None = None
    ) -> Any:
        self.calls.append(method)
        if isinstance(method, AnswerCallbackQuery):
            return True
        if isinstance(method, SendMessage):
            return self._message(method.chat_id, text=method.text, reply_markup=method.reply_markup)
        if isinstance(method, SendDocument):
            number = len(self.sent(SendDocument))
            return self._message(
                method.chat_id,
                caption=method.caption,
                document=Document(file_id=f"clean-{number}", file_unique_id=f"clean-u{number}"),
            )
        raise AssertionError(f"unexpected Bot API call {type(method).__name__}")

    async def download(self, file: Any, destination: Any = None, **_: Any) -> io.BytesIO:
        file_id = file if isinstance(file, str) else file.file_id
        self.downloads.append(file_id)
        return io.BytesIO(self.files[file_id])

    def sent(self, kind: type[TelegramMethod[Any]]) -> list[Any]:
        return [call for call in self.calls if isinstance(call, kind)]


@dataclass
class TickingClock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Customer:
    """A customer in a private chat, and what they see."""

    client: BotClient
    messages: MockMessageManager
    bot: RecordingBot
    texts: Texts = RU
    _counter: list[int] = field(default_factory=lambda: [0])

    # -- what they see ------------------------------------------------------

    @property
    def window(self) -> Message:
        """The dialog's latest message."""
        shown = [m for m in self.messages.sent_messages if m.text is not None or m.caption]
        assert shown, "the dialog showed nothing"
        return shown[-1]

    @property
    def text(self) -> str:
        return self.window.text or ""

    def buttons(self) -> list[str]:
        markup = self.window.reply_markup
        if not isinstance(markup, InlineKeyboardMarkup):
            return []
        return [button.text for row in markup.inline_keyboard for button in row]

    def t(self, key: str, **values: object) -> str:
        return self.texts(key, **values)

    # -- what they do -------------------------------------------------------

    async def say(self, text: str) -> None:
        await self.client.send(text)

    async def press(self, key: str, message: Message | None = None) -> str:
        label = self.t(f"intake.buttons.{key}") if "." not in key else self.t(key)
        return await self.client.click(
            message or self.window, InlineButtonTextLocator(re.escape(label))
        )

    def _unique(self) -> str:
        self._counter[0] += 1
        return f"u{self._counter[0]}"

    async def send(self, **content: Any) -> None:
        client = self.client
        message = Message(
            message_id=client._new_message_id(),
            date=datetime.now(),
            chat=client.chat,
            from_user=client.user,
            **content,
        )
        await client.dp.feed_update(
            client.bot, Update(update_id=client._new_update_id(), message=message)
        )

    async def photo(self, album: str | None = None, unique: str | None = None) -> None:
        unique = unique or self._unique()
        # What Telegram would serve for the largest size, for the desk's hash.
        self.bot.files[f"{unique}-l"] = f"photo {unique}".encode()
        sizes = [
            PhotoSize(file_id=f"{unique}-s", file_unique_id=f"{unique}-s", width=90, height=60),
            PhotoSize(
                file_id=f"{unique}-l",
                file_unique_id=f"{unique}-l",
                width=1280,
                height=853,
                file_size=123_456,
            ),
            PhotoSize(file_id=f"{unique}-m", file_unique_id=f"{unique}-m", width=320, height=213),
        ]
        await self.send(photo=sizes, media_group_id=album)

    async def document(
        self, data: bytes, name: str = "screenshot.jpg", size: int | None = None
    ) -> str:
        unique = self._unique()
        file_id = f"doc-{unique}"
        self.bot.files[file_id] = data
        await self.send(
            document=Document(
                file_id=file_id,
                file_unique_id=f"doc-{unique}",
                file_name=name,
                mime_type="image/jpeg",
                file_size=len(data) if size is None else size,
            )
        )
        return file_id

    async def sticker(self) -> None:
        await self.send(
            sticker=Sticker(
                file_id="st",
                file_unique_id="st",
                type="regular",
                width=512,
                height=512,
                is_animated=False,
                is_video=False,
            )
        )

    async def voice(self) -> None:
        await self.send(voice=Voice(file_id="v", file_unique_id="v", duration=3))

    async def location(self) -> None:
        await self.send(location=Location(latitude=55.75, longitude=37.61))

    async def contact(self) -> None:
        await self.send(contact=Contact(phone_number="+70000000000", first_name="Ivan"))


@pytest.fixture
def settings() -> Settings:
    return Settings(
        bot_token="123456:TEST-token",
        backoffice_chat_id=BACKOFFICE_CHAT_ID,
        database_url="sqlite+aiosqlite:///unused.sqlite3",
        redis_url="",
        webhook_url="",
    )


@pytest.fixture
def ticking() -> TickingClock:
    return TickingClock()


DispatcherFactory = Callable[[BaseStorage, MockMessageManager, IdleReminder], Dispatcher]


@pytest.fixture
def make_dispatcher(
    settings: Settings, desk: Desk, sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> DispatcherFactory:
    """The production assembly, with aiogram-dialog's mock message manager plugged in."""
    original = dialogs.setup

    def make(
        storage: BaseStorage, messages: MockMessageManager, reminder: IdleReminder
    ) -> Dispatcher:
        monkeypatch.setattr(
            dialogs,
            "setup",
            functools.partial(original, message_manager=messages, reminder=reminder),
        )
        try:
            return build_dispatcher(settings, desk, storage)
        finally:
            monkeypatch.setattr(dialogs, "setup", original)

    return make


@pytest.fixture
def reminder(ticking: TickingClock) -> IdleReminder:
    return IdleReminder(MemoryDraftActivity(), clock=ticking)


@pytest.fixture
async def customer(
    make_dispatcher: DispatcherFactory, reminder: IdleReminder
) -> AsyncIterator[Customer]:
    messages = MockMessageManager()
    bot = RecordingBot()
    dispatcher = make_dispatcher(JsonMemoryStorage(), messages, reminder)
    client = BotClient(dispatcher, user_id=USER_ID, chat_id=CHAT_ID, bot=bot)
    yield Customer(client, messages, bot)


# The in-process desk against the Bot API emulator, for the over-the-wire test.
from tests.harness import harness  # noqa: E402
from tgemulator.pytest_plugin import emulator  # noqa: E402

__all__ = ["emulator", "harness"]
