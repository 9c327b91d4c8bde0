"""Messages outside a dialog: added to the customer's request, never lost (issue 4 §7).

- a reply to one of the desk's messages about a request goes to that request;
- with exactly one request in work, the message is added to it;
- with several, the customer chooses (or starts a new request);
- with only a resolved one, the customer chooses between reopening it with
  this message as the reason and a new request (R3);
- with none, a new request is offered.
The message waits in the FSM data while the customer chooses.
"""

from __future__ import annotations

from dataclasses import asdict

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from desk.images import ImageRejected
from desk.model import Status, format_number
from desk.service import Actor, Desk, MessageRef
from handlers import keyboards
from locales import Texts
from tgkit.albums import AlbumMiddleware
from tgkit.attachments import cleaned_attachments, rejection_text
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
    if message.reply_to_message is not None:
        target = await desk.find_by_message(
            actor, message.chat.id, message.reply_to_message.message_id
        )
        if target is not None and target.status not in (Status.RESOLVED, Status.CLOSED):
            await desk.add_information(actor, target.number, text, source=source, attachments=files)
            await message.answer(texts("done.added", number=format_number(target.number)))
            return
    tickets = list(await desk.open_tickets(actor))
    working = [t for t in tickets if t.status != Status.RESOLVED]
    resolved = [t for t in tickets if t.status == Status.RESOLVED]
    if len(working) == 1 and not resolved:
        number = working[0].number
        await desk.add_information(actor, number, text, source=source, attachments=files)
        await message.answer(texts("done.added", number=format_number(number)))
        return
    await state.update_data(pending_text=text, pending_files=[asdict(f) for f in files])
    if working:
        await message.answer(
            texts("ask.which"), reply_markup=keyboards.choose_ticket(texts, working)
        )
    elif resolved:
        latest = resolved[-1]
        await message.answer(
            texts("ask.resolved_choice", number=format_number(latest.number)),
            reply_markup=keyboards.reopen_or_new(texts, latest.number),
        )
    else:
        await message.answer(texts("ask.none_open"), reply_markup=main_menu(texts))


def router() -> Router:
    """A fresh router: each Dispatcher (one per process, several in tests) gets its own."""
    router = Router(name=__name__)
    router.message.middleware(AlbumMiddleware())
    router.message.register(
        relay, StateFilter(None), F.text & ~F.text.startswith("/") | F.photo | F.document
    )
    return router
