"""Drafts: the 30-minute reminder, and a draft that survives a restart (Redis)."""

from __future__ import annotations

import asyncio
import re

from aiogram import Dispatcher
from aiogram.fsm.storage.base import DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.methods import SendMessage
from aiogram.types import Message
from aiogram_dialog.test_tools import BotClient, MockMessageManager
from aiogram_dialog.test_tools.keyboard import InlineButtonTextLocator
from aiogram_dialog.test_tools.memory_storage import JsonMemoryStorage
from sqlalchemy import select

import dialogs
from dialogs import REMINDER_KEY
from dialogs.drafts import IdleReminder, MemoryDraftActivity, RedisDraftActivity
from storage.db import SessionFactory
from storage.models import Ticket
from tests.dialogs.conftest import (
    CHAT_ID,
    USER_ID,
    Customer,
    DispatcherFactory,
    RecordingBot,
    TickingClock,
)
from tests.dialogs.test_intake import DESCRIPTION, to_step

MINUTE = 60.0


def as_message(call: SendMessage) -> Message:
    return Message.model_validate(
        {
            "message_id": 99,
            "date": 0,
            "chat": {"id": CHAT_ID, "type": "private"},
            "text": call.text,
            "reply_markup": call.reply_markup,
        }
    )


async def test_an_idle_draft_is_reminded_once_and_continues_where_it_was(
    customer: Customer, reminder: IdleReminder, ticking: TickingClock
) -> None:
    await to_step(customer, "description")
    ticking.now += 29 * MINUTE
    assert await reminder.remind_idle(customer.bot) == 0
    ticking.now += 2 * MINUTE
    assert await reminder.remind_idle(customer.bot) == 1
    assert await reminder.remind_idle(customer.bot) == 0  # once
    [sent] = customer.bot.sent(SendMessage)
    assert sent.chat_id == CHAT_ID
    assert sent.text == customer.t("intake.reminder", topic="Не приходят SMS")

    await customer.client.click(
        as_message(sent), InlineButtonTextLocator(re.escape(customer.t("intake.buttons.continue")))
    )
    assert customer.t("intake.step_description", minimum=10, maximum=4000) in customer.text
    await customer.say(DESCRIPTION)
    # Active again: a new idle spell gets a new reminder.
    ticking.now += 31 * MINUTE
    assert await reminder.remind_idle(customer.bot) == 1


async def test_a_reminder_escapes_the_topic(
    customer: Customer, reminder: IdleReminder, ticking: TickingClock
) -> None:
    await to_step(customer, "topic")
    await customer.say("<b>Ошибка</b> & всё")
    ticking.now += 31 * MINUTE
    await reminder.remind_idle(customer.bot)
    [sent] = customer.bot.sent(SendMessage)
    assert "&lt;b&gt;Ошибка&lt;/b&gt; &amp; всё" in sent.text


async def test_submitted_or_cancelled_drafts_are_not_reminded(
    customer: Customer, reminder: IdleReminder, ticking: TickingClock
) -> None:
    await to_step(customer, "summary")
    await customer.press("submit")
    await to_step(customer, "topic")
    await customer.press("cancel")
    await customer.press("cancel_yes")
    ticking.now += 60 * MINUTE
    assert await reminder.remind_idle(customer.bot) == 0


async def test_the_reminder_loop_runs_between_startup_and_shutdown(
    make_dispatcher: DispatcherFactory, ticking: TickingClock
) -> None:
    reminder = IdleReminder(MemoryDraftActivity(), idle=0, every=0.01, clock=ticking)
    dispatcher = make_dispatcher(JsonMemoryStorage(), MockMessageManager(), reminder)
    bot = RecordingBot()
    customer = Customer(BotClient(dispatcher, USER_ID, CHAT_ID, bot=bot), MockMessageManager(), bot)
    await dispatcher.emit_startup(bot=bot)
    try:
        await customer.say("/new")
        for _ in range(200):
            if bot.sent(SendMessage):
                break
            await asyncio.sleep(0.01)
        assert [c.text for c in bot.sent(SendMessage)] == [customer.t("intake.reminder_no_topic")]
    finally:
        await dispatcher.emit_shutdown()
    assert not reminder.running


def redis_storage(url: str) -> RedisStorage:
    return RedisStorage.from_url(url, key_builder=DefaultKeyBuilder(with_destiny=True))


