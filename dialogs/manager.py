"""Which message is the dialog's own when a button outside the dialog opens it.

aiogram-dialog takes the message of any pressed button for the dialog's last
message: when the greeting's "New request" (or the reminder's "Continue")
opens the intake in a new message, it first strips the greeting's keyboard
(an ``editMessageReplyMarkup`` before every such window: a third of the calls
of that step). The greeting is not the dialog's; its menu stays where it is,
so "My requests" and "New request" still work from it. When a draft is open,
its own last window is the one whose keyboard goes, as for a typed answer:
only one window of the draft has live buttons.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, ErrorEvent
from aiogram_dialog.api.entities import (
    EVENT_CONTEXT_KEY,
    ChatEvent,
    EventContext,
    OldMessage,
    UnknownText,
)
from aiogram_dialog.api.internal import DataGetter, DialogManagerFactory
from aiogram_dialog.api.protocols import (
    DialogManager,
    DialogRegistryProtocol,
    MediaIdStorageProtocol,
    MessageManagerProtocol,
)
from aiogram_dialog.manager.manager import ManagerImpl
from aiogram_dialog.utils import CB_SEP


def is_dialog_button(callback: CallbackQuery) -> bool:
    """aiogram-dialog's buttons carry their dialog's intent id before ``CB_SEP``."""
    return CB_SEP in (callback.data or "")


class NotDialogButton(Filter):
    """For routers of plain handlers: a dialog's button is none of theirs.

    Every press walks every router and tries every button filter on its way
    (aiogram checks them one by one); a dialog's press skips a score of them.
    """

    async def __call__(self, callback: CallbackQuery) -> bool:
        return not is_dialog_button(callback)


class DeskManager(ManagerImpl):
    def _get_last_message(self) -> OldMessage | None:
        event = self.event.update.event if isinstance(self.event, ErrorEvent) else self.event
        if not isinstance(event, CallbackQuery) or is_dialog_button(event):
            return super()._get_last_message()
        # As for a typed message: the stack's last window, if there is one.
        stack = self.current_stack()
        context: EventContext | None = self.middleware_data.get(EVENT_CONTEXT_KEY)
        if not stack or not stack.last_message_id or context is None:
            return None
        return OldMessage(
            media_id=stack.last_media_id,
            media_uniq_id=stack.last_media_unique_id,
            text=UnknownText.UNKNOWN,
            has_protected_content=stack.has_protected_content,
            has_reply_keyboard=stack.last_reply_keyboard,
            chat=context.chat,
            message_id=stack.last_message_id,
            business_connection_id=context.business_connection_id,
            content_type=stack.content_type,
        )


class DeskManagerFactory(DialogManagerFactory):
    def __init__(
        self,
        message_manager: MessageManagerProtocol,
        media_id_storage: MediaIdStorageProtocol,
        getter: DataGetter | None = None,
    ) -> None:
        self.message_manager = message_manager
        self.media_id_storage = media_id_storage
        self.getter = getter

    def __call__(
        self,
        event: ChatEvent,
        data: dict,  # type: ignore[type-arg]
        registry: DialogRegistryProtocol,
        router: Router,
    ) -> DialogManager:
        return DeskManager(
            event=event,
            data=data,
            message_manager=self.message_manager,
            media_id_storage=self.media_id_storage,
            registry=registry,
            router=router,
            getter=self.getter,
        )
