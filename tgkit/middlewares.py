"""Per-update context: the acting user and their language (dedupe is ``tgkit.updates``)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, User

from desk.model import Role
from desk.roles import StaffIds, roles_of
from desk.service import Desk
from locales import Texts, pick_locale
from tgkit.config import ChatSettings

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class ActorMiddleware(BaseMiddleware):
    """Who is acting in a private chat (a customer or staff, R11), and in which language.

    Group chats are left alone: the backoffice resolves its agents itself
    (settings or group membership), and nobody in a group becomes a customer.
    """

    def __init__(self, desk: Desk, settings: ChatSettings) -> None:
        self._desk = desk
        self._settings = settings

    def staff_roles(self, user_id: int) -> frozenset[Role]:
        settings = self._settings
        ids = StaffIds(settings.agent_ids, settings.manager_ids, settings.admin_ids)
        return roles_of(user_id, ids)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        if user is None or user.is_bot or (chat is not None and chat.type != "private"):
            return await handler(event, data)
        actor = data["actor"] = await self._desk.register_telegram_user(
            user.id,
            name=user.full_name,
            username=user.username,
            language=user.language_code,
            staff_roles=self.staff_roles(user.id),
        )
        language = actor.language or user.language_code
        data["texts"] = Texts(pick_locale(language, self._settings.default_locale))
        return await handler(event, data)
