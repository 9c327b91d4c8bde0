"""Pacing in front of every message the bot sends or edits, so Telegram never has to say 429.

Telegram's published flood limits, as the project's emulator models them
(``tgemulator/limits.py``):

- about 1 message per second per chat, with short bursts (a token bucket of 3);
- 20 messages per minute per group or supergroup (any sliding minute), on top of the above;
- 30 messages per second in total (any sliding second).

Only calls that put or change a message in a chat count: ``send*`` (not
``sendChatAction``), ``copyMessage(s)``, ``forwardMessage(s)``, ``editMessage*`` and
``stopPoll``. ``sendMediaGroup`` counts as one call, as the emulator counts it.

Per chat the limiter keeps a GCRA (the token bucket as one timestamp); per group and
globally a log of the last sends (a sorted set), because those limits are windows: a
bucket would let ``burst + rate × window`` through in one window. Every interval is
widened by ``Limits.margin`` seconds since a request reaches Telegram a little later
and not quite evenly after the limiter let it go.

Without Redis the state lives in the process; with Redis one Lua script checks and
takes all the keys of a send at once, with Redis's clock, so replicas sharing it stay
inside the limits together. A send either takes every key or none: a send refused by
its chat does not spend global budget.

Priority: callers wrap a send in ``with priority(Priority.URGENT): ...`` (a
contextvar, so it reaches the request middleware without new parameters). When the
global budget is exhausted, waiters line up by priority, then arrival; the head alone
retries, so a customer's answer or a P1 card goes before a digest. The line is per
process: across replicas the budget is shared but the order is each replica's own.

A 429 that still comes (another bot on the same token, Telegram tightening a limit)
blocks that chat for ``retry_after`` seconds for every sender sharing the limiter.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import TYPE_CHECKING, Protocol

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from prometheus_client import Counter, Histogram
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tgkit.keyed import KeyedLocks
from tgkit.names import UniqueNames

if TYPE_CHECKING:
    from aiogram import Bot
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

__all__ = [
    "Limiter",
    "LimiterMiddleware",
    "Limits",
    "Priority",
    "counts",
    "priority",
]

WAITED = Histogram(
    "ctv_tg_limiter_wait_seconds",
    "Time a send waited for the flood limits",
    ["priority"],
    buckets=(0.0, 0.05, 0.25, 1.0, 3.0, 10.0, 30.0, 60.0),
)
PENALTIES = Counter(
    "ctv_tg_limiter_penalties_total", "429 answers that blocked a chat in the limiter"
)

ChatId = int | str


class Priority(IntEnum):
    """Higher goes first when the global budget is contended."""

    BACKGROUND = 0  # digests, reminders
    NORMAL = 1
    CUSTOMER = 2  # answers a customer is waiting for
    URGENT = 3  # P1 requests


@functools.cache
def _waited(level: Priority) -> Histogram:
    """The histogram's child of a priority: ``labels()`` looks it up under a lock each time."""
    return WAITED.labels(level.name.lower())


_priority: ContextVar[Priority] = ContextVar("tgkit_priority", default=Priority.NORMAL)


@contextlib.contextmanager
def priority(level: Priority) -> Iterator[None]:
    """Sends made inside the block wait in the global line at ``level``."""
    token = _priority.set(level)
    try:
        yield
    finally:
        _priority.reset(token)


def current_priority() -> Priority:
    return _priority.get()


_COUNTED_EXACT = frozenset(
    {"copyMessage", "copyMessages", "forwardMessage", "forwardMessages", "stopPoll"}
)


def counts(api_method: str) -> bool:
    """Whether a Bot API method counts toward the flood limits."""
    if api_method == "sendChatAction":
        return False
    return api_method.startswith(("send", "editMessage")) or api_method in _COUNTED_EXACT


def is_group(chat_id: ChatId) -> bool:
    # Groups, supergroups and channels have negative ids; an @username is a public
    # group or channel (private chats are never addressed by name).
    return isinstance(chat_id, str) or chat_id < 0


