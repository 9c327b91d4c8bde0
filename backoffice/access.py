"""Who acts in the agents' group, and whether they may (R11).

Agents are the ids in ``AGENT_IDS`` and ``ADMIN_IDS``; with no ``AGENT_IDS``
they default to the members of the backoffice group, asked of Telegram and
remembered for a few minutes (the rule is ``desk.roles.roles_of``). Managers
(``MANAGER_IDS``) act as managers: they may read and write internal notes, the
desk refuses them the rest. Anyone else
is a stranger: they get an alert and nothing changes.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, ErrorEvent, Message, TelegramObject, User

from desk.model import Role
from desk.roles import StaffIds, membership_counts, roles_of
from desk.service import Actor, Desk
from locales import Texts
from tgkit.config import ChatSettings

log = logging.getLogger(__name__)

MEMBERSHIP_SECONDS = 300.0
MEMBER_STATUSES = frozenset({"creator", "administrator", "member", "restricted"})


class Membership:
    """Whether a user is in the backoffice group, cached: one getChatMember per user per minutes."""

    def __init__(self, ttl: float = MEMBERSHIP_SECONDS) -> None:
        self._ttl = ttl
        self._known: dict[tuple[int, int], tuple[bool, float]] = {}

    async def is_member(self, bot: Bot, chat_id: int, user_id: int) -> bool:
        key = (chat_id, user_id)
        cached = self._known.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        try:
            member = await bot.get_chat_member(chat_id, user_id)
        except TelegramAPIError as error:
            # Unknown is not a member; not remembered, so the next update asks again.
            log.warning("getChatMember %s/%s failed: %s", chat_id, user_id, error)
            return False
        present = member.status in MEMBER_STATUSES
        self._known[key] = (present, time.monotonic() + self._ttl)
        return present


async def staff_roles(
    settings: ChatSettings, membership: Membership, bot: Bot, user: User
) -> frozenset[Role]:
    ids = StaffIds(settings.agent_ids, settings.manager_ids, settings.admin_ids)
    # Telegram is asked only when membership can matter (no AGENT_IDS, DESIGN §3).
    member = membership_counts(user.id, ids) and await membership.is_member(
        bot, settings.backoffice_chat_id, user.id
    )
    return roles_of(user.id, ids, group_member=member)


def _chat_id(event: TelegramObject) -> int | None:
    if isinstance(event, Message):
        return event.chat.id
    if isinstance(event, CallbackQuery) and event.message is not None:
        return event.message.chat.id
    return None


class InBackoffice(Filter):
    """The root filter of the backoffice routers: the event is in the agents' group.

    It also says who acts: ``actor`` (None for a stranger) and ``texts`` in the
    desk's language join the handler's data.
    """

    def __init__(self, desk: Desk, settings: ChatSettings) -> None:
        self._desk = desk
        self._settings = settings
        self._membership = Membership()

    async def __call__(self, event: TelegramObject, bot: Bot, **data: Any) -> bool | dict[str, Any]:
        if _chat_id(event) != self._settings.backoffice_chat_id:
            return False
        texts = Texts(self._settings.default_locale)
        user: User | None = data.get("event_from_user")
        actor: Actor | None = None
        if user is not None and not user.is_bot:
            roles = await staff_roles(self._settings, self._membership, bot, user)
            if roles:
                actor = await self._desk.register_telegram_user(
                    user.id, name=user.full_name, username=user.username, staff_roles=roles
                )
        return {"actor": actor, "texts": texts}


class ErrorInBackoffice(Filter):
    """An error raised by an update from the agents' group; ``texts`` in the desk's language.

    Error events do not pass ``InBackoffice``, so the chat is read off the update.
    """

    def __init__(self, settings: ChatSettings) -> None:
        self._settings = settings

    async def __call__(self, event: ErrorEvent) -> bool | dict[str, Any]:
        update = event.update
        source = update.message or update.edited_message or update.callback_query
        if source is None or _chat_id(source) != self._settings.backoffice_chat_id:
            return False
        return {"texts": Texts(self._settings.default_locale)}


class Stranger(Filter):
    """Someone in the group the desk does not count as staff."""

    async def __call__(self, event: TelegramObject, actor: Actor | None = None) -> bool:
        return actor is None
