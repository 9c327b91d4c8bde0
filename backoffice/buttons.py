"""The card's buttons and their pickers.

A button asks the desk; the desk's change writes the card edit to the outbox,
so the handler only answers the press (or shows the next choice). Every press
is re-checked by the desk against the request's current state.

A press is answered before its card's buttons change: the edit waits its turn in
the group's budget (20 a minute, more after a 429), while Telegram takes a press's
answer only for about 15 seconds. Answered last, in a busy group the agent's
spinner turned for seconds and the toast never came.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import CallbackQuery

from backoffice.callbacks import (
    AssignCallback,
    CardAction,
    CardCallback,
    CloseCallback,
    PriorityCallback,
    SplitCallback,
)
from backoffice.cards import (
    agents_keyboard,
    card_keyboard,
    close_keyboard,
    priority_keyboard,
)
from backoffice.common import alert, set_keyboard
from backoffice.prompts import Purpose, ask_for_text
from desk.errors import ValidationFailed
from desk.model import Action, CloseReason, format_number
from desk.service import Actor, Desk
from locales import Texts
from tgkit.html import to_plain


def router() -> Router:
    router = Router(name=__name__)
    card = router.callback_query.register
    card(take, CardCallback.filter(F.action == CardAction.TAKE))
    card(resolve, CardCallback.filter(F.action == CardAction.RESOLVE))
    card(ask, CardCallback.filter(F.action == CardAction.ASK))
    card(reopen, CardCallback.filter(F.action == CardAction.REOPEN))
    card(open_agents, CardCallback.filter(F.action == CardAction.ASSIGN))
    card(open_priorities, CardCallback.filter(F.action == CardAction.PRIORITY))
    card(open_close_reasons, CardCallback.filter(F.action == CardAction.CLOSE))
    card(back, CardCallback.filter(F.action == CardAction.BACK))
    router.callback_query.register(assign, AssignCallback.filter())
    router.callback_query.register(set_priority, PriorityCallback.filter())
    router.callback_query.register(close, CloseCallback.filter())
    router.callback_query.register(split, SplitCallback.filter())
    return router


async def take(
    query: CallbackQuery, callback_data: CardCallback, actor: Actor, desk: Desk, texts: Texts
) -> None:
    ticket = await desk.take(actor, callback_data.number)
    await query.answer(texts("backoffice.answer.taken"))
    await set_keyboard(query, card_keyboard(ticket, texts))


async def resolve(
    query: CallbackQuery,
    callback_data: CardCallback,
    actor: Actor,
    desk: Desk,
    texts: Texts,
    fsm_storage: BaseStorage,
    bot: Bot,
) -> None:
    number = callback_data.number
    try:
        ticket = await desk.resolve(actor, number)
    except ValidationFailed as error:
        if error.field != "answer":
            raise
        # Nothing was said since the customer's last message: ask for the answer.
        ticket = await desk.ticket(actor, number)
        await ask_for_text(query, Purpose.RESOLVE, ticket, texts, fsm_storage, bot)
        return
    await query.answer(texts("backoffice.answer.resolved"))
    await set_keyboard(query, card_keyboard(ticket, texts))


async def ask(
    query: CallbackQuery,
    callback_data: CardCallback,
    actor: Actor,
    desk: Desk,
    texts: Texts,
    fsm_storage: BaseStorage,
    bot: Bot,
) -> None:
    # Not worth a prompt if the question would be refused anyway.
    ticket = await desk.ensure_allowed(actor, callback_data.number, Action.ASK_CUSTOMER)
    await ask_for_text(query, Purpose.ASK, ticket, texts, fsm_storage, bot)


async def reopen(
    query: CallbackQuery,
    callback_data: CardCallback,
    actor: Actor,
    desk: Desk,
    texts: Texts,
    fsm_storage: BaseStorage,
    bot: Bot,
) -> None:
    # Not worth a prompt if the reopening would be refused anyway.
    ticket = await desk.ensure_allowed(actor, callback_data.number, Action.REOPEN)
    await ask_for_text(query, Purpose.REOPEN, ticket, texts, fsm_storage, bot)


async def open_agents(
    query: CallbackQuery, callback_data: CardCallback, actor: Actor, desk: Desk, texts: Texts
) -> None:
    ticket = await desk.ensure_allowed(actor, callback_data.number, Action.ASSIGN)
    await query.answer()
    await set_keyboard(query, agents_keyboard(ticket, await desk.agents(actor), texts))


async def open_priorities(
    query: CallbackQuery, callback_data: CardCallback, actor: Actor, desk: Desk, texts: Texts
) -> None:
    ticket = await desk.ensure_allowed(actor, callback_data.number, Action.SET_PRIORITY)
    await query.answer()
    await set_keyboard(query, priority_keyboard(ticket, texts))


async def open_close_reasons(
    query: CallbackQuery, callback_data: CardCallback, actor: Actor, desk: Desk, texts: Texts
) -> None:
    ticket = await desk.ensure_allowed(actor, callback_data.number, Action.CLOSE)
    await query.answer()
    await set_keyboard(query, close_keyboard(ticket, texts))


async def back(
    query: CallbackQuery, callback_data: CardCallback, actor: Actor, desk: Desk, texts: Texts
) -> None:
    """Leaves a picker: the card's own buttons again."""
    ticket = await desk.ticket(actor, callback_data.number)
    await query.answer()
    await set_keyboard(query, card_keyboard(ticket, texts))


