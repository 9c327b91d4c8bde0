"""/start: greet, say what the desk does and when, offer the two main actions.

A deep-link payload (``t.me/<bot>?start=<payload>``) may open one of the
customer's requests (``t_1042``), tie the customer to their organisation
with a signed link from the cabinet (``o_…``, see desk/links.py), or tie this
Telegram account to a cabinet customer and the request the cabinet just filed
(``c_…``, handed out by the HTTP API). A bad link
is said so in one line, and the normal start follows.
"""

from __future__ import annotations

from html import escape

from aiogram import Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message

from desk.errors import InvalidLink, NotFound
from desk.links import is_organisation_link, is_request_link
from desk.model import format_number, parse_number
from desk.service import Actor, Desk
from handlers.my import show_ticket
from locales import Texts
from tgkit.config import ChatSettings
from tgkit.menu import main_menu

TICKET_PREFIX = "t_"


def ticket_link_payload(number: int) -> str:
    return f"{TICKET_PREFIX}{number}"


async def start(
    message: Message,
    command: CommandObject,
    texts: Texts,
    settings: ChatSettings,
    desk: Desk,
    actor: Actor,
) -> None:
    payload = (command.args or "").strip()
    if payload.startswith(TICKET_PREFIX):
        number = parse_number(payload.removeprefix(TICKET_PREFIX))
        try:
            if number is None:
                raise NotFound("no number in the link")
            ticket = await desk.ticket(actor, number)
        except NotFound:
            await message.answer(texts("start.link_not_found"))
        else:
            await show_ticket(message, desk, actor, texts, ticket)
            return
    elif is_request_link(payload):
        try:
            followed = await desk.follow_cabinet_link(
                actor, payload, secret=settings.link_secret.get_secret_value()
            )
            ticket = await desk.ticket(actor, followed.number)
        except (InvalidLink, NotFound):
            await message.answer(texts("start.link_invalid"))
        else:
            shown = format_number(followed.number)
            await message.answer(texts("start.linked_request", number=shown))
            await show_ticket(message, desk, actor, texts, ticket)
            return
    elif is_organisation_link(payload):
        try:
            organisation = await desk.join_organisation(
                actor, payload, secret=settings.link_secret.get_secret_value()
            )
        except (InvalidLink, NotFound):
            await message.answer(texts("start.link_invalid"))
        else:
            await message.answer(texts("start.linked", organisation=escape(organisation)))
    name = message.from_user.first_name if message.from_user else ""
    opens, _, closes = settings.support_hours.partition("-")  # "HH:MM-HH:MM", validated at start-up
    await message.answer(
        texts(
            "start.greeting",
            name=escape(name),
            start=escape(opens.strip()),
            end=escape(closes.strip()),
        ),
        reply_markup=main_menu(texts),
    )


def router() -> Router:
    """A fresh router: each Dispatcher (one per process, several in tests) gets its own."""
    router = Router(name=__name__)
    router.message.register(start, CommandStart())
    return router
