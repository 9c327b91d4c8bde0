"""/start: greet, say what the desk does and when, offer the two main actions."""

from __future__ import annotations

from html import escape

from aiogram import Router
from aiogram.filters import CommandStart
from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import MenuAction, MenuCallback
from bot.settings import Settings
from locales import Texts


def main_menu(texts: Texts) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=texts("start.new_request"), callback_data=MenuCallback(action=MenuAction.NEW)
    )
    builder.button(
        text=texts("start.my_requests"), callback_data=MenuCallback(action=MenuAction.MY)
    )
    builder.adjust(2)
    return builder.as_markup()


async def start(message: Message, texts: Texts, settings: Settings) -> None:
    name = message.from_user.first_name if message.from_user else ""
    await message.answer(
        texts("start.greeting", name=escape(name), hours=escape(settings.support_hours)),
        reply_markup=main_menu(texts),
    )


def router() -> Router:
    """A fresh router: each Dispatcher (one per process, several in tests) gets its own."""
    router = Router(name=__name__)
    router.message.register(start, CommandStart())
    return router
