"""Customer dialogs built with aiogram-dialog: the intake of a new request (/new) is the only one.

Reopening with a reason and rating are plain handlers (handlers/actions.py), not dialogs.
"""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.filters import ExceptionTypeFilter
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.fsm.storage.redis import RedisStorage
from aiogram_dialog import setup_dialogs
from aiogram_dialog.api.exceptions import OutdatedIntent, UnknownIntent
from aiogram_dialog.api.protocols import MessageManagerProtocol
from aiogram_dialog.context.media_storage import MediaIdStorage
from aiogram_dialog.manager.message_manager import MessageManager

from dialogs import ids
from dialogs.common import on_stale_button
from dialogs.drafts import IdleReminder, MemoryDraftActivity, RedisDraftActivity
from dialogs.intake import DraftOwnsMessages, intake_dialog
from dialogs.manager import DeskManagerFactory
from dialogs.typed import TypedNotPressed
from tgkit.flow import DialogOnChatIsolation, LeasedIsolation

REMINDER_KEY = "intake_reminder"


def _reminder_for(dispatcher: Dispatcher) -> IdleReminder:
    storage = dispatcher.storage
    if isinstance(storage, RedisStorage):
        # Beside the drafts themselves, so both survive a restart together.
        return IdleReminder(RedisDraftActivity(storage.redis))
    return IdleReminder(MemoryDraftActivity())


def setup(
    dispatcher: Dispatcher,
    *,
    message_manager: MessageManagerProtocol | None = None,
    reminder: IdleReminder | None = None,
) -> None:
    """Register the dialogs and aiogram-dialog's machinery on the dispatcher.

    ``message_manager`` and ``reminder`` are for tests (aiogram-dialog's
    MockMessageManager, a reminder with a clock the test moves).
    """
    ids.install()
    reminder = reminder or _reminder_for(dispatcher)
    dispatcher.workflow_data[REMINDER_KEY] = reminder
    dispatcher.include_router(intake_dialog(reminder))

    isolation: BaseEventIsolation | None = None
    chat_turns = dispatcher.fsm.events_isolation
    if isinstance(chat_turns, LeasedIsolation):
        # Album items may reach different replicas: the dialog's lock must be shared,
        # and a lease, so a replica killed while holding it frees the chat in seconds.
        # It is the chat's own turn, which the dispatcher holds already (tgkit.flow).
        isolation = DialogOnChatIsolation(chat_turns)
    # aiogram-dialog's own media cache, as setup_dialogs would make it (its __init__ is untyped).
    media = MediaIdStorage()  # type: ignore[no-untyped-call]
    factory = DeskManagerFactory(message_manager or MessageManager(), media)
    # Before aiogram-dialog's own middleware, which would read the text as a press.
    dispatcher.message.outer_middleware(TypedNotPressed())
    setup_dialogs(dispatcher, dialog_manager_factory=factory, events_isolation=isolation)
    # Registered after setup_dialogs: it reads the dialog context loaded there.
    dispatcher.message.outer_middleware(DraftOwnsMessages())

    # On the dispatcher itself, so that it runs before the catch-all error
    # handler of tgkit/errors.py, which sits in an included router.
    dispatcher.errors.register(on_stale_button, ExceptionTypeFilter(UnknownIntent, OutdatedIntent))

    async def start_reminders(bot: Bot) -> None:
        await reminder.start(bot)

    async def stop_reminders() -> None:
        await reminder.stop()

    dispatcher.startup.register(start_reminders)
    dispatcher.shutdown.register(stop_reminders)
