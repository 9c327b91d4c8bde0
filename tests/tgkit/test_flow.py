"""Updates queue, never fail: per-chat order, a bound on work at once, a drain on stop."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram import Bot
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import Chat, Message, Update, User
from redis.asyncio import Redis

from tgemulator import RunningEmulator
from tgkit.flow import DialogOnChatIsolation, FlowDispatcher, LeasedIsolation, UpdateFlow, turn_of
from tgkit.updates import RedisSeen

from .conftest import BotFactory


def update(update_id: int, chat_id: int, text: str = "hi") -> Update:
    user = User(id=chat_id, is_bot=False, first_name="Ann")
    message = Message(
        message_id=update_id,
        date=datetime.now(UTC),
        chat=Chat(id=chat_id, type="private"),
        from_user=user,
        text=text,
    )
    return Update(update_id=update_id, message=message)


class Recorder:
    def __init__(self, pause: float = 0.01) -> None:
        self.pause = pause
        self.order: list[tuple[int, int]] = []
        self.running: dict[int, int] = {}
        self.max_total = 0
        self.max_per_chat = 0
        self.total = 0

    async def handle(self, message: Message) -> None:
        chat = message.chat.id
        self.total += 1
        self.running[chat] = self.running.get(chat, 0) + 1
        self.max_total = max(self.max_total, self.total)
        self.max_per_chat = max(self.max_per_chat, self.running[chat])
        await asyncio.sleep(self.pause)
        self.order.append((chat, message.message_id))
        self.running[chat] -= 1
        self.total -= 1


def dispatcher(limit: int, recorder: Recorder) -> FlowDispatcher:
    dp = FlowDispatcher(flow=UpdateFlow(limit))
    dp.message.register(recorder.handle)
    return dp


@pytest.fixture
async def bot() -> Any:
    bot = Bot("123456:flow-test")  # never calls Telegram: the handler only records
    yield bot
    await bot.session.close()


async def test_one_chat_is_handled_in_arrival_order_one_at_a_time(bot: Bot) -> None:
    recorder = Recorder()
    dp = dispatcher(8, recorder)
    await asyncio.gather(*(dp.feed_update(bot, update(i, 42)) for i in range(1, 31)))
    assert recorder.order == [(42, i) for i in range(1, 31)]
    assert recorder.max_per_chat == 1


async def test_chats_run_in_parallel_within_the_limit(bot: Bot) -> None:
    recorder = Recorder(pause=0.05)
    dp = dispatcher(5, recorder)
    updates = [update(i, 1000 + i % 20) for i in range(1, 101)]
    await asyncio.gather(*(dp.feed_update(bot, u) for u in updates))
    assert len(recorder.order) == 100
    assert recorder.max_total == 5  # parallel, but never more than the limit
    for chat in range(1000, 1020):
        ids = [i for c, i in recorder.order if c == chat]
        assert ids == sorted(ids)
    assert dp.flow.active == 0


async def test_close_drains_in_flight_updates(bot: Bot) -> None:
    recorder = Recorder(pause=0.2)
    dp = dispatcher(2, recorder)
    started = [asyncio.create_task(dp.feed_update(bot, update(i, 7 + i))) for i in range(1, 5)]
    await asyncio.sleep(0.05)
    assert await dp.flow.close(within=5)
    await asyncio.gather(*started)
    assert len(recorder.order) == 4  # everything accepted before the stop was finished
    assert dp.flow.closing and dp.flow.last_update_id == 4


async def test_close_gives_up_after_its_time_and_cancels_what_is_left(bot: Bot) -> None:
    recorder = Recorder(pause=30.0)
    dp = dispatcher(1, recorder)
    running = asyncio.create_task(dp.feed_update(bot, update(1, 1)))
    waiting = asyncio.create_task(dp.feed_update(bot, update(2, 2)))  # behind the limit
    await asyncio.sleep(0.05)
    async with asyncio.timeout(2):  # the time given, the cancels: not the update's 30 s
        assert not await dp.flow.close(within=0.1)
    # Ended before the stop goes on to close what they use (Redis, the database).
    assert running.cancelled() and waiting.cancelled()
    assert dp.flow.active == 0
    assert recorder.order == []


CHAT = StorageKey(bot_id=1, chat_id=5, user_id=5)


async def test_a_chats_turn_is_kept_while_its_update_runs_longer_than_the_lease(
    redis: Redis,
) -> None:
    isolation = LeasedIsolation(redis, lease=0.6)
    order: list[str] = []

    async def first() -> None:
        async with isolation.lock(CHAT):
            order.append("first in")
            await asyncio.sleep(1.5)  # more than two leases: only renewal keeps it
            order.append("first out")

    async def second() -> None:
        await asyncio.sleep(0.1)
        async with isolation.lock(CHAT):
            order.append("second in")

    await asyncio.gather(first(), second())
    assert order == ["first in", "first out", "second in"]


async def test_one_task_renews_every_chat_held_and_ends_when_none_is(redis: Redis) -> None:
    isolation = LeasedIsolation(redis, lease=0.6)
    chats = [StorageKey(bot_id=1, chat_id=n, user_id=n) for n in (71, 72, 73)]
    order: list[str] = []
    renewers: set[int] = set()

    async def holder(key: StorageKey) -> None:
        async with isolation.lock(key):
            order.append(f"{key.chat_id} in")
            for _ in range(3):  # 1.5 s: more than two leases
                await asyncio.sleep(0.5)
                renewers.update(
                    id(task) for task in asyncio.all_tasks() if task.get_name() == "chat-leases"
                )
            order.append(f"{key.chat_id} out")

    async def next_in_turn(key: StorageKey) -> None:
        await asyncio.sleep(0.1)
        async with isolation.lock(key):
            order.append(f"{key.chat_id} next")

    await asyncio.gather(*(holder(key) for key in chats), *(next_in_turn(key) for key in chats))
    for key in chats:
        mine = [entry for entry in order if entry.startswith(str(key.chat_id))]
        assert mine == [f"{key.chat_id} in", f"{key.chat_id} out", f"{key.chat_id} next"]
    assert len(renewers) == 1
    await asyncio.sleep(0.4)  # its next look finds nothing held
    assert not [task for task in asyncio.all_tasks() if task.get_name() == "chat-leases"]
    await isolation.close()


async def test_a_chat_held_by_a_killed_process_is_free_after_the_lease(redis: Redis) -> None:
    isolation = LeasedIsolation(redis, lease=0.6)
    name = isolation.key_builder.build(CHAT, "lock")
    # What a killed holder leaves behind: a lease nobody renews or releases.
    assert await redis.lock(name, timeout=0.6).acquire()
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with isolation.lock(CHAT):
        waited = loop.time() - started
    assert 0.3 < waited < 1.5


async def test_the_same_update_may_take_its_chats_turn_twice(redis: Redis) -> None:
    """aiogram-dialog locks a chat's stack on every load of it, twice in some updates."""
    isolation = LeasedIsolation(redis, lease=0.6, wait=2)
    async with asyncio.timeout(1.5):
        async with isolation.lock(CHAT), isolation.lock(CHAT):
            pass
        # Released in Redis afterwards: taking it again does not wait for a lease to lapse.
        async with isolation.lock(CHAT):
            pass


