"""Per-update context: at-most-once processing, the acting user and their language."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, Update, User
from prometheus_client import Counter, Histogram
from sqlalchemy.exc import IntegrityError

from bot.settings import Settings
from desk.model import Role
from desk.roles import StaffIds, roles_of
from desk.service import Desk
from locales import Texts, pick_locale
from storage.db import SessionFactory
from storage.models import ProcessedUpdate

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

UPDATES = Counter("ctv_updates_total", "Telegram updates received", ["outcome"])
UPDATE_SECONDS = Histogram("ctv_update_seconds", "Time to handle one update")


class DedupeMiddleware(BaseMiddleware):
    """Telegram re-sends an update it thinks was lost; handle each update_id once."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        if event.update_id <= 0:
            # Not from Telegram: aiogram-dialog's background updates carry id 0.
            return await handler(event, data)
        try:
            async with self._sessions() as session, session.begin():
                session.add(ProcessedUpdate(update_id=event.update_id))
        except IntegrityError:
            UPDATES.labels("duplicate").inc()
            log.info("update %s already processed; skipped", event.update_id)
            return None
        started = time.perf_counter()
        try:
            result = await handler(event, data)
        except Exception:
            UPDATES.labels("error").inc()
            raise
        UPDATES.labels("ok").inc()
        UPDATE_SECONDS.observe(time.perf_counter() - started)
        return result


class ActorMiddleware(BaseMiddleware):
    """Who is acting in a private chat (a customer or staff, R11), and in which language.

    Group chats are left alone: the backoffice resolves its agents itself
    (settings or group membership), and nobody in a group becomes a customer.
    """

    def __init__(self, desk: Desk, settings: Settings) -> None:
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
