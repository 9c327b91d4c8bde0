"""Actions that need a text: ask the customer, resolve with an answer, close "other", reopen.

The button posts a prompt with a ForceReply; the agent's reply to it carries
the text. What the prompt was for is kept in the FSM storage under the
prompt's own key (any agent may answer it; the desk decides whether they may
act), so it survives a restart with Redis and stays JSON.
"""

from __future__ import annotations

import enum
from typing import Any

from aiogram import Bot, F, Router
from aiogram.enums import ParseMode
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.types import CallbackQuery, ForceReply, Message, TelegramObject

from backoffice.cards import prompt_text
from desk.model import CloseReason
from desk.service import Actor, Desk, MessageRef
from locales import Texts
from storage.models import Ticket
from tgkit.filters import Inline

DESTINY = "backoffice_prompt"


class Purpose(enum.StrEnum):
    ASK = "ask"
    RESOLVE = "resolve"
    CLOSE_OTHER = "close_other"
    REOPEN = "reopen"


def prompt_state(storage: BaseStorage, bot: Bot, chat_id: int, prompt_id: int) -> FSMContext:
    # A negative "user" keeps the prompt's key apart from every real user's state.
    key = StorageKey(bot_id=bot.id, chat_id=chat_id, user_id=-prompt_id, destiny=DESTINY)
    return FSMContext(storage=storage, key=key)


async def ask_for_text(
    query: CallbackQuery,
    purpose: Purpose,
    ticket: Ticket,
    texts: Texts,
    fsm_storage: BaseStorage,
    bot: Bot,
) -> None:
    message = query.message
    if not isinstance(message, Message):
        return
    user = query.from_user
    prompt = await message.answer(
        prompt_text(purpose.value, ticket, texts, user_id=user.id, name=user.full_name),
        reply_markup=ForceReply(
            selective=True, input_field_placeholder=texts("backoffice.prompt.placeholder")
        ),
        parse_mode=ParseMode.HTML,
    )
    state = prompt_state(fsm_storage, bot, prompt.chat.id, prompt.message_id)
    await state.set_data({"purpose": purpose.value, "number": ticket.number})
    await query.answer()


class PromptReply(Filter):
    """A reply to one of our prompts; passes on what the prompt was for."""

    async def __call__(
        self, event: TelegramObject, bot: Bot, fsm_storage: BaseStorage, **data: Any
    ) -> bool | dict[str, Any]:
        if not isinstance(event, Message) or event.reply_to_message is None:
            return False
        replied = event.reply_to_message
        if replied.from_user is None or replied.from_user.id != bot.id:
            return False
        state = prompt_state(fsm_storage, bot, event.chat.id, replied.message_id)
        stored = await state.get_data()
        if not stored:
            return False
        return {"prompt": stored, "prompt_state": state}


def router() -> Router:
    router = Router(name=__name__)
    router.message.register(answered, PromptReply(), Inline(F.text | F.caption))
    return router


async def answered(
    message: Message,
    prompt: dict[str, Any],
    prompt_state: FSMContext,
    actor: Actor,
    desk: Desk,
    texts: Texts,
) -> None:
    purpose = Purpose(prompt["purpose"])
    number = int(prompt["number"])
    # Customer-facing answers keep the agent's formatting, as replies do.
    rich = message.html_text
    plain = message.text or message.caption or ""
    # The pair is kept, so that editing this message corrects the customer's copy.
    source = MessageRef(message.chat.id, message.message_id)
    if purpose is Purpose.ASK:
        await desk.ask_customer(actor, number, rich, source=source)
        done = "backoffice.answer.asked"
    elif purpose is Purpose.RESOLVE:
        await desk.resolve(actor, number, rich, source=source)
        done = "backoffice.answer.resolved"
    elif purpose is Purpose.CLOSE_OTHER:
        await desk.close(actor, number, CloseReason.OTHER, plain)
        done = "backoffice.answer.closed"
    else:
        await desk.reopen(actor, number, plain)
        done = "backoffice.answer.reopened"
    await prompt_state.clear()
    await message.reply(texts(done), parse_mode=ParseMode.HTML)
