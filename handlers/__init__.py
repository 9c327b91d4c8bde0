"""Customer-facing routers for private chats (thin: they parse and render, the desk decides)."""

from aiogram import F, Router
from aiogram.enums import ChatType

from dialogs.intake import NotDraftAnswer
from dialogs.manager import NotDialogButton
from handlers import actions, help, intake, leftovers, my, relay, start
from tgkit.filters import Inline


def router() -> Router:
    parent = Router(name=__name__)
    parent.message.filter(Inline(F.chat.type == ChatType.PRIVATE), NotDraftAnswer())
    parent.callback_query.filter(Inline(F.message.chat.type == ChatType.PRIVATE), NotDialogButton())
    parent.include_router(start.router())
    parent.include_router(help.router())
    parent.include_router(my.router())
    parent.include_router(actions.router())
    parent.include_router(intake.router())
    # Last: a plain message with no dialog or question pending goes to a request.
    parent.include_router(relay.router())
    return parent


def leftovers_router() -> Router:
    """What nothing else took (see ``handlers.leftovers``); included after the dialogs."""
    return leftovers.router()
