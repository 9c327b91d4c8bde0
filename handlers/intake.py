"""/new and the "New request" button: open the intake dialog (dialogs/intake.py).

An unfinished draft is shown again where the customer left it rather than
thrown away; the dialog's own Cancel discards it.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram_dialog import DialogManager, ShowMode

from dialogs.intake import show_or_start
from tgkit.callbacks import MenuAction, MenuCallback


async def new_request(_message: Message, dialog_manager: DialogManager) -> None:
    await show_or_start(dialog_manager, show_mode=ShowMode.SEND)


async def new_request_button(callback: CallbackQuery, dialog_manager: DialogManager) -> None:
    await callback.answer()
    # A new message: the greeting (or the reminder) with its button stays as it was
    # (dialogs.manager: aiogram-dialog would strip its keyboard).
    await show_or_start(dialog_manager, show_mode=ShowMode.SEND)


def router() -> Router:
    """A fresh router: each Dispatcher (one per process, several in tests) gets its own."""
    router = Router(name=__name__)
    router.message.register(new_request, Command("new"))
    router.callback_query.register(
        new_request_button, MenuCallback.filter(F.action == MenuAction.NEW)
    )
    return router
