"""Unfinished intake drafts: when each was last touched, and the 30-minute reminder.

Decisions:

- The draft itself is the dialog's data in the FSM storage. Beside it lives a
  small *activity record* per chat: the time of the customer's last action in
  the intake dialog and the language to remind them in. It is written when the
  dialog starts and after every update the dialog handles, and removed when the
  dialog closes (submitted or cancelled).
- The record lives where the draft lives: in Redis (a sorted set scored by the
  last activity plus a hash of languages) when the FSM storage is Redis, in
  process memory otherwise. So a draft that survives a restart keeps its
  reminder, and a draft lost with the memory storage takes its record with it.
- A background task started on dispatcher startup (stopped on shutdown) looks
  every minute for records idle for 30 minutes. Each due record is *claimed* by
  removing it (``ZREM`` answers 1 to exactly one caller), so with several
  replicas each reminder is sent once. The reminder is a plain message with a
  "Continue" button (the /start menu's "new request" callback, which re-shows
  the current step of an existing draft); it is pure interface, like the
  dialog's own messages, so it does not go through the outbox.
- Once reminded, the record is gone: the customer is reminded once per idle
  spell. Their next action in the dialog writes a fresh record, so a customer
  who comes back and goes idle again is reminded again 30 minutes later.
- A reminder that cannot be delivered (the customer blocked the bot) is
  logged and dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Protocol

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder
from redis.asyncio import Redis

from locales import Texts
from tgkit.callbacks import MenuAction, MenuCallback
from tgkit.loop import BackgroundLoop

log = logging.getLogger(__name__)

IDLE_SECONDS = 30 * 60
SCAN_SECONDS = 60.0


@dataclass(frozen=True)
class IdleDraft:
    chat_id: int
    user_id: int
    locale: str
    topic: str


class DraftActivity(Protocol):
    async def touch(
        self, chat_id: int, user_id: int, *, at: float, locale: str, topic: str = ""
    ) -> None:
        """The customer acted in their draft at ``at`` (seconds since the epoch)."""

    async def forget(self, chat_id: int, user_id: int) -> None:
        """The draft is gone (submitted or cancelled): no reminder."""

    async def claim_idle(self, before: float) -> list[IdleDraft]:
        """Remove and return the drafts last touched before ``before``.

        A record is returned to one caller only, however many replicas ask.
        """


def _member(chat_id: int, user_id: int) -> str:
    return f"{chat_id}:{user_id}"


class MemoryDraftActivity:
    """For the memory FSM storage: one process, drafts die with it."""

    def __init__(self) -> None:
        self._records: dict[str, tuple[float, IdleDraft]] = {}

    async def touch(
        self, chat_id: int, user_id: int, *, at: float, locale: str, topic: str = ""
    ) -> None:
        self._records[_member(chat_id, user_id)] = (at, IdleDraft(chat_id, user_id, locale, topic))

    async def forget(self, chat_id: int, user_id: int) -> None:
        self._records.pop(_member(chat_id, user_id), None)

    async def claim_idle(self, before: float) -> list[IdleDraft]:
        due = [key for key, (at, _) in self._records.items() if at <= before]
        return [self._records.pop(key)[1] for key in due]


_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 500)
local out = {}
for _, member in ipairs(due) do
    redis.call('ZREM', KEYS[1], member)
    table.insert(out, member)
    table.insert(out, redis.call('HGET', KEYS[2], member) or '')
    redis.call('HDEL', KEYS[2], member)
end
return out
"""


# A draft's time (KEYS[1], a sorted set) and what it is about (KEYS[2], a hash),
# written or removed together: ARGV member, then time and about.
_TOUCH = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 0
"""

_FORGET = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 0
"""


