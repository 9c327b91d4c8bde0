"""The desk's Dispatcher, outbox sender and scheduler in-process, wired to the Bot API emulator.

Lighter than the real process of tests/e2e, and the test owns the clock: it
drives people through the emulator and waits for what the bot shows them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio
from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.memory import MemoryStorage

from bot.app import build_bot, build_dispatcher
from bot.scheduler import Scheduler
from bot.settings import Settings
from delivery import deliverers
from desk.service import Desk
from storage.db import SessionFactory
from tests.conftest import BACKOFFICE_CHAT_ID, Clock
from tgemulator import Chat, People, RunningEmulator, User, World
from tgkit.outbox import Delivery, OutboxSender

LINK_SECRET = "cabinet-shared-secret"


@dataclass
class Harness:
    emulator: RunningEmulator
    desk: Desk
    sessions: SessionFactory
    settings: Settings
    bot: Bot
    dispatcher: Dispatcher
    sender: OutboxSender
    scheduler: Scheduler
    backoffice: Chat
    agent_user: User
    clock: Clock
    manager_user: User

    @property
    def people(self) -> People:
        return self.emulator.people

    @property
    def world(self) -> World:
        return self.emulator.world

    async def settle(self) -> None:
        """Deliver every notification that is due now."""
        await self.sender.drain()


@pytest_asyncio.fixture
async def harness(
    emulator: RunningEmulator, desk: Desk, sessions: SessionFactory, clock: Clock
) -> AsyncIterator[Harness]:
    people = emulator.people
    agent_user = people.user("Kate", username="kate_agent", language_code="ru")
    manager_user = people.user("Марина", username="marina_manager", language_code="ru")
    backoffice = people.group(
        "Support desk", owner=agent_user, supergroup=True, chat_id=BACKOFFICE_CHAT_ID
    )
    settings = Settings(
        bot_token=emulator.token,
        telegram_api_url=emulator.url,
        backoffice_chat_id=BACKOFFICE_CHAT_ID,
        agent_ids=frozenset({agent_user.id}),
        manager_ids=frozenset({manager_user.id}),
        database_url="sqlite+aiosqlite:///unused.sqlite3",
        redis_url="",
        webhook_url="",
        link_secret=LINK_SECRET,
    )
    # Bare calls: these tests see Telegram's 429s and faults themselves (tests/tgkit covers both).
    bot = build_bot(settings, guarded=False)
    dispatcher = build_dispatcher(settings, desk, MemoryStorage())
    sender = OutboxSender(Delivery(bot, sessions, desk), deliverers(), clock=clock)
    scheduler = Scheduler(desk, interval=3600)
    polling = asyncio.create_task(
        dispatcher.start_polling(
            bot, handle_signals=False, close_bot_session=False, polling_timeout=1
        )
    )
    sender.start()
    try:
        yield Harness(
            emulator,
            desk,
            sessions,
            settings,
            bot,
            dispatcher,
            sender,
            scheduler,
            backoffice,
            agent_user,
            clock,
            manager_user,
        )
    finally:
        await sender.stop()
        with contextlib.suppress(RuntimeError):
            await dispatcher.stop_polling()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
        await bot.session.close()
