"""/my: the customer's requests, open ones first, and one request's view with its history."""

from __future__ import annotations

from html import escape

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from desk.model import format_number
from desk.service import Actor, Desk
from handlers import keyboards
from locales import Texts
from storage.models import Ticket, TicketEvent
from tgkit.callbacks import (
    LegacyButton,
    MenuAction,
    MenuCallback,
    MyPageCallback,
    TicketAction,
    TicketCallback,
)
from tgkit.edits import replace_text
from tgkit.html import split_html, to_plain

PAGE = 5
HISTORY_LINES = 15


async def _page(desk: Desk, actor: Actor, texts: Texts, offset: int) -> tuple[str, object]:
    tickets = list(await desk.my_tickets(actor, offset=offset, limit=PAGE + 1))
    if not tickets and offset == 0:
        return texts("my.empty"), keyboards.ticket_list(
            texts, [], offset=0, has_more=False, page=PAGE, tz=desk.calendar.hours.tz
        )
    markup = keyboards.ticket_list(
        texts,
        tickets[:PAGE],
        offset=offset,
        has_more=len(tickets) > PAGE,
        page=PAGE,
        tz=desk.calendar.hours.tz,
    )
    return texts("my.title"), markup


async def my_command(message: Message, desk: Desk, actor: Actor, texts: Texts) -> None:
    text, markup = await _page(desk, actor, texts, 0)
    await message.answer(text, reply_markup=markup)  # type: ignore[arg-type]


async def my_button(query: CallbackQuery, desk: Desk, actor: Actor, texts: Texts) -> None:
    text, markup = await _page(desk, actor, texts, 0)
    if isinstance(query.message, Message):
        await query.message.answer(text, reply_markup=markup)  # type: ignore[arg-type]
    await query.answer()


async def my_page(
    query: CallbackQuery, callback_data: MyPageCallback, desk: Desk, actor: Actor, texts: Texts
) -> None:
    text, markup = await _page(desk, actor, texts, max(0, callback_data.offset))
    if isinstance(query.message, Message):
        await replace_text(query.message, text, markup)  # type: ignore[arg-type]
    await query.answer()


def describe(event: TicketEvent, texts: Texts, desk: Desk) -> str:
    comment = escape(to_plain(event.comment or "")[:200])
    try:
        what = texts(f"history.{event.action}", comment=comment)
    except KeyError:
        what = event.action
    moment = event.created_at.astimezone(desk.calendar.hours.tz).strftime("%d.%m %H:%M")
    return texts("my.history_line", time=moment, what=what)


async def render_ticket(desk: Desk, actor: Actor, texts: Texts, ticket: Ticket) -> str:
    updated = ticket.updated_at.astimezone(desk.calendar.hours.tz).strftime("%d.%m.%Y %H:%M")
    text = texts(
        "my.view",
        number=format_number(ticket.number),
        kind=texts(f"kind.{ticket.kind}"),
        status=texts(f"status.{ticket.status}"),
        priority=texts(f"priority.{ticket.priority}"),
        topic=escape(ticket.topic),
        updated=updated,
    )
    events = list(await desk.history(actor, ticket.number))[-HISTORY_LINES:]
    if events:
        lines = [describe(event, texts, desk) for event in events]
        text += "\n\n" + texts("my.history_title") + "\n" + "\n".join(lines)
    return text


async def show_ticket(
    target: Message, desk: Desk, actor: Actor, texts: Texts, ticket: Ticket
) -> None:
    """The request's view, in as many messages as it takes; its buttons under the last."""
    parts = split_html(await render_ticket(desk, actor, texts, ticket))
    markup = keyboards.ticket_actions(texts, ticket)
    for index, part in enumerate(parts):
        await target.answer(part, reply_markup=markup if index == len(parts) - 1 else None)


async def view(
    query: CallbackQuery, callback_data: TicketCallback, desk: Desk, actor: Actor, texts: Texts
) -> None:
    ticket = await desk.ticket(actor, callback_data.number)
    if isinstance(query.message, Message):
        await show_ticket(query.message, desk, actor, texts, ticket)
    await query.answer()


def router() -> Router:
    """A fresh router: each Dispatcher (one per process, several in tests) gets its own."""
    router = Router(name=__name__)
    router.message.register(my_command, Command("my"))
    router.callback_query.register(my_button, MenuCallback.filter(F.action == MenuAction.MY))
    router.callback_query.register(my_page, MyPageCallback.filter())
    router.callback_query.register(view, TicketCallback.filter(F.action == TicketAction.VIEW))
    router.callback_query.register(view, LegacyButton(TicketCallback, TicketAction.VIEW))
    return router
