"""The customer's main menu: under /start's greeting, and wherever a customer is lost.

Here rather than in handlers: the dialogs show it too (a button of a dialog
that is no longer open), and handlers import the dialogs, not the reverse.
"""

from __future__ import annotations

from functools import cache

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from locales import Texts
from tgkit.callbacks import MenuAction, MenuCallback


def main_menu(texts: Texts) -> InlineKeyboardMarkup:
    # Built once per language: /start sends it to every newcomer of a burst, and
    # building it (two CallbackData packed through pydantic) was a few per cent of
    # a burst's time (py-spy).
    return _menu(texts.locale)


@cache
def _menu(locale: str) -> InlineKeyboardMarkup:
    texts = Texts(locale)
    builder = InlineKeyboardBuilder()
    builder.button(
        text=texts("start.new_request"), callback_data=MenuCallback(action=MenuAction.NEW)
    )
    builder.button(
        text=texts("start.my_requests"), callback_data=MenuCallback(action=MenuAction.MY)
    )
    builder.adjust(2)
    return builder.as_markup()
