"""Every CallbackData of the bot, in one place.

Telegram limits callback data to 64 bytes; ``tests/bot`` packs the longest
value of each class to keep it so.
"""

from __future__ import annotations

import enum

from aiogram.filters.callback_data import CallbackData


class MenuAction(enum.StrEnum):
    NEW = "new"
    MY = "my"


class MenuCallback(CallbackData, prefix="m"):
    action: MenuAction
