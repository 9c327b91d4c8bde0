"""Every CallbackData of the bot, in one place.

Telegram limits callback data to 64 bytes; ``tests/bot/test_callback_sizes.py``
packs the longest value of each class, and every keyboard built, to keep it so.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

from aiogram.filters import Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery
from pydantic import Field

from desk.model import NUMBER_MAX

# Button data can be forged by a modified client: numbers out of range do not
# unpack, so the press is answered as an unknown button, never reaches a query.
Id = Annotated[int, Field(ge=0, le=NUMBER_MAX)]


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
    REOPEN_WITH_PENDING = "nop"  # reopens with the message the customer already wrote
    WITHDRAW = "wd"  # asks "withdraw it?"
    WITHDRAW_CONFIRMED = "wdy"  # the "yes" to that question
    ADD_INFO = "add"  # asks for the information
    ADD_PENDING = "addp"  # adds the message the customer already wrote


class TicketCallback(CallbackData, prefix="tk"):
    action: TicketAction
    number: Id


class RatingCallback(CallbackData, prefix="tr"):
    number: Id
    stars: Id  # 1..5, the desk checks


class LegacyTicketCallback(CallbackData, prefix="t"):
    """Buttons sent before the ticket buttons got their own actions and classes.

    Customers' chats still hold them (a rating button stays useful after the
    close); ``modern`` reads them as today's. ``value`` meant the stars for
    "r", and "use the pending message" or "confirmed" (1) for the others.
    """

    action: str
    number: Id
    value: Id = 0

    def modern(self) -> TicketCallback | RatingCallback | None:
        if self.action == "r":
            return RatingCallback(number=self.number, stars=self.value)
        flagged = {
            "no": TicketAction.REOPEN_WITH_PENDING,
            "wd": TicketAction.WITHDRAW_CONFIRMED,
            "add": TicketAction.ADD_PENDING,
        }
        if self.value == 1 and self.action in flagged:
            return TicketCallback(action=flagged[self.action], number=self.number)
        try:
            return TicketCallback(action=TicketAction(self.action), number=self.number)
        except ValueError:
            return None


class LegacyButton(Filter):
    """A button of the old format whose counterpart today is ``kind`` (with one of ``actions``).

    The handler gets the counterpart as ``callback_data``, as if the button were new.
    """

    def __init__(self, kind: type[TicketCallback | RatingCallback], *actions: TicketAction) -> None:
        self._kind = kind
        self._actions = frozenset(actions)

    async def __call__(self, query: CallbackQuery) -> bool | dict[str, Any]:
        prefix = f"{LegacyTicketCallback.__prefix__}{LegacyTicketCallback.__separator__}"
        if not query.data or not query.data.startswith(prefix):
            return False
        try:
            counterpart = LegacyTicketCallback.unpack(query.data).modern()
        except (TypeError, ValueError):
            return False
        if not isinstance(counterpart, self._kind):
            return False
        if isinstance(counterpart, TicketCallback) and counterpart.action not in self._actions:
            return False
        return {"callback_data": counterpart}


class MyPageCallback(CallbackData, prefix="mp"):
    offset: Id


class LanguageCallback(CallbackData, prefix="lang"):
    locale: str
