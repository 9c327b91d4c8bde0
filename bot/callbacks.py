"""Every CallbackData of the bot, in one place.

Telegram limits callback data to 64 bytes; ``tests/bot/test_callback_sizes.py``
packs the longest value of each class, and every keyboard built, to keep it so.
"""

from __future__ import annotations

import enum

from aiogram.filters.callback_data import CallbackData


class MenuAction(enum.StrEnum):
    NEW = "new"
    MY = "my"


class MenuCallback(CallbackData, prefix="m"):
    action: MenuAction


class TicketAction(enum.StrEnum):
    """What a customer's button on one of their requests asks for."""

    VIEW = "v"
    CONFIRM = "ok"  # "Solved"
    DISAGREE = "no"  # "Not solved": asks for the reason, then reopens (R6)
    WITHDRAW = "wd"
    ADD_INFO = "add"
    RATE = "r"  # value: 1..5


class TicketCallback(CallbackData, prefix="t"):
    action: TicketAction
    number: int
    value: int = 0


class MyPageCallback(CallbackData, prefix="mp"):
    offset: int


class LanguageCallback(CallbackData, prefix="lang"):
    locale: str
