"""SLA warnings and the waiting reminder, as the scheduler runs them, on both databases."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from desk.model import Kind, Role
from desk.service import Actor, Desk, NewTicket
from desk.watch import Alert
from storage import repository as repo
from storage.db import SessionFactory
from storage.models import Outbox
from tests.conftest import Clock

MSK = ZoneInfo("Europe/Moscow")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)


async def customer(desk: Desk) -> Actor:
    return await desk.register_telegram_user(501, name="Анна")


async def agent(desk: Desk) -> Actor:
    return await desk.register_telegram_user(
        9001, name="Борис", staff_roles=frozenset({Role.AGENT})
    )


async def rows(sessions: SessionFactory, kind: str) -> list[Outbox]:
    async with sessions() as session:
        return [r for r in await repo.outbox_rows(session, None) if r.kind == kind]


async def warnings(sessions: SessionFactory) -> list[str]:
    return [
        r.payload["alert"]
        for r in await rows(sessions, "backoffice.event")
        if r.payload.get("action") == "sla_warning"
    ]


async def test_warned_at_eighty_percent_and_at_breach_once_each(
    desk: Desk, clock: Clock, sessions: SessionFactory
) -> None:
    clock.set(at(2026, 11, 24, 10, 0))  # Tuesday
    ticket = await desk.create(
        await customer(desk), NewTicket(Kind.PROBLEM, "Тема", "Описание проблемы подробно.")
    )
    # P1 on the default tariff: first response in 120 min (12:00), resolution in 960 (the next day).
    clock.set(at(2026, 11, 24, 11, 30))
    assert await desk.watch_sla() == []
    clock.set(at(2026, 11, 24, 11, 36))  # 96 of 120 minutes
    assert await desk.watch_sla() == [(ticket.number, Alert.FIRST_RESPONSE_AT_RISK)]
    assert await desk.watch_sla() == []  # once
    await desk.take(await agent(desk), ticket.number)
    clock.set(at(2026, 11, 24, 12, 1))
    assert await desk.watch_sla() == [(ticket.number, Alert.FIRST_RESPONSE_BREACHED)]
    assert await desk.watch_sla() == []
    assert await warnings(sessions) == ["first_response_at_risk", "first_response_breached"]
    [breach] = [
        r for r in await rows(sessions, "backoffice.event") if "breached" in r.payload["alert"]
    ]
    assert breach.payload["assignee"] == "Борис"  # the warning names who has it
    history = await desk.history(await agent(desk), ticket.number)
    assert [e.action for e in history].count("sla_warning") == 2


async def test_a_first_response_stops_its_warnings(
    desk: Desk, clock: Clock, sessions: SessionFactory
) -> None:
    clock.set(at(2026, 11, 24, 10, 0))
    ticket = await desk.create(
        await customer(desk), NewTicket(Kind.PROBLEM, "Тема", "Описание проблемы подробно.")
    )
    clock.set(at(2026, 11, 24, 10, 30))
    await desk.reply(await agent(desk), ticket.number, "Смотрим.")
    clock.set(at(2026, 11, 24, 12, 30))
    assert await desk.watch_sla() == []
    # Resolution (960 support minutes) is at risk after 768: 22:48 the same day... then breached.
    clock.set(at(2026, 11, 25, 9, 0))
    assert await desk.watch_sla() == [(ticket.number, Alert.RESOLUTION_AT_RISK)]


async def test_across_a_night_and_a_weekend_a_missed_deadline_acts_once(
    desk: Desk, clock: Clock, sessions: SessionFactory
) -> None:
    # Friday 22:30; the desk is "stopped" until Monday morning.
    clock.set(at(2026, 11, 27, 22, 30))
    ticket = await desk.create(
        await customer(desk), NewTicket(Kind.PROBLEM, "Тема", "Описание проблемы подробно.")
    )
    clock.set(at(2026, 11, 30, 8, 0))
    warned = await desk.watch_sla()
    # Both targets passed unseen: the breaches alone, no late "at risk" first.
    assert warned == [
        (ticket.number, Alert.FIRST_RESPONSE_BREACHED),
        (ticket.number, Alert.RESOLUTION_BREACHED),
    ]
    assert await desk.watch_sla() == []
    assert await warnings(sessions) == ["first_response_breached", "resolution_breached"]


async def test_a_silent_customer_is_reminded_once_per_question(
    desk: Desk, clock: Clock, sessions: SessionFactory
) -> None:
    clock.set(at(2026, 11, 24, 10, 0))
    who = await customer(desk)
    ticket = await desk.create(who, NewTicket(Kind.SERVICE, "Тема", "Описание вопроса подробно."))
    boris = await agent(desk)
    await desk.ask_customer(boris, ticket.number, "Какой у вас аккаунт?")
    clock.set(at(2026, 11, 25, 9, 59))  # 13 + 3 support hours minus a minute
    assert await desk.remind_waiting_customers() == []
    assert await desk.watch_sla() == []  # waiting for the customer: the clock is paused
    clock.set(at(2026, 11, 25, 10, 0))
    assert await desk.remind_waiting_customers() == [ticket.number]
    assert await desk.remind_waiting_customers() == []
    clock.set(at(2026, 11, 25, 10, 5))
    await desk.add_information(who, ticket.number, "Аккаунт 42")
    await desk.ask_customer(boris, ticket.number, "А номер телефона?")
    clock.set(at(2026, 11, 26, 10, 5))
    assert await desk.remind_waiting_customers() == [ticket.number]  # a new question, a new wait
    assert len(await rows(sessions, "customer.waiting_reminder")) == 2


async def test_no_reminder_outside_support_hours(desk: Desk, clock: Clock) -> None:
    clock.set(at(2026, 11, 24, 10, 0))
    ticket = await desk.create(
        await customer(desk), NewTicket(Kind.SERVICE, "Тема", "Описание вопроса подробно.")
    )
    await desk.ask_customer(await agent(desk), ticket.number, "Вопрос?")
    clock.set(at(2026, 11, 26, 3, 0))  # more than a support day later, but at night
    assert await desk.remind_waiting_customers() == []
    clock.set(at(2026, 11, 26, 7, 0))
    assert await desk.remind_waiting_customers() == [ticket.number]