@dataclass(frozen=True)
class Limits:
    chat_per_second: float = 1.0
    chat_burst: int = 3
    group_count: int = 20
    group_window: float = 60.0
    global_count: int = 30
    global_window: float = 1.0
    # Seconds added to every interval and window: latency jitter between the limiter
    # and Telegram must not turn an exact pace into a 429.
    margin: float = 0.05

    def faster(self, factor: float) -> Limits:
        """The same limits with time running ``factor`` times faster (for tests with a fast
        emulator clock); the margin stays in real seconds."""
        return replace(
            self,
            chat_per_second=self.chat_per_second * factor,
            group_window=self.group_window / factor,
            global_window=self.global_window / factor,
        )

    @property
    def chat_interval(self) -> float:
        return 1.0 / self.chat_per_second + self.margin

    @property
    def chat_tolerance(self) -> float:
        return (self.chat_burst - 1) * self.chat_interval


@dataclass(frozen=True)
class Keys:
    chat: str | None
    penalty: str | None
    group: str | None
    total: str


@dataclass(frozen=True)
class Verdict:
    """Seconds to wait because of the chat (its pace, its group window, a 429) and
    because of the global budget; both zero when the send was let through."""

    chat_wait: float
    global_wait: float

    @property
    def granted(self) -> bool:
        return self.chat_wait <= 0 and self.global_wait <= 0


class Backend(Protocol):
    async def take(self, keys: Keys, limits: Limits) -> Verdict: ...

    async def penalize(self, key: str, seconds: float) -> None: ...


class MemoryBackend:
    """One process's view; the same rules as the Lua script below."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tats: dict[str, float] = {}
        self._penalties: dict[str, float] = {}
        self._logs: dict[str, deque[float]] = {}

    async def take(self, keys: Keys, limits: Limits) -> Verdict:
        now = self._clock()
        chat_wait = 0.0
        tat = now
        if keys.chat is not None and keys.penalty is not None:
            chat_wait = max(0.0, self._penalties.get(keys.penalty, 0.0) - now)
            tat = max(self._tats.get(keys.chat, now), now)
            chat_wait = max(chat_wait, tat - limits.chat_tolerance - now)
        group_log = None
        if keys.group is not None:
            group_log = self._window(keys.group, now, limits.group_window + limits.margin)
            if len(group_log) >= limits.group_count:
                chat_wait = max(chat_wait, group_log[0] + limits.group_window + limits.margin - now)
        total_log = self._window(keys.total, now, limits.global_window + limits.margin)
        global_wait = 0.0
        if len(total_log) >= limits.global_count:
            global_wait = total_log[0] + limits.global_window + limits.margin - now
        verdict = Verdict(chat_wait, global_wait)
        if verdict.granted:
            if keys.chat is not None:
                self._tats[keys.chat] = tat + limits.chat_interval
            if group_log is not None:
                group_log.append(now)
            total_log.append(now)
            self._forget(now)
        return verdict

    async def penalize(self, key: str, seconds: float) -> None:
        until = self._clock() + seconds
        self._penalties[key] = max(until, self._penalties.get(key, 0.0))

    def _window(self, key: str, now: float, window: float) -> deque[float]:
        log = self._logs.setdefault(key, deque())
        while log and log[0] <= now - window:
            log.popleft()
        return log

    def _forget(self, now: float) -> None:
        # A chat whose bucket is full again is the same as a chat never seen.
        if len(self._tats) > 10_000:
            self._tats = {k: v for k, v in self._tats.items() if v > now}
            self._penalties = {k: v for k, v in self._penalties.items() if v > now}
            self._logs = {k: v for k, v in self._logs.items() if v}


# KEYS: chat GCRA, chat penalty, group log, global log ("" when the send has none).
# ARGV: chat interval, chat tolerance, group count, group window, global count,
#       global window, a unique member for the logs.
# Floats go back as strings: Redis would truncate Lua numbers to integers.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2])
local group_count, group_window = tonumber(ARGV[3]), tonumber(ARGV[4])
local global_count, global_window = tonumber(ARGV[5]), tonumber(ARGV[6])
local chat_wait, global_wait, tat = 0, 0, now
if KEYS[1] ~= '' then
  local blocked = tonumber(redis.call('GET', KEYS[2]) or '0')
  if blocked > now then chat_wait = blocked - now end
  tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
  chat_wait = math.max(chat_wait, tat - tolerance - now)
end
if KEYS[3] ~= '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - group_window)
  if redis.call('ZCARD', KEYS[3]) >= group_count then
    local oldest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
    chat_wait = math.max(chat_wait, tonumber(oldest[2]) + group_window - now)
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - global_window)
if redis.call('ZCARD', KEYS[4]) >= global_count then
  local oldest = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
  global_wait = tonumber(oldest[2]) + global_window - now
end
if chat_wait <= 0 and global_wait <= 0 then
  if KEYS[1] ~= '' then
    local next_tat = tat + interval
    redis.call('SET', KEYS[1], tostring(next_tat), 'PX',
      math.ceil((next_tat - now) * 1000) + 1000)
  end
  if KEYS[3] ~= '' then
    redis.call('ZADD', KEYS[3], now, ARGV[7])
    redis.call('PEXPIRE', KEYS[3], math.ceil(group_window * 1000) + 1000)
  end
  redis.call('ZADD', KEYS[4], now, ARGV[7])
  redis.call('PEXPIRE', KEYS[4], math.ceil(global_window * 1000) + 1000)
end
return {tostring(chat_wait), tostring(global_wait)}
"""