async def assign(
    query: CallbackQuery, callback_data: AssignCallback, actor: Actor, desk: Desk, texts: Texts
) -> None:
    ticket = await desk.assign(actor, callback_data.number, callback_data.agent_id)
    await query.answer(texts("backoffice.answer.assigned"))
    await set_keyboard(query, card_keyboard(ticket, texts))


async def set_priority(
    query: CallbackQuery, callback_data: PriorityCallback, actor: Actor, desk: Desk, texts: Texts
) -> None:
    ticket = await desk.set_priority(actor, callback_data.number, callback_data.priority)
    await query.answer(texts("backoffice.answer.priority_set"))
    await set_keyboard(query, card_keyboard(ticket, texts))


async def close(
    query: CallbackQuery,
    callback_data: CloseCallback,
    actor: Actor,
    desk: Desk,
    texts: Texts,
    fsm_storage: BaseStorage,
    bot: Bot,
) -> None:
    if callback_data.reason is CloseReason.OTHER:
        ticket = await desk.ensure_allowed(actor, callback_data.number, Action.CLOSE)
        await ask_for_text(query, Purpose.CLOSE_OTHER, ticket, texts, fsm_storage, bot)
        return
    ticket = await desk.close(actor, callback_data.number, callback_data.reason)
    await query.answer(texts("backoffice.answer.closed"))
    await set_keyboard(query, card_keyboard(ticket, texts))


async def split(
    query: CallbackQuery, callback_data: SplitCallback, actor: Actor, desk: Desk, texts: Texts
) -> None:
    created = await split_message(callback_data.message_id, actor, desk)
    if created is None:
        await alert(query, texts("backoffice.answer.nothing_to_split"))
        return
    await query.answer(texts("backoffice.answer.split", number=format_number(created)))


async def split_message(message_id: int, actor: Actor, desk: Desk) -> int | None:
    """R3: the customer's relayed message becomes a new request; its number, if any."""
    stored = await desk.message(message_id)
    if stored is None or not stored.text or stored.copy_chat_id is None:
        return None
    assert stored.copy_message_id is not None
    ticket = await desk.find_by_message(actor, stored.copy_chat_id, stored.copy_message_id)
    if ticket is None:
        return None
    created = await desk.split(actor, ticket.number, to_plain(stored.text or ""))
    return created.number


async def stranger(query: CallbackQuery, texts: Texts) -> None:
    await alert(query, texts("backoffice.answer.not_agent"))
