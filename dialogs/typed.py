"""A typed message is a message, never a button press.

aiogram-dialog can show reply keyboards whose buttons carry their callback data
in invisible characters at the end of their text (zero-width non-joiner and
joiner, word joiner, …), and it reads every message whose text ends in such
characters as a press of that button: a simulated callback query that cannot
be answered. The desk shows no reply keyboards, so such an ending is never a
press. It comes from pasted text or an emoji sequence cut short, or from
someone forging presses by typing them; left to aiogram-dialog it became a
press of whatever button the characters spell (the customer's own menu or the
agents' card buttons, each refused by the desk but failing on the answer
aiogram-dialog forbids), or an exception when they spell no UTF-8 at all. Found
by ``bench.fuzz``: "update N failed" from a stranger's message in the group.

The characters are invisible: they are dropped from the end of the text before
aiogram-dialog reads it, and the message is handled as what it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Message, MessageEntity, TelegramObject
from aiogram_dialog.utils import REPLY_CALLBACK_SYMBOLS

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
_CODE = tuple(REPLY_CALLBACK_SYMBOLS)


class TypedNotPressed(BaseMiddleware):
    """Outer middleware on messages, registered before aiogram-dialog's own."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, Message) and event.text and event.text.endswith(_CODE):
            event = without_code(event)
        return await handler(event, data)


def without_code(message: Message) -> Message:
    """The message with the invisible characters at the end of its text dropped.

    Its entities are cut to the shorter text (their offsets count UTF-16 units);
    a text of nothing else becomes no text, which the desk answers as a kind of
    message it does not take.
    """
    text = (message.text or "").rstrip(REPLY_CALLBACK_SYMBOLS)
    units = len(text.encode("utf-16-le")) // 2
    entities: list[MessageEntity] = []
    for entity in message.entities or ():
        if entity.offset >= units:
            continue
        if entity.offset + entity.length > units:
            entity = entity.model_copy(update={"length": units - entity.offset})
        entities.append(entity)
    return message.model_copy(update={"text": text or None, "entities": entities or None})