# KEYS: chat penalty. ARGV: seconds. Only ever extends a block.
_PENALIZE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local until_ = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > current then
  redis.call('SET', KEYS[1], tostring(until_), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
return 1
"""


class RedisBackend:
    """Shared by every replica on the same Redis (keys of one send must share a node:
    a Redis Cluster would need a hash tag in the prefix)."""

    def __init__(self, redis: Redis) -> None:
        self._take = redis.register_script(_TAKE)
        self._penalize = redis.register_script(_PENALIZE)
        # A send's member in the log of sends, unique across replicas.
        self._sends = UniqueNames()

    async def take(self, keys: Keys, limits: Limits) -> Verdict:
        chat_wait, global_wait = await self._take(
            keys=[keys.chat or "", keys.penalty or "", keys.group or "", keys.total],
            args=[
                repr(limits.chat_interval),
                repr(limits.chat_tolerance),
                limits.group_count,
                repr(limits.group_window + limits.margin),
                limits.global_count,
                repr(limits.global_window + limits.margin),
                self._sends.next(),
            ],
        )
        return Verdict(float(chat_wait), float(global_wait))

    async def penalize(self, key: str, seconds: float) -> None:
        await self._penalize(keys=[key], args=[repr(seconds)])


class FallbackBackend:
    """Redis while it answers, this process's memory while it does not.

    A Redis outage must not silence the bot: the answers and apologies still go
    out, paced within this process (replicas may then together exceed the shared
    limits for a while, and a 429 that follows only slows the chat down).
    """

    def __init__(self, redis: Redis) -> None:
        self._shared = RedisBackend(redis)
        self._local = MemoryBackend()
        self._unreachable = False

    async def take(self, keys: Keys, limits: Limits) -> Verdict:
        try:
            verdict = await self._shared.take(keys, limits)
        except (RedisConnectionError, RedisTimeoutError) as error:
            self._fall_back(error)
            return await self._local.take(keys, limits)
        if self._unreachable:
            self._unreachable = False
            log.info("Redis reachable again; the flood limits are shared again")
        return verdict

    async def penalize(self, key: str, seconds: float) -> None:
        await self._local.penalize(key, seconds)
        try:
            await self._shared.penalize(key, seconds)
        except (RedisConnectionError, RedisTimeoutError) as error:
            self._fall_back(error)

    def _fall_back(self, error: Exception) -> None:
        if not self._unreachable:
            self._unreachable = True
            log.warning("Redis unreachable (%s); pacing sends in this process", error)


@dataclass(order=True)
class _Ticket:
    rank: tuple[int, int]
    turn: asyncio.Event = field(compare=False, default_factory=asyncio.Event)


class Limiter:
    """Waits until a send to a chat fits the flood limits, then lets it go.

    ``redis``: share the limits with every process using the same Redis (several
    replicas, the outbox sender and handlers alike); ``None`` keeps them in this process.
    """

    def __init__(
        self,
        redis: Redis | None = None,
        limits: Limits | None = None,
        *,
        prefix: str = "ctv:tg:limit",
    ) -> None:
        self.limits = limits or Limits()
        self._backend: Backend = FallbackBackend(redis) if redis is not None else MemoryBackend()
        self._prefix = prefix
        self._line: list[_Ticket] = []
        self._arrivals = itertools.count()
        self._chat_gates = KeyedLocks()

    def _keys(self, chat_id: ChatId | None) -> Keys:
        total = f"{self._prefix}:global"
        if chat_id is None:  # an inline message: only the global budget applies
            return Keys(None, None, None, total)
        chat = f"{self._prefix}:chat:{chat_id}"
        group = f"{self._prefix}:group:{chat_id}" if is_group(chat_id) else None
        return Keys(chat, f"{chat}:blocked", group, total)

    async def acquire(self, chat_id: ChatId | None, level: Priority | None = None) -> float:
        """Wait for a send to ``chat_id``; return the seconds waited."""
        level = current_priority() if level is None else level
        keys = self._keys(chat_id)
        started = time.monotonic()
        # One sender per chat asks the backend at a time, the others queue in order: a
        # burst to one chat does not wake dozens of pollers (whose load delays the sends
        # already let through), and sends to a chat are let through in the order they
        # asked (a burst's first few may still overtake each other on the wire).
        async with self._chat_gates.hold(keys.chat):
            await self._take(keys, level)
        waited = time.monotonic() - started
        _waited(level).observe(waited)
        return waited

    async def _take(self, keys: Keys, level: Priority) -> None:
        ticket: _Ticket | None = None
        try:
            while True:
                if ticket is None and self._line:
                    ticket = self._enter(level)
                if ticket is not None:
                    await ticket.turn.wait()
                verdict = await self._backend.take(keys, self.limits)
                if verdict.granted:
                    return
                if verdict.chat_wait > 0:
                    # The chat's own pace: step out of the global line so sends to
                    # other chats are not held behind this one.
                    if ticket is not None:
                        self._leave(ticket)
                        ticket = None
                    await asyncio.sleep(verdict.chat_wait)
                    continue
                if ticket is None:
                    ticket = self._enter(level)
                if ticket.turn.is_set():
                    await asyncio.sleep(verdict.global_wait)
        finally:
            if ticket is not None:
                self._leave(ticket)

    async def penalize(self, chat_id: ChatId | None, retry_after: float) -> None:
        """Telegram answered 429 for ``chat_id``: nothing goes there for ``retry_after``."""
        if chat_id is None:
            return
        PENALTIES.inc()
        keys = self._keys(chat_id)
        assert keys.penalty is not None
        await self._backend.penalize(keys.penalty, retry_after)

    def _enter(self, level: Priority) -> _Ticket:
        head = self._line[0] if self._line else None
        ticket = _Ticket((-int(level), next(self._arrivals)))
        heapq.heappush(self._line, ticket)
        self._promote(head)
        return ticket

    def _leave(self, ticket: _Ticket) -> None:
        head = self._line[0]
        self._line.remove(ticket)
        heapq.heapify(self._line)
        self._promote(head)

    def _promote(self, previous: _Ticket | None) -> None:
        if not self._line or self._line[0] is previous:
            return
        if previous is not None:
            previous.turn.clear()
        self._line[0].turn.set()


class LimiterMiddleware(BaseRequestMiddleware):
    """Paces every counted call (``bot.session.middleware(LimiterMiddleware(limiter))``)."""

    def __init__(self, limiter: Limiter) -> None:
        self.limiter = limiter

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if not counts(method.__api_method__):
            return await make_request(bot, method)
        chat_id: ChatId | None = getattr(method, "chat_id", None)
        await self.limiter.acquire(chat_id)
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter as error:
            await self.limiter.penalize(chat_id, error.retry_after)
            raise
