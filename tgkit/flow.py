"""How updates flow through one process: in order per chat, bounded in total, drained on stop.

A burst of customers (an outage: a thousand people write at once) must queue,
never fail. Three rules:

- **One chat at a time.** A private chat's updates are handled one after the
  other, in the order they arrived (aiogram-dialog and the FSM read and write
  the chat's state; two of its updates at once would race). Different chats run
  in parallel. The chat's turn is taken in ``Dispatcher.feed_update``, before
  aiogram's own FSM middleware reads the state and before anything awaits, so
  arrival order is kept: asyncio locks wake their waiters first come, first served.
- **A bounded number at once.** At most ``limit`` updates are being handled;
  the rest wait here, costing a coroutine each, not a database connection or a
  Redis connection. The limit is sized against those pools (see ``bot.app``).
- **Drained on stop.** :meth:`UpdateFlow.close` marks the stop (the webhook
  then answers 503, so Telegram re-sends elsewhere) and waits for the updates in
  flight, so SIGTERM loses nothing that was started; what its time does not
  finish is cancelled and left for the next process (the journal, or the polled
  offset not confirmed).

Across replicas the same chat may still reach two processes (webhook mode). With
Redis FSM storage the dispatcher takes the chat's turn in Redis as well (aiogram's
event isolation on the FSM key, held while the update is handled), so the second
replica waits for the first to finish and save. aiogram-dialog's own isolation lock is
not enough for that: for a button press it reads the dialog's context *before* taking
its lock, so a press handled by another replica while the previous update's handler
still runs acts on the context as it was before that update (seen as a dialog step
that ignores the press, tests/e2e/test_replicas.py). The chat's turn in Redis is a
lease of a few seconds that its holder renews while the update runs
(:class:`LeasedIsolation`): a replica killed mid-update holds the chat up for no
longer than that, where aiogram's lock would keep it for a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Protocol, cast

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.fsm.storage.base import DEFAULT_DESTINY, BaseEventIsolation, KeyBuilder, StorageKey
from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.types import Update
from prometheus_client import Gauge
from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, RedisError

from tgkit.keyed import KeyedLocks
from tgkit.loop import cancel_and_wait
from tgkit.names import UniqueNames

log = logging.getLogger(__name__)

IN_FLIGHT = Gauge("ctv_updates_in_flight", "Updates being handled now")
# As bot.app's DRAIN_SECONDS: a stop must stay under 10 s (R10).
SHUTDOWN_DRAIN_SECONDS = 6.0
# After the drain: how long the updates cancelled then get to unwind (forget their
# marks, leave their journal entries) before the stop closes Redis under them.
CANCEL_GRACE_SECONDS = 1.0

# The chat's turn across replicas: renewed every third of it while held, so a killed
# holder frees the chat this long after its death.
CHAT_LEASE_SECONDS = 6.0
# Longer than any update holds a chat (the Bot API retries give up after ~30 s).
CHAT_WAIT_SECONDS = 60.0

# How often a stop sends the polling's cancellation again (see stop_polling).
STOP_RECANCEL_SECONDS = 0.2

WAITING = Gauge("ctv_updates_waiting", "Updates queued behind the limit or their chat")


def chat_key(update: Update) -> int | None:
    """Whose state the update touches: the chat, or the user for chat-less updates."""
    event = update.event
    chat = getattr(event, "chat", None)
    if chat is None:
        message = getattr(event, "message", None)
        chat = getattr(message, "chat", None)
    if chat is not None:
        return int(chat.id)
    user = getattr(event, "from_user", None)
    return int(user.id) if user is not None else None


class UpdateFlow:
    """Admission of updates into one process: per-chat order, a bound, a drain."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the limit of updates at once must be at least 1")
        self._slots = asyncio.Semaphore(limit)
        self._chats = KeyedLocks()
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self.limit = limit
        self.last_update_id = 0
        self._drain_deadline: float | None = None
        # Webhook requests held until fewer updates are under way (room_below).
        self._roomers: deque[asyncio.Future[None]] = deque()
        # The tasks whose updates were accepted: cancelled when the drain runs out.
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def active(self) -> int:
        """Updates accepted and not finished yet (waiting or being handled)."""
        return self._active

    @property
    def closing(self) -> bool:
        return self._closing

    @contextlib.asynccontextmanager
    async def admit(self, update: Update) -> AsyncIterator[None]:
        """Wait for the update's turn. While stopping, updates still come in: the
        ones a poll already fetched must be handled, since Telegram will not send
        them again; the webhook refuses new ones before they get here."""
        key = chat_key(update)
        self.last_update_id = max(self.last_update_id, update.update_id)
        self._active += 1
        self._idle.clear()
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        WAITING.inc()
        try:
            async with self._chats.hold(key), self._slots:
                WAITING.dec()
                IN_FLIGHT.inc()
                try:
                    yield
                finally:
                    IN_FLIGHT.dec()
                    WAITING.inc()
        finally:
            WAITING.dec()
            if task is not None:
                self._tasks.discard(task)
            self._active -= 1
            if self._active == 0:
                self._idle.set()
            self._wake_one()

    async def room_below(self, most: int, within: float) -> bool:
        """Wait up to ``within`` s until fewer than ``most`` updates are accepted.

        False while stopping or when the wait ran out. Once some wait, each update
        that ends lets in the one that waited longest, and a newcomer queues behind
        them: the number accepted stays about ``most`` (one let in takes its place
        only when its update is fed, so a newcomer arriving in between may pass it).
        """
        if self._closing:
            return False
        if self._active < most:
            if not self._roomers:
                return True
            self._wake_one()  # there is room: the first in line goes, this one queues
        waiter = asyncio.get_running_loop().create_future()
        self._roomers.append(waiter)
        let_in = False
        try:
            async with asyncio.timeout(within):
                await waiter
            let_in = True
        except TimeoutError:
            return False
        finally:
            if not let_in and waiter.done() and not waiter.cancelled():
                self._wake_one()  # let in as it gave up (time, a cancel): the next goes
            if not waiter.done():
                waiter.cancel()
            with contextlib.suppress(ValueError):
                self._roomers.remove(waiter)
        return not self._closing

    def _wake_one(self) -> None:
        while self._roomers:
            waiter = self._roomers.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def close(self, within: float) -> bool:
        """Mark the stop; wait up to ``within`` s for the updates accepted. True if all ended.

        A second call waits no longer than the first one's deadline: the stop's
        budget is spent once, whoever asks first.

        Updates still under way then are cancelled, and get ``CANCEL_GRACE_SECONDS``
        to unwind: their marks forgotten, their journal entries left for the next
        process. Left running, they went on while the stop closed Redis and the
        database under them: one that sent its answer then could no longer write
        that it was done, and the next process answered it again
        (tests/e2e/test_restart.py, webhook mode, 3 of 4 runs).
        """
        self._closing = True
        while self._roomers:  # held webhook requests: answered "stopping" now
            waiter = self._roomers.popleft()
            if not waiter.done():
                waiter.set_result(None)
        loop = asyncio.get_running_loop()
        if self._drain_deadline is None:
            self._drain_deadline = loop.time() + within
        within = max(0.0, min(within, self._drain_deadline - loop.time()))
        # Tasks a last poll created may not have started yet: let them get in line.
        await asyncio.sleep(0.05)
        try:
            # asyncio.timeout, not wait_for: 3.11's wait_for may swallow a cancellation.
            async with asyncio.timeout(within):
                await self._idle.wait()
        except TimeoutError:
            log.warning("stopping with %d update(s) still being handled", self._active)
            await self._cancel_the_rest()
            return False
        return True

    async def _cancel_the_rest(self) -> None:
        here = asyncio.current_task()
        for task in self._tasks:
            if task is not here:
                task.cancel()
        try:
            async with asyncio.timeout(CANCEL_GRACE_SECONDS):
                await self._idle.wait()
        except TimeoutError:
            log.warning("%d update(s) did not end when cancelled", self._active)


