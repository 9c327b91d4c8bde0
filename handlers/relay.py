"""Messages outside a dialog: added to the customer's request, never lost (issue 4 §7).

Where the message goes is the desk's decision (``Desk.route_message``): added
to a request, a choice among requests, reopen-or-new for a resolved one, or a
new request. The message waits in the FSM data while the customer chooses.
"""

from __future__ import annotations

from dataclasses import asdict

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from desk.errors import DeskError
from desk.images import ImageRejected
from desk.model import format_number
from desk.service import Actor, Desk, MessageRef, RouteKind
from handlers import keyboards
from locales import Texts
from tgkit.albums import AlbumMiddleware
from tgkit.attachments import cleaned_attachments, rejection_text
from tgkit.errors import message_for
from tgkit.filters import Inline
from tgkit.menu import main_menu


def text_of(message: Message) -> str:
    return message.html_text if (message.text or message.caption) else ""


async def relay(
    message: Message,
    bot: Bot,
    desk: Desk,
    actor: Actor,
    texts: Texts,
    state: FSMContext,
    album: list[Message] | None = None,
) -> None:
    parts = album or [message]
    text = next((text_of(m) for m in parts if text_of(m)), "")
    try:
        files = [f for m in parts for f in await cleaned_attachments(bot, m, texts)]
    except ImageRejected as error:
        await message.answer(rejection_text(error, texts))
        return
    source = MessageRef(message.chat.id, message.message_id)
    replied = message.reply_to_message
    route = await desk.route_message(
        actor, MessageRef(message.chat.id, replied.message_id) if replied else None
    )
    if route.kind is RouteKind.ADD:
        assert route.number is not None
        await desk.add_information(actor, route.number, text, source=source, attachments=files)
        await message.answer(texts("done.added", number=format_number(route.number)))
        return
    await state.update_data(pending_text=text, pending_files=[asdict(f) for f in files])
    if route.kind is RouteKind.CHOOSE:
        await message.answer(
            texts("ask.which"), reply_markup=keyboards.choose_ticket(texts, route.choices)
        )
    elif route.kind is RouteKind.REOPEN_OR_NEW:
        assert route.number is not None
        await message.answer(
            texts("ask.resolved_choice", number=format_number(route.number)),
            reply_markup=keyboards.reopen_or_new(texts, route.number),
        )
    else:
        await message.answer(texts("ask.none_open"), reply_markup=main_menu(texts))


def router() -> Router:
    """A fresh router: each Dispatcher (one per process, several in tests) gets its own."""
    router = Router(name=__name__)
    router.message.middleware(AlbumMiddleware())
    router.message.register(
        relay,
        StateFilter(None),
        Inline(F.text & ~F.text.startswith("/") | F.photo | F.document),
    )
    router.edited_message.register(edited, Inline(F.text | F.caption))
    return router


async def edited(message: Message, desk: Desk, actor: Actor, texts: Texts) -> None:
    """The customer corrected a message that reached the agents: their copy follows.

    An edit of anything else (a command, an answer inside the intake) changes
    nothing and is deliberately left unanswered: there is no copy to correct.
    """
    source = MessageRef(message.chat.id, message.message_id)
    try:
        await desk.edit_message(actor, source, text_of(message))
    except DeskError as error:
        # Plain text: the generic error texts insert names without escaping.
        await message.reply(
            texts("relay.edit_not_sent", reason=message_for(error, texts)), parse_mode=None
        )
