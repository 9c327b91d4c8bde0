"""No filter or handler of the bot is sent to a worker thread (see tgkit/filters.py)."""

from __future__ import annotations

from collections.abc import Iterator

from aiogram import F, Router
from aiogram.dispatcher.event.handler import CallableObject
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import Chat, Message

from bot.app import build_dispatcher
from bot.settings import Settings
from desk.service import Desk
from tests.conftest import BACKOFFICE_CHAT_ID
from tgkit.filters import Inline

# aiogram-dialog's own background updates (a reminder's, an album's) pass its
# catch-all state filter in a thread: rare, and not ours to register.
BACKGROUND = "aiogd_update"


def callables(router: Router) -> Iterator[tuple[str, CallableObject]]:
    for name, observer in router.observers.items():
        if name == BACKGROUND:
            continue
        for event_filter in observer._handler.filters or ():
            yield f"{router.name}.{name} router filter", event_filter
        for handler in observer.handlers:
            yield f"{router.name}.{name} {handler.callback!r}", handler
            for event_filter in handler.filters or ():
                yield f"{router.name}.{name} filter {event_filter.callback!r}", event_filter
    for child in router.sub_routers:
        yield from callables(child)


def test_every_filter_and_handler_runs_in_the_event_loop(desk: Desk) -> None:
    settings = Settings(
        bot_token="100001:TEST-token",
        backoffice_chat_id=BACKOFFICE_CHAT_ID,
        database_url="sqlite+aiosqlite:///unused.sqlite3",
        redis_url="",
        webhook_url="",
    )
    dispatcher = build_dispatcher(settings, desk, MemoryStorage())
    threaded = [where for where, item in callables(dispatcher) if not item.awaitable]
    assert threaded == []


async def test_inline_checks_as_the_magic_filter_does() -> None:
    message = Message.model_validate(
        {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "/start"}
    )
    assert await Inline(F.chat.type == "private")(message)
    assert not await Inline(F.chat.type == "group")(message)
    assert await Inline(F.text.startswith("/"))(message)
    assert await Inline(F.chat.as_("chat"))(message) == {"chat": Chat(id=5, type="private")}
