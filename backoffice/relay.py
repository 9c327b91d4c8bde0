"""Agents' messages about a request: replies to the customer, internal notes, edits, splits.

A message in a request's topic, or a reply to its card or to any message
relayed for it, is about that request. It goes to the customer unless it is an
internal note: it is sent with /note, or the desk says so (``desk.conversation.is_note``:
it starts with "!", or its author is a manager). Nothing else an
agent writes in the group leaves it.
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.enums import ParseMode
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from backoffice.buttons import split_message
from backoffice.callbacks import SplitCallback
from backoffice.common import describe, sent_by_the_desk, ticket_of
from desk.conversation import NOTE_MARK, is_note, without_note_mark
from desk.errors import DeskError
from desk.model import format_number
from desk.service import Actor, Desk, MessageRef
from locales import Texts
from tgkit.albums import AlbumMiddleware
from tgkit.attachments import UNRELAYED_CONTENT, attachments_of
from tgkit.filters import Inline

log = logging.getLogger(__name__)


def router() -> Router:
    router = Router(name=__name__)
    router.message.middleware(AlbumMiddleware())
    router.message.register(note_command, Command("note"))
    router.message.register(split_command, Command("split"))
    router.message.register(relay, Inline(F.text | F.caption | F.photo | F.document))
    router.message.register(unsupported, Inline(F.content_type.in_(UNRELAYED_CONTENT)))
    router.edited_message.register(edited, Inline(F.text | F.caption))
    return router


def is_command(message: Message) -> bool:
    return any(
        entity.type == "bot_command" and entity.offset == 0 for entity in message.entities or ()
    )


async def relay(
    message: Message,
    actor: Actor,
    desk: Desk,
    texts: Texts,
    album: list[Message] | None = None,
) -> None:
    parts = album or [message]
    if album:
        # The caption of an album sits on one of its items, not always the first.
        message = next((m for m in album if m.caption), album[0])
    if is_command(message):
        return  # someone else's bot command, or a typo: never a reply to a customer
    ticket = await ticket_of(message, actor, desk)
    if ticket is None:
        return  # agents talking among themselves
    plain = message.text or message.caption or ""
    source = MessageRef(message.chat.id, message.message_id)
    if is_note(actor, plain):
        await desk.note(actor, ticket.number, without_note_mark(message.html_text), source=source)
        await message.reply(texts("backoffice.relay.note_saved"), parse_mode=ParseMode.HTML)
        return
    await desk.reply(
        actor,
        ticket.number,
        message.html_text if (message.text or message.caption) else "",
        source=source,
        attachments=[f for m in parts for f in attachments_of(m)],
    )


async def unsupported(message: Message, actor: Actor, desk: Desk, texts: Texts) -> None:
    """A sticker, voice note, location… about a request: the agent learns it went nowhere."""
    if await ticket_of(message, actor, desk) is not None:
        await message.reply(texts("backoffice.relay.unsupported"), parse_mode=None)


async def note_command(
    message: Message, command: CommandObject, actor: Actor, desk: Desk, texts: Texts
) -> None:
    text = (command.args or "").strip()
    if not text:
        await message.reply(texts("backoffice.answer.usage_note"), parse_mode=ParseMode.HTML)
        return
    ticket = await ticket_of(message, actor, desk)
    if ticket is None:
        await message.reply(texts("backoffice.answer.no_request"), parse_mode=ParseMode.HTML)
        return
    await desk.note(
        actor, ticket.number, text, source=MessageRef(message.chat.id, message.message_id)
    )
    await message.reply(texts("backoffice.relay.note_saved"), parse_mode=ParseMode.HTML)


async def split_command(
    message: Message, command: CommandObject, actor: Actor, desk: Desk, texts: Texts
) -> None:
    """/split as a reply to a customer's message (R3), or /split <text> about a request."""
    text = (command.args or "").strip()
    number: int | None = None
    if text:
        ticket = await ticket_of(message, actor, desk)
        if ticket is not None:
            number = (await desk.split(actor, ticket.number, text)).number
    elif message.reply_to_message is not None and sent_by_the_desk(message.reply_to_message):
        stored_id = _split_button(message.reply_to_message)
        if stored_id is not None:
            number = await split_message(stored_id, actor, desk)
    if number is None:
        await message.reply(texts("backoffice.answer.usage_split"), parse_mode=ParseMode.HTML)
        return
    await message.reply(
        texts("backoffice.answer.split", number=format_number(number)),
        parse_mode=ParseMode.HTML,
    )


def _split_button(message: Message) -> int | None:
    """The stored message behind a relayed customer message: its split button says it."""
    markup = message.reply_markup
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            data = button.callback_data or ""
            if data.startswith(f"{SplitCallback.__prefix__}{SplitCallback.__separator__}"):
                return SplitCallback.unpack(data).message_id
    return None


async def edited(message: Message, actor: Actor, desk: Desk, texts: Texts) -> None:
    """An agent corrected a relayed message: the customer's copy follows."""
    plain = message.text or message.caption or ""
    text = without_note_mark(message.html_text)
    source = MessageRef(message.chat.id, message.message_id)
    try:
        await desk.edit_message(actor, source, text, marked_as_note=plain.startswith(NOTE_MARK))
    except DeskError as error:
        # An edit that cannot follow (emptied, too long, closed…) changes nothing else;
        # the agent is told, or they would believe the customer sees the new text.
        log.info("edit of %s/%s not relayed: %s", message.chat.id, message.message_id, error)
        await message.reply(
            texts("backoffice.relay.edit_not_sent", reason=describe(error, texts)),
            parse_mode=None,
        )