class LeasedIsolation(RedisEventIsolation):
    """aiogram's per-chat lock in Redis, as a short lease renewed while it is held.

    Re-entrant within one task: aiogram-dialog may lock a chat's stack twice while
    handling one update (it locks on every load of the stack). aiogram's own lock
    then waited for itself until its 60 s ran out; a renewed lease would wait forever.
    """

    def __init__(
        self,
        redis: Redis,
        key_builder: KeyBuilder | None = None,
        *,
        lease: float = CHAT_LEASE_SECONDS,
        wait: float = CHAT_WAIT_SECONDS,
    ) -> None:
        super().__init__(redis, key_builder)
        self.lease = lease
        self.wait = wait
        # Lock name → the task holding it here and how many times it entered.
        self._holders: dict[str, tuple[asyncio.Task[Any] | None, int]] = {}
        # Lock name → the lease held here, renewed by one task while any is held.
        self._leases: dict[str, Lock] = {}
        self._renewer: asyncio.Task[None] | None = None
        # A lease's token (redis-py's own default is a uuid4 per lease).
        self._tokens = UniqueNames()

    @contextlib.asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        name = self.key_builder.build(key, "lock")
        task = asyncio.current_task()
        holder = self._holders.get(name)
        if holder is not None and holder[0] is task:
            self._holders[name] = (task, holder[1] + 1)
            try:
                yield
            finally:
                owner, depth = self._holders[name]
                self._holders[name] = (owner, depth - 1)
            return
        async with self._lease(name):
            self._holders[name] = (task, 1)
            try:
                yield
            finally:
                del self._holders[name]

    @contextlib.asynccontextmanager
    async def _lease(self, name: str) -> AsyncIterator[None]:
        # A short poll: the chat's next update should start as soon as the last one ends.
        held = self.redis.lock(name, timeout=self.lease, sleep=0.02, blocking_timeout=self.wait)
        if not await held.acquire(token=self._tokens.next()):
            raise LockError(f"the chat's turn was not free within {self.wait:.0f} s")
        self._leases[name] = held
        self._renew_soon()
        try:
            yield
        finally:
            del self._leases[name]
            try:
                await held.release()
            except (LockError, RedisError) as error:
                # Lapsed or Redis gone: the lease ends by itself.
                log.warning("could not release the chat's turn %s: %s", name, error)

    def _renew_soon(self) -> None:
        """One task renews every lease held here (not one task per update: creating and
        cancelling it was a noticeable part of an update's cost in a burst)."""
        renewer = self._renewer
        loop = asyncio.get_running_loop()
        if renewer is None or renewer.done() or renewer.get_loop() is not loop:
            self._renewer = loop.create_task(self._renew(), name="chat-leases")

    async def _renew(self) -> None:
        while self._leases:
            await asyncio.sleep(self.lease / 3)
            held = list(self._leases.items())
            results = await asyncio.gather(
                *(lock.reacquire() for _, lock in held), return_exceptions=True
            )
            for (name, lock), result in zip(held, results, strict=True):
                if not isinstance(result, Exception):
                    continue
                if not isinstance(result, LockError | RedisError):
                    raise result
                if self._leases.get(name) is lock:  # not merely released meanwhile
                    log.warning("could not renew the chat's turn %s: %s", name, result)

    async def close(self) -> None:
        if self._renewer is not None:
            await cancel_and_wait(self._renewer)
        await super().close()