class SwallowingJournal:
    """A journal whose write eats a cancellation, as a library's ``asyncio.wait_for``
    does on Python 3.11 when the cancellation meets the end of what it waited for."""

    def __init__(self) -> None:
        self.writes = 0
        self.second_write = asyncio.Event()
        self.swallowed = 0

    async def keep(self, update_id: int, payload: str) -> bool:
        return await self.keep_many([(update_id, payload)])

    async def keep_many(self, updates: Sequence[tuple[int, str]]) -> bool:
        self.writes += 1
        if self.writes == 2:
            self.second_write.set()
        try:
            await asyncio.sleep(0.5)
        except asyncio.CancelledError:
            self.swallowed += 1
        return True

    async def release(self, update_id: int) -> None:
        return None


async def test_a_stop_ends_the_polling_even_when_a_library_swallows_its_cancellation(
    emulator: RunningEmulator, make_bot: BotFactory
) -> None:
    """The stop's cancellation lands in the journal's write and is eaten: the polling
    must stop anyway, not wait for a free slot and carry on with the next updates."""
    bot = make_bot()
    release = asyncio.Event()
    started = asyncio.Event()
    handled: list[int] = []

    async def handle(message: Message) -> None:
        handled.append(message.message_id)
        started.set()
        await release.wait()

    dp = FlowDispatcher(flow=UpdateFlow(1))  # one at a time: the second waits for a slot
    dp.message.register(handle)
    journal = SwallowingJournal()
    dp.journal = journal
    people = emulator.people
    await people.send(people.user("P0"), "hi")
    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, close_bot_session=False, polling_timeout=1)
    )
    try:
        async with asyncio.timeout(10):
            await started.wait()
            # The first update is being handled; the next poll's batch is being written.
            for i in (1, 2):
                await people.send(people.user(f"P{i}"), "hi")
            await journal.second_write.wait()
        # The stop drains the update being handled, so it is let go once the
        # polling had time to stop (or, eating the cancellation, to take the next one).
        stopping = asyncio.create_task(dp.stop_polling())
        await asyncio.sleep(1.0)
        release.set()
        async with asyncio.timeout(5):
            await stopping
        assert journal.swallowed == 1
        assert len(handled) == 1  # no update was taken after the stop
    finally:
        release.set()
        await dp.flow.close(within=5)
        if not polling.done():
            polling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await polling


