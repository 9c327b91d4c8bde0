"""SLA due times of real requests, per tariff, across nights, weekends and holidays."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from desk.calendar import BusinessCalendar
from desk.model import Kind, Priority, Role
from desk.service import Actor, Desk, NewTicket
from desk.sla import Target, due_times, target_for
from storage import repository as repo
from storage.db import SessionFactory
from tests.conftest import Clock

MSK = ZoneInfo("Europe/Moscow")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)


async def registered_row(sessions: SessionFactory) -> dict[str, object]:
    async with sessions() as session:
        rows = await repo.outbox_rows(session, None)
    [row] = [r for r in rows if r.kind == "customer.registered"]
    return dict(row.payload)


async def customer_on(desk: Desk, tariff: str) -> Actor:
    who = await desk.register_telegram_user(501, name="Анна")
    assert who.customer_id is not None
    if tariff != "basic":
        organisation = await desk.create_organisation(f"Org {tariff}", tariff)
        await desk.set_customer_organisation(who.customer_id, organisation)
    return who


def draft(kind: Kind) -> NewTicket:
    return NewTicket(kind, "Тема", "Описание проблемы подробно.")


@pytest.mark.parametrize(
    ("tariff", "kind", "first_response", "resolution"),
    [
        # Filed 22:50 on Friday 11 June 2027. Russia Day (Sat 12 June) is
        # observed on Monday 14 June. Standard counts support hours every day:
        # 10 minutes on Friday, the rest from Saturday 07:00.
        ("standard", Kind.PROBLEM, at(2027, 6, 12, 7, 50), at(2027, 6, 12, 14, 50)),
        ("premium", Kind.PROBLEM, at(2027, 6, 12, 7, 5), at(2027, 6, 12, 10, 50)),
        # Support works every day (R9), the basic tariff included: the
        # weekend and the holiday count like any other day.
        ("basic", Kind.PROBLEM, at(2027, 6, 12, 8, 50), at(2027, 6, 12, 22, 50)),
        # P4 on basic: 9600 minutes = 10 minutes on Friday + 9 full days + 15 h 50.
        ("basic", Kind.DEVELOPMENT, at(2027, 6, 12, 22, 50), at(2027, 6, 21, 22, 50)),
    ],
)
async def test_due_times_friday_night_before_a_holiday(
    desk: Desk,
    clock: Clock,
    tariff: str,
    kind: Kind,
    first_response: datetime,
    resolution: datetime,
) -> None:
    clock.set(at(2027, 6, 11, 22, 50))
    ticket = await desk.create(await customer_on(desk, tariff), draft(kind))
    assert ticket.first_response_due_at == first_response
    assert ticket.resolution_due_at == resolution


async def test_night_filing_starts_the_clock_in_the_morning(desk: Desk, clock: Clock) -> None:
    clock.set(at(2026, 11, 25, 2, 0))  # Wednesday, 02:00
    ticket = await desk.create(await customer_on(desk, "standard"), draft(Kind.PROBLEM))
    assert ticket.first_response_due_at == at(2026, 11, 25, 8, 0)


async def test_new_year_holidays_on_basic(desk: Desk, clock: Clock) -> None:
    # Wednesday 30 Dec 2026, 22:00; 31 Dec and 1-10 Jan 2027 are days off, not support's.
    clock.set(at(2026, 12, 30, 22, 0))
    ticket = await desk.create(await customer_on(desk, "basic"), draft(Kind.INCIDENT))
    # P2 basic: 240 minutes = 60 on the 30th + 180 from 31 Dec 07:00.
    assert ticket.first_response_due_at == at(2026, 12, 31, 10, 0)


@pytest.mark.parametrize(
    "day",
    [
        at(2026, 11, 28, 18, 0),  # a Saturday
        at(2026, 11, 29, 18, 0),  # a Sunday
        at(2027, 1, 7, 18, 0),  # Christmas, a public holiday
    ],
    ids=["saturday", "sunday", "holiday"],
)
async def test_days_off_are_support_days_on_the_default_tariff(
    desk: Desk, clock: Clock, sessions: SessionFactory, day: datetime
) -> None:
    clock.set(day)
    ticket = await desk.create(await customer_on(desk, "basic"), draft(Kind.PROBLEM))
    # P1 basic: first response in 120 minutes, resolution in 960 (5 h today, the rest tomorrow).
    assert ticket.first_response_due_at == day.replace(hour=20)
    assert ticket.resolution_due_at == (day + timedelta(days=1)).replace(hour=18)
    assert (await registered_row(sessions))["support_starts_at"] is None  # no "outside hours" line


async def test_filed_after_hours_is_told_when_work_starts(
    desk: Desk, clock: Clock, sessions: SessionFactory
) -> None:
    clock.set(at(2026, 11, 28, 23, 30))  # Saturday night
    ticket = await desk.create(await customer_on(desk, "basic"), draft(Kind.PROBLEM))
    starts = datetime.fromisoformat(str((await registered_row(sessions))["support_starts_at"]))
    assert starts == at(2026, 11, 29, 7, 0)  # Sunday morning: support works every day
    assert ticket.first_response_due_at == at(2026, 11, 29, 9, 0)


async def test_waiting_for_the_customer_stops_the_clock(desk: Desk, clock: Clock) -> None:
    clock.set(at(2026, 11, 24, 10, 0))
    who = await customer_on(desk, "standard")
    ticket = await desk.create(who, draft(Kind.PROBLEM))  # resolution in 480 min: 18:00
    assert ticket.resolution_due_at == at(2026, 11, 24, 18, 0)
    agent = await desk.register_telegram_user(
        9001, name="Борис", staff_roles=frozenset({Role.AGENT})
    )
    clock.set(at(2026, 11, 24, 11, 0))
    await desk.ask_customer(agent, ticket.number, "Уточните, пожалуйста, номер аккаунта")
    # The customer answers next morning: 11:00-23:00 and 07:00-09:00 = 14 h paused.
    clock.set(at(2026, 11, 25, 9, 0))
    answered = await desk.add_information(who, ticket.number, "Аккаунт 42")
    assert answered.paused_minutes == 14 * 60
    assert answered.resolution_due_at == at(2026, 11, 25, 16, 0)


async def test_priority_change_keeps_paused_time(desk: Desk, clock: Clock) -> None:
    clock.set(at(2026, 11, 24, 10, 0))
    who = await customer_on(desk, "standard")
    ticket = await desk.create(who, draft(Kind.SERVICE))
    agent = await desk.register_telegram_user(
        9001, name="Борис", staff_roles=frozenset({Role.AGENT})
    )
    await desk.ask_customer(agent, ticket.number, "Вопрос")
    clock.set(at(2026, 11, 24, 11, 0))
    await desk.add_information(who, ticket.number, "Ответ")
    raised = await desk.set_priority(agent, ticket.number, Priority.P1)
    # P1 standard: 60 / 480 minutes from 10:00 plus the hour paused.
    assert raised.first_response_due_at == at(2026, 11, 24, 12, 0)
    assert raised.resolution_due_at == at(2026, 11, 24, 19, 0)


def test_due_times_pure(calendar: BusinessCalendar) -> None:
    due = due_times(calendar, at(2026, 11, 24, 22, 30), Target(60, 120))
    assert due.first_response == at(2026, 11, 25, 7, 30)
    assert due.resolution == at(2026, 11, 25, 8, 30)
    with pytest.raises(LookupError):
        target_for({1: Target(1, 2)}, Priority.P4)
