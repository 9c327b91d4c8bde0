"""The agents' group: cards or forum topics, buttons, reply relay, notes, queue, digests."""

from __future__ import annotations

from aiogram import Dispatcher, Router
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import TelegramObject

from backoffice import buttons, commands, digest, prompts, relay
from backoffice.access import ErrorInBackoffice, InBackoffice, Stranger
from backoffice.common import refused
from desk.errors import DeskError
from desk.service import Desk
from tgkit.config import ChatSettings


def router(desk: Desk, settings: ChatSettings) -> Router:
    """Every backoffice handler, behind one filter: the event is in the agents' group."""
    parent = Router(name=__name__)
    in_backoffice = InBackoffice(desk, settings)
    parent.message.filter(in_backoffice)
    parent.edited_message.filter(in_backoffice)
    parent.callback_query.filter(in_backoffice)
    # The desk's refusals, whichever handler below met them; anything else goes
    # on to the bot's own error router (logged, "something went wrong").
    parent.errors.register(refused, ExceptionTypeFilter(DeskError), ErrorInBackoffice(settings))
    # Strangers first: nothing they press or write reaches the desk.
    parent.callback_query.register(buttons.stranger, Stranger())
    parent.message.register(_ignore, Stranger())
    parent.edited_message.register(_ignore, Stranger())
    parent.include_router(buttons.router())
    parent.include_router(commands.router())
    # Before the relay: a reply to a prompt is the text the prompt asked for.
    parent.include_router(prompts.router())
    parent.include_router(relay.router())
    return parent


async def _ignore(event: TelegramObject) -> None:
    """Handled, so that nothing else in the bot takes a group message for its own."""


def setup(dispatcher: Dispatcher) -> None:
    """Register the backoffice routers on the dispatcher: the group's, and /digest in private.

    /digest in a private chat comes before the customers' routers, which would
    take it for a message to a request.
    """
    dispatcher.include_router(router(dispatcher["desk"], dispatcher["settings"]))
    dispatcher.include_router(digest.private_router())
