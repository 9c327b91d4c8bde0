"""Per-update context: the acting user and their language (dedupe is ``tgkit.updates``).

Looking a person up costs a database round trip on every update, a third of a
burst's time; most updates come from someone the process saw seconds ago. So
the actor is remembered for ``ActorCache.ttl`` seconds, keyed by what Telegram
says of the person (name, username, language, staff roles): any change there
goes to the database. What the database may change meanwhile:

- the customer blocked the bot (the outbox sender got 403): the sender leaves a
  mark (``BlockedMarks``: in Redis when replicas share it, else in memory), and
  the person's next update goes to the database, which notes they are back;
- the customer chose a language with /lang: that process forgets them at once;
  another replica may show the old language for up to ``ttl`` seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, User
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from desk.model import Role
from desk.roles import StaffIds, roles_of
from desk.service import Desk
from desk.values import Actor
from locales import Texts, pick_locale
from tgkit.config import ChatSettings

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


ACTOR_TTL = 60.0
Fingerprint = tuple[str, str | None, str | None, frozenset[Role]]


class BlockedMarks(Protocol):
    async def add(self, user_id: int) -> None:
        """The person blocked the bot (a send to them was refused)."""

    async def take(self, user_id: int) -> bool:
        """True (once) when the person was marked since."""


class MemoryBlocked:
    def __init__(self) -> None:
        self._ids: set[int] = set()

    async def add(self, user_id: int) -> None:
        self._ids.add(user_id)

    async def take(self, user_id: int) -> bool:
        if user_id in self._ids:
            self._ids.discard(user_id)
            return True
        return False


class RedisBlocked:
    """Seen by every replica: the sender that got the 403 may not be the one the person
    writes to next.

    Asked on every update of a remembered person, so not asked of Redis each time:
    the marks are a sorted set by the time they were made, and each process reads
    the ones made since its last look at most every ``refresh`` seconds (one round
    trip a second, not one per update). A mark reaches the other replicas that much
    later; a person who blocked the bot and writes again within that second is
    sent to the database when their cached entry ends. Marks older than ``keep_for``
    are dropped: a cached entry made before the mark lives no longer than that.
    """

    KEY = "ctv:blocked:at"
    # Clocks of replicas may differ a little: each look goes back this far.
    OVERLAP = 5.0

    def __init__(
        self,
        redis: Redis,
        *,
        refresh: float = 1.0,
        keep_for: float = 2 * ACTOR_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._refresh = refresh
        self._keep_for = keep_for
        self._clock = clock
        self._marked: dict[int, float] = {}  # person → when marked (wall clock)
        self._looked_at: float | None = None  # monotonic time of the last look
        self._since = 0.0  # marks made after this (wall clock) were read

    async def add(self, user_id: int) -> None:
        at = self._clock()
        self._marked[user_id] = at
        try:
            await self._redis.zadd(self.KEY, {str(user_id): at})
        except (RedisConnectionError, RedisTimeoutError) as error:
            # The database has the mark; replicas see it when their cache entry ends.
            log.warning("Redis unreachable (%s); the blocked mark stays local", error)

    async def take(self, user_id: int) -> bool:
        try:
            await self._look()
            if user_id not in self._marked:
                return False
            del self._marked[user_id]
            await self._redis.zrem(self.KEY, str(user_id))
            return True
        except (RedisConnectionError, RedisTimeoutError):
            return True  # unknown: ask the database, which knows for sure

    async def _look(self) -> None:
        now = time.monotonic()
        if self._looked_at is not None and now - self._looked_at < self._refresh:
            return
        wall = self._clock()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zremrangebyscore(self.KEY, "-inf", wall - self._keep_for)
            pipe.zrangebyscore(self.KEY, self._since - self.OVERLAP, "+inf", withscores=True)
            _, marks = await pipe.execute()
        old = wall - self._keep_for
        self._marked = {person: at for person, at in self._marked.items() if at > old}
        self._marked.update((int(member), float(at)) for member, at in marks)
        self._since = wall
        self._looked_at = now


class ActorCache:
    def __init__(self, blocked: BlockedMarks, ttl: float = ACTOR_TTL) -> None:
        self.blocked = blocked
        self.ttl = ttl
        self._entries: dict[int, tuple[Fingerprint, Actor, float]] = {}

    async def get(self, user_id: int, fingerprint: Fingerprint) -> Actor | None:
        entry = self._entries.get(user_id)
        if entry is None or entry[0] != fingerprint or entry[2] < time.monotonic():
            return None
        if await self.blocked.take(user_id):
            self.forget(user_id)
            return None
        return entry[1]

    def put(self, user_id: int, fingerprint: Fingerprint, actor: Actor) -> None:
        if len(self._entries) > 100_000:
            now = time.monotonic()
            self._entries = {k: v for k, v in self._entries.items() if v[2] >= now}
        self._entries[user_id] = (fingerprint, actor, time.monotonic() + self.ttl)

    def forget(self, user_id: int) -> None:
        self._entries.pop(user_id, None)

    def peek(self, user_id: int) -> Actor | None:
        """The person as last found, however old: memory only, it cannot fail."""
        entry = self._entries.get(user_id)
        return entry[1] if entry is not None else None


class ActorMiddleware(BaseMiddleware):
    """Who is acting in a private chat (a customer or staff, R11), and in which language.

    Group chats are left alone: the backoffice resolves its agents itself
    (settings or group membership), and nobody in a group becomes a customer.
    """

    def __init__(self, desk: Desk, settings: ChatSettings, cache: ActorCache | None = None) -> None:
        self._desk = desk
        self._settings = settings
        self.cache = cache or ActorCache(MemoryBlocked())

    def staff_roles(self, user_id: int) -> frozenset[Role]:
        settings = self._settings
        ids = StaffIds(settings.agent_ids, settings.manager_ids, settings.admin_ids)
        return roles_of(user_id, ids)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        if user is None or user.is_bot or (chat is not None and chat.type != "private"):
            return await handler(event, data)
        roles = self.staff_roles(user.id)
        fingerprint = (user.full_name, user.username, user.language_code, roles)
        data["actor_cache"] = self.cache
        actor = await self.cache.get(user.id, fingerprint)
        if actor is None:
            actor = await self._desk.register_telegram_user(
                user.id,
                name=user.full_name,
                username=user.username,
                language=user.language_code,
                staff_roles=roles,
            )
            self.cache.put(user.id, fingerprint, actor)
        data["actor"] = actor
        data["texts"] = self._texts(actor, user)
        return await handler(event, data)

    def _texts(self, actor: Actor | None, user: User) -> Texts:
        language = (actor.language if actor is not None else None) or user.language_code
        return Texts(pick_locale(language, self._settings.default_locale))

    def texts_at_hand(self, user: User | None, chat: Chat | None) -> Texts | None:
        """A private chat's language as this process last knew the person, without
        asking the desk (for error events: the failure may be the database's)."""
        if user is None or user.is_bot or (chat is not None and chat.type != "private"):
            return None
        return self._texts(self.cache.peek(user.id), user)


class ErrorLanguage(BaseMiddleware):
    """On the error event: the failed update's person in the language they chose.

    aiogram hands error handlers the update's data, not the message's or the
    button's, so the language :class:`ActorMiddleware` worked out for the update
    is not among it, and refusals and apologies came in the Telegram client's
    language, not the one chosen with /lang. This puts it back from the actors'
    cache in memory: an error is often an outage of the database or Redis, and the
    answer to it must not depend on them.
    """

    def __init__(self, actors: ActorMiddleware) -> None:
        self._actors = actors

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if "texts" not in data:
            texts = self._actors.texts_at_hand(data.get("event_from_user"), data.get("event_chat"))
            if texts is not None:
                data["texts"] = texts
        return await handler(event, data)
