"""The agents' group against the Bot API emulator: a real Dispatcher, a real database.

``office`` builds the whole desk as ``bot.app`` does (``build_dispatcher``), an
aiogram Bot talking HTTP to the in-process emulator, and the outbox sender with
the backoffice deliverer. Updates the emulator queues are fed to the
dispatcher with ``office.pump()``; ``office.drain()`` delivers the outbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import Update

from bot.app import build_dispatcher
from bot.settings import Settings
from delivery.backoffice import BackofficeDeliverer
from desk.model import Audience, Kind, Role
from desk.service import Actor, AttachmentIn, Desk, NewTicket
from storage import repository as repo
from storage.db import SessionFactory
from storage.models import Outbox, Ticket
from tests.conftest import BACKOFFICE_CHAT_ID, Clock
from tgemulator import Chat, RunningEmulator, StoredMessage, User, make_image
from tgemulator.pytest_plugin import emulator
from tgkit.outbox import Delivery, OutboxSender

__all__ = ["Office", "emulator", "office"]


class ErrorLog(logging.Handler):
    """Errors the dispatcher's error router swallowed: a test must see them."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def no_customer_delivery(row: Outbox, ticket: Ticket | None, context: Delivery) -> None:
    """Customers' notifications belong to another deliverer; here they only stay recorded."""


@dataclass
class Office:
    emulator: RunningEmulator
    bot: Bot
    dispatcher: Dispatcher
    desk: Desk
    sessions: SessionFactory
    sender: OutboxSender
    group: Chat
    kate: User
    bob: User
    stranger: User
    customer_user: User
    customer: Actor
    forum: bool
    errors: ErrorLog = field(default_factory=ErrorLog)

    @property
    def world(self) -> Any:
        return self.emulator.world

    @property
    def people(self) -> Any:
        return self.emulator.people

    def updates(self) -> list[Update]:
        pending, self.world.updates = self.world.updates, []
        return [Update.model_validate(raw, context={"bot": self.bot}) for raw in pending]

    async def feed(self, update: Update) -> None:
        await self.dispatcher.feed_update(self.bot, update)

    async def pump(self) -> None:
        """Handle every update the emulator queued, in order (and what they cause)."""
        while self.world.updates:
            for update in self.updates():
                await self.feed(update)
        assert not self.errors.records, [r.getMessage() for r in self.errors.records]

    async def drain(self) -> None:
        await self.sender.drain()

    async def new_request(self, *, photos: int = 0, topic: str = "Не приходят звонки") -> Ticket:
        files = []
        for index in range(photos):
            sizes = self.world.store_photo(make_image(color=(index * 40, 10, 10)))
            files.append(AttachmentIn(sizes[-1]["file_id"], sizes[-1]["file_unique_id"]))
        return await self.desk.create(
            self.customer,
            NewTicket(
                Kind.INCIDENT,
                topic,
                "Со вчерашнего дня звонки с сайта не доходят до менеджеров.",
                attachments=files,
            ),
        )

    async def agent(self, user: User) -> Actor:
        return await self.desk.register_telegram_user(
            user.id, name=user.first_name, staff_roles=frozenset({Role.AGENT})
        )

    async def ticket(self, number: int) -> Ticket:
        async with self.sessions() as session:
            found = await repo.ticket_by_number(session, number)
        assert found is not None
        return found

    async def outbox(self, kind: str | None = None) -> list[Outbox]:
        async with self.sessions() as session:
            rows = await repo.outbox_rows(session)
        return [r for r in rows if kind is None or r.kind == kind]

    def card(self, ticket: Ticket) -> StoredMessage:
        assert ticket.card_message_id is not None
        found = self.world.find_message(self.group.id, ticket.card_message_id)
        assert found is not None
        return found  # type: ignore[no-any-return]

    def topic(self, ticket: Ticket) -> Any:
        assert ticket.forum_thread_id is not None
        return self.group.topics[ticket.forum_thread_id]

    async def say(self, user: User, text: str, ticket: Ticket, **options: Any) -> StoredMessage:
        """An agent writes about the request: in its topic, or as a reply to its card."""
        if self.forum:
            options.setdefault("thread", ticket.forum_thread_id)
        else:
            options.setdefault("reply_to", ticket.card_message_id)
        message: StoredMessage = await self.people.send(user, text, chat=self.group, **options)
        await self.pump()
        return message


@pytest.fixture(params=[True, False], ids=["forum", "plain"])
def forum(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def agent_ids_from_settings() -> bool:
    """Override with False to make the group's members the agents."""
    return True


@pytest_asyncio.fixture
async def office(
    emulator: RunningEmulator,
    desk: Desk,
    sessions: SessionFactory,
    clock: Clock,
    database_url: str,
    forum: bool,
    agent_ids_from_settings: bool,
) -> AsyncIterator[Office]:
    people = emulator.people
    kate = people.user("Kate", username="agent_kate", language_code="ru")
    bob = people.user("Bob", username="agent_bob", language_code="ru")
    stranger = people.user("Mallory", username="mallory")
    customer_user = people.user("Анна", username="anna", language_code="ru")
    group = people.group("CTV backoffice", owner=kate, chat_id=BACKOFFICE_CHAT_ID, forum=forum)
    emulator.world.set_member(group, bob, "member")
    settings = Settings(
        bot_token=emulator.token,
        telegram_api_url=emulator.url,
        backoffice_chat_id=group.id,
        agent_ids=frozenset({kate.id, bob.id}) if agent_ids_from_settings else frozenset(),
        database_url=database_url,
    )
    bot = Bot(
        emulator.token,
        session=AiohttpSession(api=TelegramAPIServer.from_base(emulator.url)),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    dispatcher = build_dispatcher(settings, desk, MemoryStorage())
    sender = OutboxSender(
        Delivery(bot, sessions, desk),
        {Audience.BACKOFFICE: BackofficeDeliverer(), Audience.CUSTOMER: no_customer_delivery},
        clock=clock,
    )
    customer = await desk.register_telegram_user(
        customer_user.id, name="Анна", username="anna", language="ru"
    )
    office = Office(
        emulator=emulator,
        bot=bot,
        dispatcher=dispatcher,
        desk=desk,
        sessions=sessions,
        sender=sender,
        group=group,
        kate=kate,
        bob=bob,
        stranger=stranger,
        customer_user=customer_user,
        customer=customer,
        forum=forum,
    )
    emulator.world.updates.clear()  # joins and the bot's own membership: nothing to handle
    logging.getLogger().addHandler(office.errors)
    try:
        yield office
    finally:
        logging.getLogger().removeHandler(office.errors)
        await bot.session.close()
        await asyncio.sleep(0)
