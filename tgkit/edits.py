"""Editing a message the person pressed a button on, when the edit may have nothing to do.

A press can come twice (a double tap, a forged press, an old keyboard), or on a
message Telegram no longer lets the bot edit (deleted, or older than 48 hours).
Telegram then refuses the edit; the press was still handled and must not end
in "something went wrong". A text that cannot replace the old one is sent anew.
"""

from __future__ import annotations

from typing import Any

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup, LinkPreviewOptions, Message

NOTHING_TO_DO = "message is not modified"
CANNOT_EDIT = ("message to edit not found", "message can't be edited")


async def replace_keyboard(message: Message, markup: InlineKeyboardMarkup | None) -> None:
    """Swap the message's buttons (None: remove them); the same buttons again are fine."""
    try:
        await message.edit_reply_markup(reply_markup=markup)
    except TelegramBadRequest as error:
        if NOTHING_TO_DO not in error.message and not any(
            reason in error.message for reason in CANNOT_EDIT
        ):
            raise


async def drop_keyboard(message: Message) -> None:
    """The buttons of the message are spent: remove them, if they are still there."""
    await replace_keyboard(message, None)


async def replace_text(
    message: Message,
    text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
    *,
    link_preview_options: LinkPreviewOptions | None = None,
    parse_mode: str | None = None,
) -> None:
    """Show ``text`` in place of the message; as a new message when it cannot be edited."""
    options: dict[str, Any] = {"reply_markup": reply_markup}
    if link_preview_options is not None:
        options["link_preview_options"] = link_preview_options
    if parse_mode is not None:
        options["parse_mode"] = parse_mode
    try:
        await message.edit_text(text, **options)
    except TelegramBadRequest as error:
        if NOTHING_TO_DO in error.message:
            return
        if any(reason in error.message for reason in CANNOT_EDIT):
            await message.answer(text, **options)
            return
        raise