def stack(chat_id: int, stack_id: str) -> StorageKey:
    """aiogram-dialog's key of a dialog stack (its StorageProxy._stack_key)."""
    return StorageKey(bot_id=1, chat_id=chat_id, user_id=chat_id, destiny=f"aiogd:stack:{stack_id}")


def test_a_persons_dialog_stack_is_locked_as_their_turn_in_the_chat() -> None:
    assert turn_of(stack(5, "")) == CHAT
    in_group = turn_of(stack(-100, "<5>"))
    assert (in_group.chat_id, in_group.user_id, in_group.destiny) == (-100, 5, "default")
    # Stacks of their own (not a person's default one) keep their own lock.
    assert turn_of(stack(5, "wizard")) == stack(5, "wizard")
    assert turn_of(CHAT) == CHAT


async def test_the_dialogs_lock_inside_an_update_takes_no_second_lease(redis: Redis) -> None:
    chat = LeasedIsolation(redis, lease=0.6, wait=2)
    dialog = DialogOnChatIsolation(chat)
    order: list[str] = []

    async def update_of_the_person() -> None:
        async with chat.lock(CHAT):
            async with asyncio.timeout(0.5), dialog.lock(stack(5, "")):
                order.append("update")
                # One lease in Redis: the chat's; the stack has none of its own.
                assert await redis.keys("*aiogd*") == []
                await asyncio.sleep(0.3)
            order.append("update done")

    async def background_update_of_their_dialog() -> None:
        await asyncio.sleep(0.1)
        async with dialog.lock(stack(5, "")):
            order.append("background")

    await asyncio.gather(update_of_the_person(), background_update_of_their_dialog())
    assert order == ["update", "update done", "background"]


class CountingSeen(RedisSeen):
    """The real journal in Redis, counting the commands that write it."""

    def __init__(self, redis: Redis, journals: str) -> None:
        super().__init__(redis, journals=journals)
        self.batches: list[list[int]] = []

    async def keep_many(self, updates: Sequence[tuple[int, str]]) -> bool:
        self.batches.append([update_id for update_id, _ in updates])
        return await super().keep_many(updates)


async def test_a_polls_batch_is_journaled_in_one_command_before_it_is_handed_on(
    emulator: RunningEmulator, make_bot: BotFactory, redis: Redis
) -> None:
    bot = make_bot()
    release = asyncio.Event()
    started = asyncio.Event()
    all_handled = asyncio.Event()
    handled: list[str] = []

    async def handle(message: Message) -> None:
        handled.append(message.text or "")
        started.set()
        await release.wait()
        if len(handled) == 5:
            all_handled.set()

    journals = f"test:{uuid.uuid4().hex}:"
    seen = CountingSeen(redis, journals)
    dp = FlowDispatcher(flow=UpdateFlow(2))
    dp.message.register(handle)
    dp.journal = seen
    people = emulator.people
    for i in range(5):
        await people.send(people.user(f"P{i}"), f"hi {i}")
    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, close_bot_session=False, polling_timeout=1)
    )
    try:
        async with asyncio.timeout(10):
            await started.wait()
        # Two are being handled, three wait for a slot: all five are in the journal,
        # written by one command as the poll returned them.
        [journal] = [
            key async for key in redis.scan_iter(match=f"{journals}*") if b"alive" not in key
        ]
        assert await redis.hlen(journal) == 5
        assert len(seen.batches) == 1 and len(seen.batches[0]) == 5
        release.set()
        async with asyncio.timeout(10):
            await all_handled.wait()
        await dp.stop_polling()
        assert await dp.flow.close(within=10)
        assert sorted(handled) == [f"hi {i}" for i in range(5)]
        assert await redis.hlen(journal) == 0  # each left it once handled
    finally:
        release.set()
        with contextlib.suppress(RuntimeError):
            await dp.stop_polling()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
        await seen.close()


