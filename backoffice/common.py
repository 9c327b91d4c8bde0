"""What the backoffice handlers share: the view, desk errors as answers, finding a request."""

from __future__ import annotations

import contextlib
import logging
from zoneinfo import ZoneInfo

from aiogram.types import CallbackQuery, ErrorEvent, InlineKeyboardMarkup, Message

from backoffice.callbacks import CardCallback
from backoffice.cards import MAX_ALERT, View, fit_plain
from desk.errors import DeskError, ValidationFailed
from desk.service import Actor, Desk
from locales import Texts
from storage.models import Ticket
from tgkit.config import ChatSettings
from tgkit.edits import replace_keyboard
from tgkit.errors import message_for

log = logging.getLogger(__name__)


def view(settings: ChatSettings, texts: Texts) -> View:
    return View(texts, ZoneInfo(settings.timezone))


def describe(error: DeskError, texts: Texts) -> str:
    """A desk error in the agents' words; the generic ``errors.*`` texts otherwise."""
    if isinstance(error, ValidationFailed):
        if error.problem == "empty" or error.problem == "required":
            return texts("backoffice.answer.text_required")
        if error.problem == "too_long":
            return texts("backoffice.answer.too_long", maximum=error.details.get("maximum", ""))
        if error.problem == "reply_into_note":
            return texts("backoffice.answer.reply_into_note")
    return message_for(error, texts)


async def alert(query: CallbackQuery, text: str) -> None:
    await query.answer(fit_plain(text, MAX_ALERT), show_alert=True)


async def refused(event: ErrorEvent, texts: Texts) -> None:
    """A refusal of the desk becomes an alert (buttons) or a short reply (messages).

    Registered on the backoffice router, which the dispatcher asks before the
    private chats' error router (``tgkit.errors``): that one knows nothing of the
    agents' group or its language.
    """
    assert isinstance(event.exception, DeskError)
    text = describe(event.exception, texts)
    update = event.update
    if update.callback_query is not None:
        await alert(update.callback_query, text)
    elif update.message is not None:
        # Plain text: the generic error texts insert names without escaping.
        await update.message.reply(text, parse_mode=None)


async def set_keyboard(query: CallbackQuery, markup: InlineKeyboardMarkup) -> None:
    """Swap the buttons of the pressed message; the same buttons again are fine."""
    message = query.message
    if not isinstance(message, Message):
        return  # too old to edit
    await replace_keyboard(message, markup)


async def ticket_of(message: Message, actor: Actor, desk: Desk) -> Ticket | None:
    """The request a message in the group is about: its topic, or what it replies to."""
    if message.is_topic_message and message.message_thread_id is not None:
        ticket = await desk.find_by_thread(actor, message.message_thread_id)
        if ticket is not None:
            return ticket
    replied = message.reply_to_message
    if replied is None:
        return None
    found = await desk.find_by_message(actor, message.chat.id, replied.message_id)
    if found is None and sent_by_the_desk(replied) and (number := _card_number(replied)):
        # A card whose message id is not recorded yet (the agent answered within
        # moments of it appearing): its own buttons name the request.
        with contextlib.suppress(DeskError):
            found = await desk.ticket(actor, number)
    return found


def sent_by_the_desk(message: Message) -> bool:
    """Whether this bot itself posted the message, so its buttons can be trusted.

    Anyone in the group can post a message with buttons of their choosing through
    an inline bot (it then comes ``via_bot``, from that person); its callback data may
    name any request. Only the desk's own messages may route a reply by their buttons.
    """
    bot = message.bot
    author = message.from_user
    return (
        bot is not None and author is not None and author.id == bot.id and message.via_bot is None
    )


def _card_number(message: Message) -> int | None:
    markup = message.reply_markup
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            data = button.callback_data or ""
            if data.startswith(f"{CardCallback.__prefix__}{CardCallback.__separator__}"):
                try:
                    return CardCallback.unpack(data).number
                except ValueError:  # pydantic's ValidationError: not our card after all
                    return None
    return None
