"""/help and /lang."""

from __future__ import annotations

from html import escape

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from desk.service import Actor, Desk
from locales import LOCALES, Texts
from tgkit.callbacks import LanguageCallback
from tgkit.config import ChatSettings
from tgkit.edits import replace_text
from tgkit.middlewares import ActorCache

NAMES = {"ru": "Русский", "en": "English"}


async def help_command(message: Message, texts: Texts, settings: ChatSettings) -> None:
    opens, _, closes = settings.support_hours.partition("-")  # "HH:MM-HH:MM", validated at start-up
    await message.answer(
        texts("help.text", start=escape(opens.strip()), end=escape(closes.strip()))
    )


async def lang_command(message: Message, texts: Texts) -> None:
    builder = InlineKeyboardBuilder()
    for locale in LOCALES:
        builder.button(text=NAMES[locale], callback_data=LanguageCallback(locale=locale))
    await message.answer(texts("lang.choose"), reply_markup=builder.as_markup())


async def lang_chosen(
    query: CallbackQuery,
    callback_data: LanguageCallback,
    desk: Desk,
    actor: Actor,
    actor_cache: ActorCache,
) -> None:
    await desk.set_language(actor, callback_data.locale)
    actor_cache.forget(query.from_user.id)  # the next update speaks the new language
    await query.answer(Texts(callback_data.locale)("lang.set"))
    if isinstance(query.message, Message):
        await replace_text(query.message, Texts(callback_data.locale)("lang.set"))


def router() -> Router:
    """A fresh router: each Dispatcher (one per process, several in tests) gets its own."""
    router = Router(name=__name__)
    router.message.register(help_command, Command("help"))
    router.message.register(lang_command, Command("lang"))
    router.callback_query.register(lang_chosen, LanguageCallback.filter(F.locale.in_(LOCALES)))
    return router
