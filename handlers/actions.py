"""The customer's buttons on a request: solved, not solved (with a reason), withdraw, add, rate.

Every press is re-checked by the desk against the database: a stale button
gets the desk's polite refusal (tgkit/errors.py), never a change.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from desk.images import ImageRejected
from desk.model import Action, format_number
from desk.service import Actor, AttachmentIn, Desk
from handlers import keyboards
from handlers.states import CustomerStates
from locales import Texts
from tgkit.attachments import cleaned_attachments, rejection_text
from tgkit.callbacks import LegacyButton, RatingCallback, TicketAction, TicketCallback
from tgkit.edits import drop_keyboard
from tgkit.filters import Inline
from tgkit.html import to_plain


async def _reply(query: CallbackQuery, text: str, **kwargs: object) -> None:
    if isinstance(query.message, Message):
        await query.message.answer(text, **kwargs)  # type: ignore[arg-type]


async def confirm(
    query: CallbackQuery, callback_data: TicketCallback, desk: Desk, actor: Actor, texts: Texts
) -> None:
    await desk.confirm(actor, callback_data.number)
    await query.answer(texts("done.confirmed"))
    if isinstance(query.message, Message):
        # The buttons of the resolution message are spent.
        await drop_keyboard(query.message)


async def disagree(
    query: CallbackQuery,
    callback_data: TicketCallback,
    desk: Desk,
    actor: Actor,
    texts: Texts,
    state: FSMContext,
) -> None:
    ticket = await desk.ensure_allowed(actor, callback_data.number, Action.REOPEN)
    pending = (await state.get_data()).get("pending_text")
    if callback_data.action is TicketAction.REOPEN_WITH_PENDING and pending:
        # "Reopen" chosen for a message written to a resolved request: that
        # message is the reason.
        await desk.reopen(actor, ticket.number, to_plain(pending))
        await state.clear()
        await query.answer(texts("done.reopened"))
        return
    # Ask first and change nothing: the reason is required (R6).
    await state.set_state(CustomerStates.reason)
    await state.update_data(number=ticket.number)
    await query.answer()
    await _reply(query, texts("ask.reason", number=format_number(ticket.number)))


async def reason_given(message: Message, desk: Desk, actor: Actor, state: FSMContext) -> None:
    number = int((await state.get_data())["number"])
    await desk.reopen(actor, number, message.text or "")
    await state.clear()
    # No answer here: the outbox's "back in work, reason: …" follows at commit and says it.


async def reason_not_text(message: Message, texts: Texts) -> None:
    await message.answer(texts("ask.need_text"))


async def withdraw(
    query: CallbackQuery, callback_data: TicketCallback, desk: Desk, actor: Actor, texts: Texts
) -> None:
    number = callback_data.number
    if callback_data.action is not TicketAction.WITHDRAW_CONFIRMED:
        ticket = await desk.ensure_allowed(actor, number, Action.WITHDRAW)
        await query.answer()
        await _reply(
            query,
            texts("ask.withdraw", number=format_number(ticket.number)),
            reply_markup=keyboards.confirm_withdraw(texts, ticket.number),
        )
        return
    await desk.withdraw(actor, number)
    await query.answer(texts("done.withdrawn"))
    if isinstance(query.message, Message):
        await drop_keyboard(query.message)


async def add_info(
    query: CallbackQuery,
    callback_data: TicketCallback,
    desk: Desk,
    actor: Actor,
    texts: Texts,
    state: FSMContext,
) -> None:
    ticket = await desk.ensure_allowed(actor, callback_data.number, Action.CUSTOMER_MESSAGE)
    data = await state.get_data()
    pending = data.get("pending_text") or data.get("pending_files")
    if callback_data.action is TicketAction.ADD_PENDING and pending:
        # The customer chose where the message they already wrote belongs.
        await desk.add_information(
            actor,
            ticket.number,
            data.get("pending_text") or "",
            attachments=attachments_from_data(data),
        )
        await state.clear()
        await query.answer(texts("done.added", number=format_number(ticket.number)))
        return
    await state.set_state(CustomerStates.information)
    await state.update_data(number=ticket.number)
    await query.answer()
    await _reply(query, texts("ask.info", number=format_number(ticket.number)))


async def information_given(
    message: Message, bot: Bot, desk: Desk, actor: Actor, texts: Texts, state: FSMContext
) -> None:
    number = int((await state.get_data())["number"])
    try:
        files = await cleaned_attachments(bot, message, texts)
    except ImageRejected as error:
        await message.answer(rejection_text(error, texts))
        return  # the question stays open: the customer may send another file
    await desk.add_information(
        actor,
        number,
        message.html_text if (message.text or message.caption) else "",
        attachments=files,
    )
    await state.clear()
    await message.answer(texts("done.added", number=format_number(number)))


async def rate(
    query: CallbackQuery, callback_data: RatingCallback, desk: Desk, actor: Actor, texts: Texts
) -> None:
    await desk.rate(actor, callback_data.number, callback_data.stars)
    await query.answer(texts("done.rated"))
    if isinstance(query.message, Message):
        await drop_keyboard(query.message)


def attachments_from_data(data: dict[str, Any]) -> list[AttachmentIn]:
    return [AttachmentIn(**item) for item in data.get("pending_files") or []]


def router() -> Router:
    """A fresh router: each Dispatcher (one per process, several in tests) gets its own."""
    router = Router(name=__name__)
    buttons = (
        (confirm, (TicketAction.CONFIRM,)),
        (disagree, (TicketAction.DISAGREE, TicketAction.REOPEN_WITH_PENDING)),
        (withdraw, (TicketAction.WITHDRAW, TicketAction.WITHDRAW_CONFIRMED)),
        (add_info, (TicketAction.ADD_INFO, TicketAction.ADD_PENDING)),
    )
    for handler, actions in buttons:
        router.callback_query.register(handler, TicketCallback.filter(F.action.in_(actions)))
        router.callback_query.register(handler, LegacyButton(TicketCallback, *actions))
    router.callback_query.register(rate, RatingCallback.filter())
    router.callback_query.register(rate, LegacyButton(RatingCallback))
    router.message.register(reason_given, StateFilter(CustomerStates.reason), Inline(F.text))
    router.message.register(reason_not_text, StateFilter(CustomerStates.reason))
    router.message.register(information_given, StateFilter(CustomerStates.information))
    return router
