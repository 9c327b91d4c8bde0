"""What no other handler took: every person gets an answer, never silence.

Registered after every other router, aiogram-dialog's included, so it only sees
what nothing else handled:

- in a private chat, a message of a kind the desk does not take (a sticker, a
  voice note, a location, a poll…) or a command it does not know: one short
  line saying what it does take, in the person's language. Staff who send an
  agents' command here are told it works in the agents' group.
- a button press nobody recognises, in any chat (an old keyboard, data that is
  not ours): answered with a short notice, so the button stops spinning.

Group messages that no handler took stay unanswered on purpose: strangers'
chatter and agents talking among themselves are none of the desk's business
(the backoffice answers an agent's unsupported reply to a request itself).
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message
from aiogram_dialog.api.internal import ReplyCallbackQuery

from desk.service import Actor
from locales import Texts, pick_locale
from tgkit.attachments import UNRELAYED_CONTENT
from tgkit.config import ChatSettings
from tgkit.filters import Inline


def router() -> Router:
    router = Router(name=__name__)
    private = Inline(F.chat.type == ChatType.PRIVATE)
    router.message.register(unknown_command, private, Inline(F.text.startswith("/")))
    router.message.register(unsupported, private, Inline(F.content_type.in_(UNRELAYED_CONTENT)))
    router.callback_query.register(unknown_button)
    return router


def _texts(texts: Texts | None, language: str | None, settings: ChatSettings) -> Texts:
    return texts or Texts(pick_locale(language, settings.default_locale))


async def unknown_command(
    message: Message,
    settings: ChatSettings,
    texts: Texts | None = None,
    actor: Actor | None = None,
) -> None:
    language = message.from_user.language_code if message.from_user else None
    words = _texts(texts, language, settings)
    key = "leftover.staff_command" if actor is not None and actor.is_staff else "leftover.command"
    await message.answer(words(key))


async def unsupported(message: Message, settings: ChatSettings, texts: Texts | None = None) -> None:
    language = message.from_user.language_code if message.from_user else None
    await message.answer(_texts(texts, language, settings)("leftover.unsupported"))


async def unknown_button(
    query: CallbackQuery, settings: ChatSettings, texts: Texts | None = None
) -> None:
    words = _texts(texts, query.from_user.language_code, settings)
    if isinstance(query, ReplyCallbackQuery):
        # aiogram-dialog's stand-in for a press on a reply keyboard's button: there is
        # no query at Telegram to answer, the person sent a message.
        await query.original_message.answer(words("leftover.button"))
        return
    await query.answer(words("leftover.button"))
