"""What every customer dialog shares: its language, and buttons from old messages."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent, User
from aiogram_dialog import DialogManager, ShowMode
from aiogram_dialog.utils import remove_intent_id

from desk.model import format_number
from desk.service import Desk
from locales import Texts, pick_locale
from tgkit.config import ChatSettings
from tgkit.menu import main_menu

log = logging.getLogger(__name__)

LOCALE_KEY = "locale"


def texts_for(manager: DialogManager) -> Texts:
    """The customer's language: from ActorMiddleware, else the one the dialog started in.

    Updates that do not come from a message or a button (background updates,
    error events) do not pass ActorMiddleware.
    """
    texts = manager.middleware_data.get("texts")
    if isinstance(texts, Texts):
        return texts
    locale = manager.dialog_data.get(LOCALE_KEY) if manager.has_context() else None
    return Texts(str(locale or "ru"))


def texts_from_user(user: User | None, settings: ChatSettings | None) -> Texts:
    default = settings.default_locale if settings is not None else "ru"
    return Texts(pick_locale(user.language_code if user else None, default))


async def _already_filed(event: ErrorEvent, manager: DialogManager, texts: Texts) -> bool:
    """A button of an intake that filed its request (its Submit ran, and the process
    stopped before the dialog moved on): say so, instead of offering to start again,
    which would file the same problem twice."""
    callback = event.update.callback_query
    desk: Desk | None = manager.middleware_data.get("desk")
    if callback is None or not callback.data or desk is None:
        return False
    intent_id, _ = remove_intent_id(callback.data)
    filed = await desk.filed_by_intake(callback.from_user.id, intent_id) if intent_id else None
    if filed is None:
        return False
    notice = texts("dialogs.already_filed", number=format_number(filed.number))
    try:
        await callback.answer(notice, show_alert=True)
    except TelegramAPIError:
        log.info("could not answer a stale callback", exc_info=True)
    return True


async def on_stale_button(
    event: ErrorEvent,
    dialog_manager: DialogManager,
    event_from_user: User | None = None,
    settings: ChatSettings | None = None,
    texts: Texts | None = None,
    **_: Any,
) -> None:
    """A button of a dialog that is no longer current (UnknownIntent/OutdatedIntent).

    It comes from an older message, or from before a restart with the memory
    storage. Nothing is changed by it; the customer is shown where they are:
    the current dialog step, or the main menu when no dialog is open.
    """
    log.info("stale dialog button: %s", event.exception)
    # The language chosen with /lang (tgkit.middlewares.ErrorLanguage), else Telegram's.
    texts = texts or texts_from_user(event_from_user, settings)
    if await _already_filed(event, dialog_manager, texts):
        return
    has_dialog = dialog_manager.has_context()
    notice = texts("dialogs.stale_button" if has_dialog else "dialogs.restarted")
    callback = event.update.callback_query
    message = event.update.message
    if callback is not None:
        try:
            await callback.answer(notice if has_dialog else None)
        except TelegramAPIError:
            log.info("could not answer a stale callback", exc_info=True)
    if has_dialog:
        await dialog_manager.show(ShowMode.SEND)
        return
    chat_id = (
        callback.message.chat.id
        if callback is not None and callback.message is not None
        else message.chat.id
        if message is not None
        else None
    )
    if chat_id is not None:
        bot: Bot = dialog_manager.middleware_data["bot"]
        await bot.send_message(chat_id, notice, reply_markup=main_menu(texts))