def _cancel_was_swallowed() -> bool:
    """This task was asked to stop, yet runs on: a library ate the cancellation."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


DIALOG_STACK = "aiogd:stack:"


class DialogOnChatIsolation(BaseEventIsolation):
    """aiogram-dialog's lock on a person's dialog stack, taken as that person's turn
    in the chat (the dispatcher's :class:`LeasedIsolation`, the same instance).

    The dispatcher already holds the chat's turn while it handles the person's update,
    and aiogram-dialog locks the stack inside that update: as its own lock that cost
    a second lease per update (two Redis round trips and a renewal task) guarding
    nothing more. Mapped onto the chat's turn it is re-entered for free, and a
    background update of the dialog (a reminder, an agent's action reaching the
    customer's window) waits for the person's own update to end, and they for it.
    Stacks other than a person's default one keep a lock of their own.
    """

    def __init__(self, chat: LeasedIsolation) -> None:
        self.chat = chat

    @contextlib.asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        async with self.chat.lock(turn_of(key)):
            yield

    async def close(self) -> None:
        return None  # the dispatcher closes the chat's isolation


def turn_of(key: StorageKey) -> StorageKey:
    """The dispatcher's key for the person whose default dialog stack ``key`` names;
    ``key`` itself for any other stack."""
    stack = key.destiny.removeprefix(DIALOG_STACK)
    if stack == key.destiny:
        return key
    if stack == "":
        user_id = key.chat_id  # a private chat: its one person's stack
    elif stack.startswith("<") and stack.endswith(">") and stack[1:-1].lstrip("-").isdigit():
        user_id = int(stack[1:-1])  # a person's stack in a group
    else:
        return key
    return StorageKey(
        bot_id=key.bot_id,
        chat_id=key.chat_id,
        user_id=user_id,
        thread_id=key.thread_id,
        business_connection_id=key.business_connection_id,
        destiny=DEFAULT_DESTINY,
    )


class Journal(Protocol):
    async def keep(self, update_id: int, payload: str) -> bool: ...

    async def keep_many(self, updates: Sequence[tuple[int, str]]) -> bool: ...

    async def release(self, update_id: int) -> None: ...


class FlowDispatcher(Dispatcher):
    """A Dispatcher whose every update (polling or webhook) passes its :class:`UpdateFlow`.

    ``feed_update`` is where both delivery modes meet; aiogram-dialog's own
    background updates bypass it (they run inside a chat's turn already).
    """

    def __init__(
        self, *, flow: UpdateFlow, guard: BaseMiddleware | None = None, **kwargs: Any
    ) -> None:
        """``guard``: the outer middleware that ends every update in one outcome
        (``tgkit.updates.UpdateGuard``). It goes ahead of aiogram's FSM middleware,
        which takes the chat's turn in Redis: while Redis is away that fails too, and
        it must be retried and logged like any other failure of the update."""
        storage = kwargs.get("storage")
        if isinstance(storage, RedisStorage) and kwargs.get("events_isolation") is None:
            # A chat's turn across replicas (see the module's docstring).
            kwargs["events_isolation"] = LeasedIsolation(storage.redis, storage.key_builder)
        if guard is not None:
            kwargs["disable_fsm"] = True  # registered below, after the guard
        super().__init__(**kwargs)
        if guard is not None:
            self.update.outer_middleware(guard)
            self.update.outer_middleware(self.fsm)
        self.flow = flow
        # Where updates wait until this process is done with them (tgkit.updates).
        self.journal: Journal | None = None
        self._kept: set[int] = set()  # journaled by the polling, fed soon
        # Update id → the update as Telegram sent it (a webhook's body), for the journal.
        self._bodies: dict[int, str] = {}
        self._pollers: set[asyncio.Task[Any]] = set()

    async def emit_shutdown(self, *args: Any, **kwargs: Any) -> None:
        """Drain before the shutdown handlers run.

        aiogram emits shutdown as soon as polling stops, while the updates it
        fetched are still being handled; one of the handlers is the FSM's close,
        which closes the Redis client those updates share (their next command
        fails with "Connection closed"). The drain is the same one ``bot.app``
        waits for after stopping the polling, with the same budget.
        """
        await self.flow.close(within=SHUTDOWN_DRAIN_SECONDS)
        await super().emit_shutdown(*args, **kwargs)

    async def start_polling(self, *bots: Bot, **kwargs: Any) -> None:
        """Polling takes in no more updates than the flow handles at once.

        aiogram confirms a batch to Telegram when it asks for the next one, and
        without a bound it asks at once: a burst of a thousand is confirmed while
        still queued here, and whatever a stop's drain does not finish is lost
        (Telegram will not send it again). With the bound the next batch is asked
        for only as updates finish; a stop leaves at most ``limit`` of them to
        drain, and the rest stay unconfirmed for the next start.
        """
        kwargs.setdefault("tasks_concurrency_limit", self.flow.limit)
        await super().start_polling(*bots, **kwargs)

    async def stop_polling(self) -> None:
        """aiogram's stop, with the polling's cancellation sent again until it ends.

        aiogram cancels its polling task once and waits for it. On Python 3.11 a
        cancellation that arrives as an ``asyncio.wait_for`` inside a library ends
        is swallowed (redis-py wraps each command's write in one), and the polling
        then went on: it waited for a free slot, took the next update, and the stop
        waited for the whole burst (seen as a SIGTERM taking over 10 s,
        tests/e2e/test_restart.py).
        """
        stopping = asyncio.create_task(super().stop_polling(), name="stop-polling")
        while not stopping.done():
            await asyncio.wait({stopping}, timeout=STOP_RECANCEL_SECONDS)
            for poller in self._pollers:
                if poller.cancelling() and not poller.done():
                    poller.cancel()
        await stopping

    async def _polling(self, *args: Any, **kwargs: Any) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._pollers.add(task)
        try:
            await super()._polling(*args, **kwargs)
        finally:
            self._pollers.discard(task)

    async def _listen_updates(  # type: ignore[override]
        self, bot: Bot, *args: Any, **kwargs: Any
    ) -> AsyncIterator[Update]:
        """aiogram's polling, with each batch journaled before its updates are handed on.

        The next poll confirms the batch to Telegram, and it may be sent before the
        tasks made for the batch have started; journaled only there, an update of a
        process killed in between would be lost. The whole batch goes into the
        journal in one command as the poll returns it: one update at a time, each
        waited for before the next was handed on, the polling loop fed the desk one
        update per turn of the event loop, and a burst on Redis cost the desk 3.6
        instead of 2.5 ms of CPU per update (``bench/intake``, polling).
        """
        journaling = cast("Bot", _JournalingPolls(bot, self._keep_batch))
        async for update in super()._listen_updates(journaling, *args, **kwargs):
            yield update

    async def _keep_batch(self, updates: Sequence[Update]) -> None:
        journal = self.journal
        if journal is None:
            return
        batch = [
            (update.update_id, update.model_dump_json(by_alias=True, exclude_none=True))
            for update in updates
            if update.update_id > 0
        ]
        if batch and await journal.keep_many(batch):
            self._kept.update(update_id for update_id, _ in batch)
        if _cancel_was_swallowed():
            # Stopped while the journal was written: the batch stays there for the
            # next start, as any other update fetched but not handed on.
            raise asyncio.CancelledError

    def arrived_as(self, update_id: int, body: str) -> None:
        """The text ``update_id`` came as, journaled as it is instead of written anew
        from the parsed update (a webhook's request body)."""
        self._bodies[update_id] = body

    async def _keep(self, update: Update) -> bool:
        body = self._bodies.pop(update.update_id, None)
        if self.journal is None or update.update_id <= 0:
            return False
        payload = body or update.model_dump_json(by_alias=True, exclude_none=True)
        return await self.journal.keep(update.update_id, payload)

    async def feed_update(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        journal = self.journal
        if update.update_id in self._kept:
            self._kept.discard(update.update_id)
            kept = True
        else:
            # From arrival, not from its turn: an update still queued here when the
            # process dies was already confirmed to Telegram as well.
            kept = await self._keep(update)
        try:
            async with self.flow.admit(update):
                return await super().feed_update(bot, update, **kwargs)
        except asyncio.CancelledError:
            kept = False  # cut short by a stop: left in the journal for the next process
            raise
        finally:
            if kept and journal is not None:
                await journal.release(update.update_id)


class _JournalingPolls:
    """The bot as aiogram's polling loop sees it: each batch of updates a poll returns
    is journaled (``keep``) before the loop hands the first of them on.

    Only the loop's own polls pass here (``FlowDispatcher._listen_updates``); the
    updates are handled with the bot itself. Everything else the loop reads of the
    bot (its session's timeout, its id for a log line) is the bot's.
    """

    def __init__(self, bot: Bot, keep: Callable[[Sequence[Update]], Awaitable[None]]) -> None:
        self._bot = bot
        self._keep = keep

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bot, name)

    async def __call__(
        self, method: TelegramMethod[Any], request_timeout: int | None = None
    ) -> Any:
        result = await self._bot(method, request_timeout=request_timeout)
        if isinstance(method, GetUpdates):
            await self._keep(result)
        return result