async def test_a_draft_survives_a_restart_with_redis(
    make_dispatcher: DispatcherFactory,
    redis_url: str,
    sessions: SessionFactory,
    ticking: TickingClock,
) -> None:
    bot = RecordingBot()
    storage = redis_storage(redis_url)
    before = IdleReminder(RedisDraftActivity(storage.redis), clock=ticking)
    first = Customer(
        BotClient(
            make_dispatcher(storage, (messages := MockMessageManager()), before),
            USER_ID,
            CHAT_ID,
            bot=bot,
        ),
        messages,
        bot,
    )
    await to_step(first, "screenshots")
    await first.photo()
    await storage.close()

    # A new process: new storage connection, new Dispatcher, new dialog registry.
    storage = redis_storage(redis_url)
    after = IdleReminder(RedisDraftActivity(storage.redis), clock=ticking)
    client = BotClient(
        make_dispatcher(storage, (messages := MockMessageManager()), after),
        USER_ID,
        CHAT_ID,
        bot=bot,
    )
    client.last_update_id = first.client.last_update_id  # Telegram's numbering goes on
    second = Customer(client, messages, bot)
    try:
        await second.say("/new")  # shows the draft where it was
        assert second.t("intake.screenshots_count", count=1, maximum=10) in second.text
        await second.press("back")
        assert DESCRIPTION in second.text
        await second.press("next")
        await second.press("done")
        await second.press("skip")
        ticking.now += 31 * MINUTE
        assert await after.remind_idle(bot) == 1  # the activity record came through too
        await second.press("submit")
        assert second.text == second.t("intake.sent")
        async with sessions() as session:
            [ticket] = (await session.execute(select(Ticket))).scalars().all()
        assert (ticket.topic, ticket.description) == ("Не приходят SMS", DESCRIPTION)
    finally:
        await storage.close()


async def test_setup_keeps_draft_activity_beside_the_drafts(redis_url: str) -> None:
    storage = redis_storage(redis_url)
    try:
        with_redis = Dispatcher(storage=storage)
        dialogs.setup(with_redis)
        assert isinstance(with_redis.workflow_data[REMINDER_KEY].activity, RedisDraftActivity)
        in_memory = Dispatcher(storage=JsonMemoryStorage())
        dialogs.setup(in_memory)
        assert isinstance(in_memory.workflow_data[REMINDER_KEY].activity, MemoryDraftActivity)
    finally:
        await storage.close()


async def test_each_idle_draft_is_claimed_by_one_replica_only(redis_url: str) -> None:
    one, two = redis_storage(redis_url), redis_storage(redis_url)
    try:
        a, b = RedisDraftActivity(one.redis), RedisDraftActivity(two.redis)
        await a.touch(1, 1, at=100.0, locale="en", topic="Printer")
        await a.touch(2, 2, at=100.0, locale="ru")
        await a.touch(3, 3, at=500.0, locale="ru")
        claims = await asyncio.gather(a.claim_idle(200.0), b.claim_idle(200.0))
        claimed = sorted((d.chat_id, d.locale, d.topic) for batch in claims for d in batch)
        assert claimed == [(1, "en", "Printer"), (2, "ru", "")]
        await a.forget(3, 3)
        assert await b.claim_idle(1000.0) == []
    finally:
        await one.close()
        await two.close()


async def test_steps_close_together_write_the_activity_once() -> None:
    """Each step of an intake would otherwise cost a write (with Redis a round trip)."""
    now = [1000.0]
    activity = MemoryDraftActivity()
    writes: list[float] = []
    real_touch = activity.touch

    async def counted(
        chat_id: int, user_id: int, *, at: float, locale: str, topic: str = ""
    ) -> None:
        writes.append(at)
        await real_touch(chat_id, user_id, at=at, locale=locale, topic=topic)

    activity.touch = counted  # type: ignore[method-assign]
    reminder = IdleReminder(activity, clock=lambda: now[0])
    await reminder.touch(1, 1, locale="ru")
    now[0] += 10
    await reminder.touch(1, 1, locale="ru")  # within the resolution: not written
    await reminder.touch(1, 1, locale="ru", topic="Не входит")  # the topic changed
    now[0] += reminder.resolution
    await reminder.touch(1, 1, locale="ru", topic="Не входит")  # stale by then
    await reminder.forget(1, 1)
    await reminder.touch(1, 1, locale="ru", topic="Не входит")  # a new draft
    assert writes == [1000.0, 1010.0, 1040.0, 1040.0]
    # Reminded no earlier than the resolution before 30 minutes of real silence.
    assert reminder.resolution <= 30
