"""A burst of notifications against Telegram's real limits (emulated, on a fast clock).

The sender with the bot's request middlewares (pacing and retry) delivers
everything, most urgent first, without running into 429, and merges queued
edits of a card so the group's 20 messages a minute go to what is new.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode

from delivery import deliverers
from desk.model import Audience, Kind, Role
from desk.service import NewTicket
from storage import repository as repo
from storage.models import Outbox, Ticket
from tests.harness import Harness
from tgkit.limiter import Limiter, LimiterMiddleware, Limits
from tgkit.outbox import Deliverer, Delivery, OutboxSender
from tgkit.retry import RetryMiddleware

SPEED = 40.0  # the emulator's clock, and the limiter's limits, run this much faster
CUSTOMERS = 100
URGENT = 20  # of them file a problem (P1); the rest a service request (P3)


def guarded_bot(h: Harness) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(h.emulator.url))
    session.middleware(RetryMiddleware())
    # The margin (real seconds) absorbs the time between the limiter's grant and the
    # emulator's count of the call; 0.02 s was not enough on a loaded two-core machine.
    session.middleware(LimiterMiddleware(Limiter(None, Limits(margin=0.1).faster(SPEED))))
    return Bot(
        h.emulator.token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
    )


def observed(order: list[tuple[str, int]]) -> dict[Audience, Deliverer]:
    """The real deliverers, noting what was delivered in which order."""

    def watch(deliver: Deliverer) -> Deliverer:
        async def delivering(row: Outbox, ticket: Ticket | None, context: Delivery) -> int | None:
            shown = await deliver(row, ticket, context)
            order.append((row.kind, row.priority))
            return shown

        return delivering

    return {audience: watch(deliver) for audience, deliver in deliverers().items()}


async def test_a_burst_arrives_complete_urgent_first_without_429(harness: Harness) -> None:
    await harness.sender.stop()
    world = harness.world
    people = harness.people
    kate = await harness.desk.register_telegram_user(
        harness.agent_user.id, name="Kate", staff_roles=frozenset({Role.AGENT})
    )
    numbers: list[int] = []
    for i in range(CUSTOMERS):
        person = people.user(f"Клиент {i}", language_code="ru")
        await people.command(person, "start")  # a chat the bot may write to
        await people.wait_for_message(person, lambda m: bool(m.buttons))
        actor = await harness.desk.register_telegram_user(person.id, name=person.first_name)
        kind = Kind.PROBLEM if i % (CUSTOMERS // URGENT) == 0 else Kind.SERVICE
        ticket = await harness.desk.create(
            actor, NewTicket(kind, f"Тема {i}", "Подробное описание вопроса клиента.")
        )
        numbers.append(ticket.number)
    for number in numbers:  # taken and answered: two more customer messages, card edits
        await harness.desk.take(kate, number)
        await harness.desk.reply(kate, number, "Смотрим, ответим в течение часа.")
    async with harness.sessions() as session:
        rows = await repo.outbox_rows(session)
    to_customers = [r for r in rows if r.audience == Audience.CUSTOMER.value]
    to_group = [r for r in rows if r.audience == Audience.BACKOFFICE.value]
    assert len(to_customers) == 3 * CUSTOMERS and len(to_group) >= 2 * CUSTOMERS

    world.limits.enabled = True
    world.clock.speed = SPEED
    bot = guarded_bot(harness)
    order: list[tuple[str, int]] = []
    sender = OutboxSender(Delivery(bot, harness.sessions, harness.desk), observed(order))
    try:
        await sender.drain()
    finally:
        await bot.session.close()

    async with harness.sessions() as session:
        rows = await repo.outbox_rows(session)
    assert {r.status for r in rows} == {"sent"}  # nothing lost, nothing given up
    assert world.limiter.hits == []  # paced, never refused
    merged = [r for r in rows if (r.last_error or "").startswith("merged into")]
    assert merged  # a card's queued edits went out as one
    # Every customer saw each message once, in the order written.
    for person in [u for u in world.users.values() if u.first_name.startswith("Клиент")]:
        texts = [m.text or "" for m in people.bot_messages(person)][1:]  # after the greeting
        assert len(texts) == 3, texts
        assert "зарегистрирована" in texts[0] and "Смотрим" in texts[2]
    # The urgent requests' notifications went first: all of them within the first
    # rounds of claims (16 chats are served at once).
    registered = [p for kind, p in order if kind == "customer.registered"]
    last_urgent = max(i for i, p in enumerate(registered) if p == 1)
    assert last_urgent < URGENT + 16
