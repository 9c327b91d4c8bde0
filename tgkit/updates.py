"""Every update gets an outcome: handled once, retried when the fault was passing, never lost.

- **Seen once.** Telegram re-sends an update it thinks was lost (a webhook that
  answered late, a poll whose offset was not confirmed before a restart). The
  first sight of an ``update_id`` is recorded where it costs no database write:
  in Redis (``SET NX``, shared by replicas: a few seconds, renewed while it is
  handled, so an update whose process died is handled again when re-sent, then
  two days; see :class:`RedisSeen`) or,
  without Redis, in the process's memory (a single process: a graceful stop
  confirms the polled offset, so Telegram does not re-send the last batch after a
  restart). An update that changes nothing writes nothing to the database.
- **A failure forgets the sighting**, so a redelivery handles the update again.
- **Passing faults are retried.** A lost Redis or database connection, or a pool
  that stayed full too long, retries the whole update with backoff, but only
  while nothing of it was committed: once the desk committed a change, running
  the update again could repeat what the customer already caused, so the error
  goes on to the error handler, which answers politely ("please send it again";
  the draft in the FSM storage is kept).

Telegram's own errors are not retried here: the request middleware
(``tgkit.retry``) already retried the call that failed.

Each update ends in one log line with its id, type, the user, the requests it
changed and its outcome: ``handled``, ``ignored`` (no handler wanted it),
``refused`` (the desk said no; the person got a polite answer), ``error``,
``duplicate`` or ``outdated`` (an update of a dead process that its person went past,
see :class:`Orphans`); ``ctv_updates_total`` counts the same by type and outcome.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update
from prometheus_client import Counter, Histogram
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from desk.batching import Combiner
from desk.errors import DeskError
from desk.events import RequestEvent
from tgkit.faults import transient
from tgkit.flow import chat_key
from tgkit.loop import cancel_and_wait

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

UPDATES = Counter("ctv_updates_total", "Telegram updates by type and outcome", ["type", "outcome"])
UPDATE_RETRIES = Counter("ctv_update_retries_total", "Updates run again after a passing fault")
ADOPTED = Counter("ctv_updates_adopted_total", "Updates of a stopped process handled here")
UPDATE_SECONDS = Histogram("ctv_update_seconds", "Time to handle one update", ["type"])

SEEN_FOR_SECONDS = 2 * 24 * 3600  # longer than Telegram keeps an unconfirmed update
# While an update is being handled its mark lives this long unless its process
# renews it: a process that died stops renewing, and a redelivery of its update is
# handled this long after the death at the latest.
IN_PROGRESS_SECONDS = 6.0
DONE = "done"
MEMORY_SEEN = 200_000
ATTEMPTS = 3
FIRST_BACKOFF = 0.5


class SeenUpdates(Protocol):
    async def first_sight(self, update_id: int) -> bool:
        """Record ``update_id``; False when it was recorded before."""

    async def done(self, update_id: int, chat: int | None = None) -> None:
        """The update was handled: keep its mark for as long as Telegram may resend it
        (and, for ``chat``, that it is the newest of that chat handled)."""

    async def forget(self, update_id: int) -> None:
        """Let the update be handled again (its handling failed)."""


class MemorySeen:
    """One process without Redis: the newest ``size`` ids, oldest forgotten first."""

    def __init__(self, size: int = MEMORY_SEEN) -> None:
        self._ids: OrderedDict[int, None] = OrderedDict()
        self._size = size

    async def first_sight(self, update_id: int) -> bool:
        if update_id in self._ids:
            return False
        self._ids[update_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return True

    async def done(self, update_id: int, chat: int | None = None) -> None:
        return None  # a process's memory is already as long as it lives

    async def forget(self, update_id: int) -> None:
        self._ids.pop(update_id, None)


class RedisSeen:
    """Shared by every replica behind the same webhook.

    A mark is the owner's id while its update is handled, renewed every few
    seconds by a background task, and ``done`` for two days after. A process
    that dies (kill -9, a lost machine) stops renewing, so its marks lapse within
    ``in_progress`` seconds. A redelivery that finds another process's mark waits
    for it to end: ``done`` is a duplicate; a lapsed mark (its owner died) is taken
    and the update handled. Dropping it instead would lose it for good, since
    Telegram does not send an update again once it was confirmed.

    Telegram does not always send it again, though: an update is confirmed when
    this process takes it (the webhook's answer, the next poll), before it is
    handled. So from its arrival until this process is done with it (handled,
    refused, a duplicate) the update itself is kept in this process's journal in
    Redis (:meth:`keep`, called by ``tgkit.flow.FlowDispatcher``); a process finds
    the journals of processes that stopped renewing (:meth:`adopt_orphans`), moves
    them into its own and handles them.
    An update of a killed process is thus handled by the survivors or by the
    process restarted, seconds later. The desk keeps a re-run harmless: one
    request per intake, a Telegram message relayed once.

    While Redis cannot be reached the marks fall back to this process's memory
    (an outage must not stop the desk from answering); redelivered updates may
    then be handled twice across replicas, which the desk's own idempotency
    (one request per intake) keeps harmless where it matters.
    """

    def __init__(
        self,
        redis: Redis,
        prefix: str = "ctv:update:",
        *,
        journals: str = "ctv:inflight:",
        in_progress: float = IN_PROGRESS_SECONDS,
        poll: float = 0.25,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._in_progress = in_progress
        self._poll = poll
        self._owner = uuid.uuid4().hex
        self._journals = journals
        self._journal = f"{journals}{self._owner}"
        self._alive = f"{journals}alive:{self._owner}"
        self._adopt = redis.register_script(_ADOPT)
        self._keep = redis.register_script(_KEEP)
        self._done = redis.register_script(_DONE)
        self._held: set[int] = set()
        self._releases: Combiner[str, None] = Combiner(self._release, limit=1000)
        # Update id → how many feeds of it are under way here (Telegram's copy and an
        # adopted one may meet): the entry stays until the last of them is done.
        self._journaled: dict[int, int] = {}
        self._renewer: asyncio.Task[None] | None = None
        self._memory = MemorySeen()
        self._unreachable = False

    async def first_sight(self, update_id: int) -> bool:
        key = f"{self._prefix}{update_id}"
        loop = asyncio.get_running_loop()
        # Longer than a dead owner's mark can live; a live owner that takes longer
        # (Telegram's own retries) keeps the update, and this copy is the duplicate.
        give_up = loop.time() + 2 * self._in_progress + 1
        try:
            while True:
                milliseconds = int(self._in_progress * 1000)
                if await self._redis.set(key, self._owner, nx=True, px=milliseconds):
                    self._reachable()
                    self._hold(update_id)
                    return True
                stored = await self._redis.get(key)
                if stored is None:
                    continue  # it lapsed between the two calls
                owner = stored.decode() if isinstance(stored, bytes) else str(stored)
                if owner in (DONE, self._owner) or loop.time() > give_up:
                    log.debug(
                        "update %s seen before: %s",
                        update_id,
                        "done"
                        if owner == DONE
                        else "in hand here"
                        if owner == self._owner
                        else f"held by {owner[:8]} past the wait",
                    )
                    return False
                await asyncio.sleep(self._poll)
        except (RedisConnectionError, RedisTimeoutError) as error:
            self._fall_back(error)
            return await self._memory.first_sight(update_id)

    async def done(self, update_id: int, chat: int | None = None) -> None:
        self._held.discard(update_id)
        newest = f"{self._prefix}chat:{chat}" if chat is not None else ""
        try:
            # One script, not a pipeline: redis-py asks SCRIPT EXISTS before every
            # pipeline that holds a script, a second round trip per update.
            await self._done(
                keys=[f"{self._prefix}{update_id}", newest],
                args=[update_id, SEEN_FOR_SECONDS, DONE],
            )
        except (RedisConnectionError, RedisTimeoutError) as error:
            self._fall_back(error)

    async def outdated(self, update_id: int, chat: int | None) -> bool:
        """A newer update of ``chat`` was handled already (by any process)."""
        if chat is None:
            return False
        try:
            newest = await self._redis.get(f"{self._prefix}chat:{chat}")
        except (RedisConnectionError, RedisTimeoutError) as error:
            self._fall_back(error)
            return False
        return newest is not None and int(newest) > update_id

    async def forget(self, update_id: int) -> None:
        self._held.discard(update_id)
        try:
            await self._redis.delete(f"{self._prefix}{update_id}")
        except (RedisConnectionError, RedisTimeoutError) as error:
            self._fall_back(error)
        await self._memory.forget(update_id)

    async def keep(self, update_id: int, payload: str) -> bool:
        """Put an update just received into this process's journal; False when
        Redis is away (the update is then handled without that safety net).

        Its mark is not taken here: an update journaled by a poll may never get its
        turn in this process (a stop), and Telegram then sends it again to the next
        one, which must find no mark of this process on it (seen: the restarted
        process dropped such redeliveries as duplicates)."""
        return await self.keep_many([(update_id, payload)])

    async def keep_many(self, updates: Sequence[tuple[int, str]]) -> bool:
        """:meth:`keep` for a batch of updates (a poll's), in one command."""
        milliseconds = int(self._in_progress * 1000)
        fields: list[str] = []
        for update_id, payload in updates:
            fields += (str(update_id), payload)
        try:
            await self._keep(keys=[self._journal, self._alive], args=[milliseconds, *fields])
        except (RedisConnectionError, RedisTimeoutError) as error:
            self._fall_back(error)
            return False
        for update_id, _ in updates:
            self._journaled[update_id] = self._journaled.get(update_id, 0) + 1
        self._renew_soon()
        return True

    async def release(self, update_id: int) -> None:
        """This process is done with the update, whatever came of it.

        Releases that come while one is being written go out together in the next
        (a burst costs a few round trips, not one per update); each caller still
        returns only once its own is written."""
        feeds = self._journaled.get(update_id, 0) - 1
        if feeds > 0:
            self._journaled[update_id] = feeds
            return
        self._journaled.pop(update_id, None)
        try:
            await self._releases.submit(str(update_id))
        except (RedisConnectionError, RedisTimeoutError) as error:
            self._fall_back(error)

    async def _release(self, update_ids: Sequence[str]) -> list[None]:
        await self._redis.hdel(self._journal, *update_ids)
        return [None] * len(update_ids)

    async def adopt_orphans(self) -> list[str]:
        """Move the journals of processes that stopped renewing into this one's;
        returns the updates found there (as Telegram sent them), to be handled."""
        adopted: list[str] = []
        try:
            async for name in self._redis.scan_iter(match=f"{self._journals}*", count=200):
                journal = name.decode() if isinstance(name, bytes) else str(name)
                owner = journal.removeprefix(self._journals)
                if owner == self._owner or owner.startswith("alive:"):
                    continue
                alive = f"{self._journals}alive:{owner}"
                items = await self._adopt(keys=[journal, alive, self._journal])
                adopted.extend(
                    value.decode() if isinstance(value, bytes) else str(value)
                    for value in items[1::2]
                )
        except (RedisConnectionError, RedisTimeoutError) as error:
            self._fall_back(error)
        return adopted

    async def close(self) -> None:
        if self._renewer is not None:
            await cancel_and_wait(self._renewer)

    def _hold(self, update_id: int) -> None:
        self._held.add(update_id)
        self._renew_soon()

    def _renew_soon(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew(), name="seen-marks")

    async def _renew(self) -> None:
        """Keep this process's marks alive while it handles their updates."""
        milliseconds = int(self._in_progress * 1000)
        while self._held or self._journaled:
            await asyncio.sleep(self._in_progress / 3)
            held = list(self._held)
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for update_id in held:
                        pipe.pexpire(f"{self._prefix}{update_id}", milliseconds)
                    pipe.set(self._alive, 1, px=milliseconds)
                    await pipe.execute()
            except (RedisConnectionError, RedisTimeoutError) as error:
                self._fall_back(error)

    def _fall_back(self, error: Exception) -> None:
        if not self._unreachable:
            self._unreachable = True
            log.warning("Redis unreachable (%s); updates are deduplicated in this process", error)

    def _reachable(self) -> None:
        if self._unreachable:
            self._unreachable = False
            log.info("Redis reachable again; updates are deduplicated across replicas")


# Atomically: a journal whose owner is not alive moves into the caller's journal
# (two processes sweeping at once cannot both adopt it). Returns its fields.
_ADOPT = """
if redis.call('EXISTS', KEYS[2]) == 1 then return {} end
local items = redis.call('HGETALL', KEYS[1])
if #items > 0 then redis.call('HSET', KEYS[3], unpack(items)) end
redis.call('DEL', KEYS[1])
return items
"""


# Updates just received: into the journal (KEYS[1]) as pairs of id and payload
# (ARGV[2..]), the process alive (KEYS[2]) for ARGV[1] ms.
_KEEP = """
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('SET', KEYS[2], 1, 'PX', ARGV[1])
return 0
"""


# The update's mark (KEYS[1]) done for ARGV[2] seconds, and the newest update id
# handled in its chat (KEYS[2], "" for none) remembered: a redelivery may be older.
_DONE = """
redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[2])
if KEYS[2] ~= '' then
  local current = tonumber(redis.call('GET', KEYS[2]) or '0')
  if tonumber(ARGV[1]) > current then
    redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
  end
end
return 0
"""


@dataclass
class UpdateEffects:
    """What the update being handled has made durable so far."""

    update_id: int
    commits: int = 0
    # The requests whose events this update caused, for its log line.
    numbers: list[int] = field(default_factory=list)


current_update: ContextVar[UpdateEffects | None] = ContextVar("current_update", default=None)


def note_commit() -> None:
    """Called by the desk after each commit (``Desk.commit_listeners``)."""
    effects = current_update.get()
    if effects is not None:
        effects.commits += 1


async def note_event(event: RequestEvent) -> None:
    """A desk event listener: remembers the request number for the update's log line."""
    effects = current_update.get()
    if effects is not None and event.number not in effects.numbers:
        effects.numbers.append(event.number)


class UpdateGuard(BaseMiddleware):
    """Outer middleware on ``dispatcher.update``: dedupe, retry, outcome."""

    def __init__(
        self, seen: SeenUpdates, *, attempts: int = ATTEMPTS, backoff: float = FIRST_BACKOFF
    ) -> None:
        self._seen = seen
        self._attempts = attempts
        self._backoff = backoff

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        if event.update_id <= 0:
            # Not from Telegram: aiogram-dialog's background updates carry id 0.
            return await handler(event, data)
        kind = event.event_type
        if not await self._seen.first_sight(event.update_id):
            UPDATES.labels(kind, "duplicate").inc()
            _log_outcome(event, kind, "duplicate", None, 0.0)
            return None
        effects = UpdateEffects(event.update_id)
        token = current_update.set(effects)
        started = time.perf_counter()
        try:
            result = await self._handle(handler, event, data, effects)
        except BaseException as error:
            outcome = "refused" if isinstance(error, DeskError) else "error"
            UPDATES.labels(kind, outcome).inc()
            _log_outcome(event, kind, outcome, effects, time.perf_counter() - started)
            await self._forget(event.update_id)
            raise
        finally:
            current_update.reset(token)
        outcome = "ignored" if result is UNHANDLED else "handled"
        UPDATES.labels(kind, outcome).inc()
        seconds = time.perf_counter() - started
        UPDATE_SECONDS.labels(kind).observe(seconds)
        _log_outcome(event, kind, outcome, effects, seconds)
        # Marked done last: a process killed before this has the update run again
        # (harmless, see RedisSeen), never counted as done without its outcome.
        # Shielded: a stop that cancels the update now must not undo what it did (the
        # update stays in the journal, and the next process finds it done).
        await asyncio.shield(self._seen.done(event.update_id, chat_key(event)))
        return result

    async def _handle(
        self, handler: Handler, event: Update, data: dict[str, Any], effects: UpdateEffects
    ) -> Any:
        attempt = 1
        original = dict(data)
        while True:
            try:
                # The same dict each time, as it came: the middlewares below add their
                # keys to it (the FSM's storage, the dialog's context), and the error
                # handlers above read them; a retry starts from what came in.
                return await handler(event, data)
            except Exception as error:
                if attempt >= self._attempts or effects.commits or not transient(error):
                    raise
                data.clear()
                data.update(original)
                delay = self._backoff * 2 ** (attempt - 1) * (0.5 + random.random())
                UPDATE_RETRIES.inc()
                log.warning(
                    "update %s failed (%s: %s); attempt %d of %d in %.1fs",
                    event.update_id,
                    type(error).__name__,
                    " ".join(str(error).split())[:200],
                    attempt + 1,
                    self._attempts,
                    delay,
                )
                await asyncio.sleep(delay)
                attempt += 1

    async def _forget(self, update_id: int) -> None:
        try:
            await self._seen.forget(update_id)
        except Exception:  # the update already failed; this only delays its redelivery
            log.warning("could not forget update %s", update_id, exc_info=True)


def _log_outcome(
    update: Update, kind: str, outcome: str, effects: UpdateEffects | None, seconds: float
) -> None:
    """One line per update; only ids, never names or texts (they are people's data)."""
    user = getattr(getattr(update, kind, None), "from_user", None)
    user_id = user.id if user is not None else None
    numbers = [f"CTV-{n}" for n in effects.numbers] if effects is not None else []
    log.info(
        "update %s %s user=%s request=%s outcome=%s in %.0f ms",
        update.update_id,
        kind,
        user_id if user_id is not None else "-",
        ",".join(numbers) or "-",
        outcome,
        seconds * 1000,
        extra={
            "update_id": update.update_id,
            "update_type": kind,
            "user_id": user_id,
            "requests": numbers,
            "outcome": outcome,
            "ms": round(seconds * 1000, 1),
        },
    )


class Orphans:
    """Handles the updates of processes that died while handling them (see RedisSeen).

    Run as a background step every few seconds; adopted updates go through the
    dispatcher like any other (their chat's turn, the guard, the handlers).
    """

    def __init__(self, seen: RedisSeen, dispatcher: Dispatcher, bot: Bot) -> None:
        self._seen = seen
        self._dispatcher = dispatcher
        self._bot = bot
        self._tasks: set[asyncio.Task[None]] = set()

    async def adopt(self) -> None:
        for payload in await self._seen.adopt_orphans():
            try:
                update = Update.model_validate_json(payload, context={"bot": self._bot})
            except ValueError:
                log.error("an adopted update could not be read; dropped: %.200s", payload)
                continue
            if await self._seen.outdated(update.update_id, chat_key(update)):
                # Its person went on meanwhile (the chat's later updates were handled):
                # played now, an old step would undo theirs (a dialog sent back a step).
                await self._seen.release(update.update_id)
                kind = update.event_type
                UPDATES.labels(kind, "outdated").inc()
                _log_outcome(update, kind, "outdated", None, 0.0)
                continue
            ADOPTED.inc()
            log.warning("update %s of a stopped process is handled here", update.update_id)
            task = asyncio.create_task(self._feed(update), name=f"adopted-{update.update_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _feed(self, update: Update) -> None:
        try:
            await self._dispatcher.feed_update(self._bot, update)
        except Exception:  # answered by the error handler already; the cause is logged
            log.exception("adopted update %s failed", update.update_id)

    async def wait(self, within: float) -> None:
        """Let the adopted updates under way finish (a stop), for up to ``within`` s."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=within)