async def test_a_turn_that_lapsed_and_was_taken_by_another_is_not_given_back(
    redis: Redis,
) -> None:
    isolation = LeasedIsolation(redis, lease=0.6)
    name = isolation.key_builder.build(CHAT, "lock")
    async with isolation.lock(CHAT):
        # What a stalled holder meets: its lease lapsed and another process took the chat.
        await redis.delete(name)
        assert await redis.set(name, "someone-else", px=5000)
    assert await redis.get(name) == b"someone-else"
    await isolation.close()


class Holding:
    """Updates that stay accepted until released."""

    def __init__(self, flow: UpdateFlow) -> None:
        self.flow = flow
        self.release = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    async def _one(self, update_id: int) -> None:
        async with self.flow.admit(update(update_id, update_id)):
            await self.release.wait()

    async def start(self, *update_ids: int) -> None:
        self.tasks += [asyncio.create_task(self._one(i)) for i in update_ids]
        await asyncio.sleep(0)

    async def finish_one(self) -> None:
        """Lets the oldest update end, and waits for it."""
        task = self.tasks.pop(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_room_is_given_in_turn_as_updates_end() -> None:
    flow = UpdateFlow(10)
    holding = Holding(flow)
    await holding.start(1, 2)
    assert await flow.room_below(3, within=1)  # room: no wait
    first = asyncio.create_task(flow.room_below(2, within=5))
    second = asyncio.create_task(flow.room_below(2, within=5))
    await asyncio.sleep(0.05)
    assert not first.done() and not second.done()
    await holding.finish_one()
    await asyncio.sleep(0)
    assert first.done() and first.result() is True  # the one that waited longest
    assert not second.done()
    await holding.start(3)  # the one let in takes the place
    late = asyncio.create_task(flow.room_below(2, within=5))
    await holding.finish_one()
    await asyncio.sleep(0)
    assert second.done() and second.result() is True
    assert not late.done()  # a newcomer queues behind those who waited
    await holding.finish_one()
    assert await late is True
    holding.release.set()
    await asyncio.gather(*holding.tasks)


async def test_a_wait_for_room_ends_with_the_time_or_the_stop() -> None:
    flow = UpdateFlow(10)
    holding = Holding(flow)
    await holding.start(1)
    assert await flow.room_below(1, within=0.05) is False
    waiting = asyncio.create_task(flow.room_below(1, within=30))
    await asyncio.sleep(0.01)
    closing = asyncio.create_task(flow.close(within=5))
    async with asyncio.timeout(1):  # told at once, not after its 30 s
        assert await waiting is False
    assert await flow.room_below(5, within=1) is False  # stopping: none taken
    holding.release.set()
    assert await closing is True


async def test_a_place_given_to_a_waiter_that_left_goes_to_the_next() -> None:
    flow = UpdateFlow(10)
    holding = Holding(flow)
    await holding.start(1)
    leaving = asyncio.create_task(flow.room_below(1, within=30))
    staying = asyncio.create_task(flow.room_below(1, within=30))
    await asyncio.sleep(0.01)
    holding.tasks.pop(0).cancel()
    await asyncio.sleep(0)  # the update ended and gave its place to `leaving`...
    leaving.cancel()  # ...which went away before it could take it (Telegram hung up)
    async with asyncio.timeout(1):
        assert await staying is True
    with contextlib.suppress(asyncio.CancelledError):
        await leaving
