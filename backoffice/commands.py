"""Commands of the agents' group: /queue, /mine, /find, /ticket, /history, /stats, /version,
/digest."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import Router
from aiogram.enums import ParseMode
from aiogram.filters import Command, CommandObject
from aiogram.types import BotCommand, CallbackQuery, LinkPreviewOptions, Message

from backoffice.callbacks import QueueCallback, QueueScope
from backoffice.cards import (
    QUEUE_PAGE,
    Stats,
    card_keyboard,
    card_text,
    found_text,
    history_texts,
    queue_keyboard,
    queue_text,
    stats_text,
)
from backoffice.common import view
from backoffice.digest import show_digest
from desk.model import parse_number
from desk.service import Actor, Desk
from locales import Texts
from storage.models import Ticket
from tgkit.config import ChatSettings
from tgkit.edits import replace_text

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


# The commands of the agents' group, in the order its command menu shows them.
MENU = ("queue", "mine", "find", "ticket", "history", "stats", "note", "split", "version")


def menu(texts: Texts) -> list[BotCommand]:
    """For setMyCommands with the backoffice chat's scope."""
    commands = [BotCommand(command=c, description=texts(f"backoffice.commands.{c}")) for c in MENU]
    return [*commands, BotCommand(command="digest", description=texts("digest.commands.digest"))]


def router() -> Router:
    router = Router(name=__name__)
    router.message.register(show_queue, Command("queue", "mine"))
    router.callback_query.register(page_queue, QueueCallback.filter())
    router.message.register(show_ticket, Command("ticket"))
    router.message.register(show_history, Command("history"))
    router.message.register(find, Command("find"))
    router.message.register(stats, Command("stats"))
    router.message.register(show_version, Command("version"))
    router.message.register(show_digest, Command("digest"))
    return router


async def _page(
    desk: Desk, actor: Actor, scope: QueueScope, offset: int
) -> tuple[Sequence[Ticket], bool]:
    # One more than a page tells whether there is a next one.
    found = await desk.queue(
        actor, mine=scope is QueueScope.MINE, offset=offset, limit=QUEUE_PAGE + 1
    )
    return found[:QUEUE_PAGE], len(found) > QUEUE_PAGE


async def show_queue(
    message: Message,
    command: CommandObject,
    actor: Actor,
    desk: Desk,
    texts: Texts,
    settings: ChatSettings,
) -> None:
    scope = QueueScope.MINE if command.command == "mine" else QueueScope.ALL
    tickets, more = await _page(desk, actor, scope, 0)
    await message.answer(
        queue_text(
            tickets,
            view(settings, texts),
            scope=scope,
            offset=0,
            chat_id=message.chat.id,
            now=desk.now(),
        ),
        reply_markup=queue_keyboard(scope, 0, more, texts),
        link_preview_options=NO_PREVIEW,
        parse_mode=ParseMode.HTML,
    )


async def page_queue(
    query: CallbackQuery,
    callback_data: QueueCallback,
    actor: Actor,
    desk: Desk,
    texts: Texts,
    settings: ChatSettings,
) -> None:
    scope, offset = callback_data.scope, max(callback_data.offset, 0)
    tickets, more = await _page(desk, actor, scope, offset)
    if isinstance(query.message, Message):
        chat_id = query.message.chat.id
        text = queue_text(
            tickets,
            view(settings, texts),
            scope=scope,
            offset=offset,
            chat_id=chat_id,
            now=desk.now(),
        )
        await replace_text(
            query.message,
            text,
            queue_keyboard(scope, offset, more, texts),
            link_preview_options=NO_PREVIEW,
            parse_mode=ParseMode.HTML,
        )
    await query.answer()


def _number(command: CommandObject) -> int | None:
    return parse_number(command.args) if command.args else None


async def show_ticket(
    message: Message,
    command: CommandObject,
    actor: Actor,
    desk: Desk,
    texts: Texts,
    settings: ChatSettings,
) -> None:
    """Posts the card again (its buttons work like the original's)."""
    number = _number(command)
    if number is None:
        await message.reply(texts("backoffice.answer.usage_ticket"), parse_mode=ParseMode.HTML)
        return
    ticket = await desk.ticket(actor, number)
    await _post_card(message, ticket, texts, settings)


async def _post_card(
    message: Message, ticket: Ticket, texts: Texts, settings: ChatSettings
) -> None:
    await message.answer(
        card_text(ticket, view(settings, texts)),
        reply_markup=card_keyboard(ticket, texts),
        parse_mode=ParseMode.HTML,
    )


async def show_history(
    message: Message,
    command: CommandObject,
    actor: Actor,
    desk: Desk,
    texts: Texts,
    settings: ChatSettings,
) -> None:
    """R4: every action on the request, who did it and when (internal notes included)."""
    number = _number(command)
    if number is None:
        await message.reply(texts("backoffice.answer.usage_history"), parse_mode=ParseMode.HTML)
        return
    ticket = await desk.ticket(actor, number)
    events = await desk.history(actor, number)
    for text in history_texts(ticket, events, view(settings, texts)):
        await message.answer(text, parse_mode=ParseMode.HTML)


async def find(
    message: Message,
    command: CommandObject,
    actor: Actor,
    desk: Desk,
    texts: Texts,
    settings: ChatSettings,
) -> None:
    """/find CTV-n shows the card; /find @user or /find text lists matching open requests."""
    query = (command.args or "").strip()
    if not query:
        await message.reply(texts("backoffice.answer.usage_find"), parse_mode=ParseMode.HTML)
        return
    number = parse_number(query)
    if number is not None:
        await _post_card(message, await desk.ticket(actor, number), texts, settings)
        return
    matching = list(await desk.search(actor, query))
    await message.answer(
        found_text(
            matching, view(settings, texts), query=query, chat_id=message.chat.id, now=desk.now()
        ),
        link_preview_options=NO_PREVIEW,
        parse_mode=ParseMode.HTML,
    )


async def show_version(message: Message, texts: Texts, version: str = "") -> None:
    """``version`` is the Dispatcher's (bot/version.py, the one place it is defined)."""
    await message.answer(texts("backoffice.version", version=version or "?"))


async def stats(message: Message, actor: Actor, desk: Desk, texts: Texts) -> None:
    counts = await desk.open_stats(actor)
    summary = Stats(counts.by_status, counts.by_priority, counts.overdue, counts.unassigned)
    await message.answer(stats_text(summary, texts), parse_mode=ParseMode.HTML)