class RedisDraftActivity:
    """For the Redis FSM storage: shared by replicas, survives restarts.

    Each write is one script, not a MULTI/EXEC pipeline: a transaction takes a
    connection and a round trip of its own, while a script's call shares the trip
    of whatever else the burst sends (``tgkit.autopipe``), and is as atomic.
    """

    def __init__(self, redis: Redis, prefix: str = "ctv:intake") -> None:
        self._redis = redis
        self._times = f"{prefix}:activity"
        self._about = f"{prefix}:drafts"
        self._claim = redis.register_script(_CLAIM)
        self._touch = redis.register_script(_TOUCH)
        self._forget = redis.register_script(_FORGET)

    async def touch(
        self, chat_id: int, user_id: int, *, at: float, locale: str, topic: str = ""
    ) -> None:
        member = _member(chat_id, user_id)
        await self._touch(
            keys=[self._times, self._about], args=[member, repr(at), f"{locale}\n{topic}"]
        )

    async def forget(self, chat_id: int, user_id: int) -> None:
        await self._forget(keys=[self._times, self._about], args=[_member(chat_id, user_id)])

    async def claim_idle(self, before: float) -> list[IdleDraft]:
        # One script, so a record is claimed once and a customer who acted
        # between the look-up and the removal is not reminded.
        flat = await self._claim(keys=[self._times, self._about], args=[before])
        claimed: list[IdleDraft] = []
        for raw_member, raw_about in zip(flat[::2], flat[1::2], strict=True):
            member = raw_member.decode() if isinstance(raw_member, bytes) else str(raw_member)
            about = raw_about.decode() if isinstance(raw_about, bytes) else str(raw_about)
            locale, _, topic = about.partition("\n")
            chat_id, _, user_id = member.partition(":")
            claimed.append(IdleDraft(int(chat_id), int(user_id), locale, topic))
        return claimed


def continue_keyboard(texts: Texts) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=texts("intake.buttons.continue"), callback_data=MenuCallback(action=MenuAction.NEW)
    )
    return builder.as_markup()


class IdleReminder:
    """Reminds customers of drafts idle for ``idle`` seconds, once per idle spell."""

    def __init__(
        self,
        activity: DraftActivity,
        *,
        idle: float = IDLE_SECONDS,
        every: float = SCAN_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.activity = activity
        self.idle = idle
        self.every = every
        self.clock = clock
        self._loop: BackgroundLoop | None = None
        # What this process last wrote per draft: (when, locale, topic).
        self._written: dict[tuple[int, int], tuple[float, str, str]] = {}

    @property
    def resolution(self) -> float:
        """How stale the stored activity may be: a step within this long of the last
        one written, with the same locale and topic, is not written again (each step
        of an intake would otherwise cost a write, with Redis a round trip). The
        reminder may thus come this much early after a 30-minute silence."""
        return self.idle / 60

    async def touch(self, chat_id: int, user_id: int, *, locale: str, topic: str = "") -> None:
        now = self.clock()
        key = (chat_id, user_id)
        written = self._written.get(key)
        if (
            written is not None
            and written[1:] == (locale, topic)
            and now - written[0] < self.resolution
        ):
            return
        await self.activity.touch(chat_id, user_id, at=now, locale=locale, topic=topic)
        if len(self._written) > 10_000:
            self._written = {k: v for k, v in self._written.items() if now - v[0] < self.resolution}
        self._written[key] = (now, locale, topic)

    async def forget(self, chat_id: int, user_id: int) -> None:
        self._written.pop((chat_id, user_id), None)
        await self.activity.forget(chat_id, user_id)

    async def remind_idle(self, bot: Bot) -> int:
        """Send the due reminders; return how many were sent."""
        sent = 0
        for draft in await self.activity.claim_idle(self.clock() - self.idle):
            texts = Texts(draft.locale)
            text = (
                texts("intake.reminder", topic=escape(draft.topic))
                if draft.topic
                else texts("intake.reminder_no_topic")
            )
            try:
                await bot.send_message(draft.chat_id, text, reply_markup=continue_keyboard(texts))
            except TelegramAPIError as error:
                log.warning("draft reminder to chat %s not delivered: %s", draft.chat_id, error)
                continue
            sent += 1
        return sent

    @property
    def running(self) -> bool:
        return self._loop is not None

    async def start(self, bot: Bot) -> None:
        if self._loop is None:

            async def scan() -> None:
                await self.remind_idle(bot)

            self._loop = BackgroundLoop("intake-draft-reminders", scan, interval=self.every)
            self._loop.start()

    async def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is not None:
            await loop.stop()
