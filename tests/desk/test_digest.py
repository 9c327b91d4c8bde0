"""Digest figures on a history built through the desk, with the expected numbers written by hand.

Runs on SQLite and PostgreSQL (``database_url``). The support day is 07:00-23:00 Moscow
time, every day on the default tariff (Базовый); the test turns Стандарт into a
business-days-only tariff to cross a weekend, and puts it back afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from desk.calendar import BusinessCalendar
from desk.digest import (
    ChartDay,
    Digest,
    DigestKind,
    DigestSchedule,
    due_periods,
    parse_period,
    percentile,
)
from desk.errors import ManagersOnly, ValidationFailed
from desk.model import Channel, CloseReason, Kind, Role
from desk.service import Actor, Desk, DeskConfig, NewTicket
from storage import digest as store
from storage import repository as repo
from storage.db import SessionFactory
from storage.models import Tariff
from tests.conftest import BACKOFFICE_CHAT_ID, Clock

MSK = ZoneInfo("Europe/Moscow")
MANAGER_ID, SECOND_MANAGER_ID, MANAGERS_CHAT = 7001, 7002, -1002000000001


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)


def request(kind: Kind, topic: str, channel: Channel = Channel.TELEGRAM) -> NewTicket:
    return NewTicket(kind, topic, "Подробное описание того, что случилось.", channel=channel)


@pytest.fixture
async def business_days_standard(sessions: SessionFactory) -> AsyncIterator[None]:
    async def set_flag(value: bool) -> None:
        async with sessions() as session, session.begin():
            await session.execute(
                update(Tariff).where(Tariff.code == "standard").values(business_days_only=value)
            )

    await set_flag(True)
    yield
    await set_flag(False)  # the PostgreSQL template outlives the test


async def build_history(desk: Desk, clock: Clock) -> dict[str, int]:
    """Eight requests over 23 November - 1 December 2026; returns their numbers by letter."""
    anna = await desk.register_telegram_user(501, name="Анна")
    boris = await desk.register_telegram_user(
        9001, name="Борис", staff_roles=frozenset({Role.AGENT})
    )
    vera = await desk.register_telegram_user(9002, name="Вера", staff_roles=frozenset({Role.AGENT}))
    oleg = await desk.register_telegram_user(502, name="Олег")
    organisation = await desk.create_organisation("Ромашка", "standard")
    assert oleg.customer_id is not None
    await desk.set_customer_organisation(oleg.customer_id, organisation)
    cabinet = await desk.register_telegram_user(503, name="Ирина")
    assert cabinet.customer_id is not None
    n: dict[str, int] = {}

    async def create(letter: str, when: datetime, who: Actor, draft: NewTicket) -> None:
        clock.set(when)
        n[letter] = (await desk.create(who, draft)).number

    # D: development (P4), answered and resolved on Monday, auto-closed a week later.
    await create("D", at(2026, 11, 23, 10, 0), anna, request(Kind.DEVELOPMENT, "Идея"))
    clock.set(at(2026, 11, 23, 10, 15))
    await desk.take(boris, n["D"])
    clock.set(at(2026, 11, 23, 10, 30))
    await desk.reply(boris, n["D"], "Посмотрим.")  # first response in 30 min
    clock.set(at(2026, 11, 23, 11, 0))
    await desk.resolve(boris, n["D"], "Сделано.")  # resolution in 60 min
    # G: service (P3), taken, never answered: both targets breached (Tue 20:00, Sun 12:00).
    await create("G", at(2026, 11, 24, 12, 0), anna, request(Kind.SERVICE, "Доступ"))
    clock.set(at(2026, 11, 24, 12, 30))
    await desk.take(vera, n["G"])
    # A: problem (P1) at 22:00; answered after the night at 08:00 (120 support minutes,
    # the target exactly), resolved, reopened by the customer, resolved again, confirmed.
    await create("A", at(2026, 11, 24, 22, 0), anna, request(Kind.PROBLEM, "Не работает"))
    clock.set(at(2026, 11, 25, 7, 30))
    await desk.take(boris, n["A"])
    clock.set(at(2026, 11, 25, 8, 0))
    await desk.reply(boris, n["A"], "Чиним.")
    clock.set(at(2026, 11, 25, 10, 0))
    await desk.resolve(boris, n["A"], "Починили.")  # 60 + 180 = 240 support minutes
    # H: incident (P2), closed as spam ten minutes later: no SLA outcome either way.
    await create("H", at(2026, 11, 25, 12, 0), anna, request(Kind.INCIDENT, "Реклама"))
    clock.set(at(2026, 11, 25, 12, 10))
    await desk.close(boris, n["H"], CloseReason.SPAM)
    clock.set(at(2026, 11, 26, 10, 0))
    await desk.reopen(anna, n["A"], "Снова не работает.")
    clock.set(at(2026, 11, 26, 12, 0))
    # 1320 support minutes since creation, 960 of them waiting for the confirmation: 360.
    await desk.resolve(boris, n["A"], "Теперь точно.")
    clock.set(at(2026, 11, 26, 13, 0))
    await desk.confirm(anna, n["A"])
    clock.set(at(2026, 11, 26, 13, 5))
    await desk.rate(anna, n["A"], 5)
    # C: service (P3) on the business-days-only Стандарт, Friday 22:00; asked on Monday
    # 08:00 (60 + 60 support minutes across the weekend; due Monday 10:00), then withdrawn.
    await create("C", at(2026, 11, 27, 22, 0), oleg, request(Kind.SERVICE, "Счёт"))
    # B: incident (P2) from the cabinet on Saturday 10:00, never answered: first response
    # breached on Saturday 14:00, resolution on Monday 10:00.
    await create(
        "B",
        at(2026, 11, 28, 10, 0),
        Actor.cabinet(cabinet.customer_id),
        request(Kind.INCIDENT, "Ошибка API", Channel.CABINET),
    )
    clock.set(at(2026, 11, 30, 7, 50))
    await desk.take(vera, n["C"])
    clock.set(at(2026, 11, 30, 8, 0))
    await desk.ask_customer(vera, n["C"], "Какой счёт?")
    clock.set(at(2026, 11, 30, 9, 0))
    await desk.withdraw(oleg, n["C"])
    clock.set(at(2026, 11, 30, 11, 0))
    assert await desk.auto_close_due() == [n["D"]]  # 5 business days after Monday 11:00
    clock.set(at(2026, 11, 30, 12, 0))
    await desk.rate(anna, n["D"], 2)
    # E: incident (P2) on Monday 20:00; its first response is breached on Tuesday 08:00,
    # after the period.
    await create("E", at(2026, 11, 30, 20, 0), anna, request(Kind.INCIDENT, "Звонки"))
    # F: problem (P1) after the period, on Tuesday 07:20: at 09:00 past 80 % of its
    # 120-minute first response (08:56) and not yet due (09:20): at risk now.
    await create("F", at(2026, 12, 1, 7, 20), anna, request(Kind.PROBLEM, "Авария"))
    return n


@pytest.mark.usefixtures("business_days_standard")
async def test_figures_of_a_built_history(desk: Desk, clock: Clock) -> None:
    n = await build_history(desk, clock)
    clock.set(at(2026, 12, 1, 9, 0))
    manager = Actor.staff(1, "Марина", frozenset({Role.MANAGER}))
    digest = await desk.digest(manager, "2026-11-23..2026-11-30")

    assert (digest.kind, digest.first_day, digest.last_day) == ("range", "2026-11-23", "2026-11-30")
    assert digest.new_total == 7
    assert digest.new_by_kind == {"development": 1, "service": 2, "problem": 1, "incident": 3}
    assert digest.new_by_priority == {"1": 1, "2": 3, "3": 2, "4": 1}
    assert digest.new_by_channel == {"telegram": 6, "cabinet": 1}
    assert digest.resolved == 3  # A twice, D
    assert digest.closed == {"confirmed": 1, "auto": 1, "withdrawn": 1, "spam": 1}
    assert digest.reopened == 1
    # Now: B and E new, F new, G in progress; the period itself added three (7 new, 4 closed).
    assert digest.backlog_total == 4
    assert digest.backlog_by_status == {"new": 3, "in_progress": 1}
    assert digest.backlog_by_priority == {"1": 1, "2": 2, "3": 1}
    assert digest.backlog_change == 3
    by_tariff = {line.tariff: line for line in digest.sla}
    basic, standard = by_tariff["Базовый"], by_tariff["Стандарт"]
    assert (basic.first_response_met, basic.first_response_breached) == (2, 2)  # A, D / B, G
    assert (basic.resolution_met, basic.resolution_breached) == (2, 2)  # A, D / G, B
    assert (standard.first_response_met, standard.first_response_breached) == (1, 0)  # C
    assert (standard.resolution_met, standard.resolution_breached) == (0, 0)  # withdrawn
    assert digest.at_risk == 1  # F
    # First responses: D 30, A 120 (a night), C 120 (a weekend); resolutions 60, 240, 360.
    assert (digest.first_response_median, digest.first_response_p90) == (120.0, 120.0)
    assert (digest.resolution_median, digest.resolution_p90) == (240.0, 360.0)
    assert (digest.rating_average, digest.rating_count) == (3.5, 2)
    assert [
        (a.name, a.taken, a.resolved, a.first_response_median, a.reopened) for a in digest.agents
    ] == [
        ("Борис", 2, 3, 75.0, 1),
        ("Вера", 2, 0, 120.0, 0),
    ]
    assert [line.number for line in digest.oldest] == [n["G"], n["B"], n["E"], n["F"]]
    assert digest.chart[-8:] == [
        ChartDay("2026-11-23", 1, 0, 1),
        ChartDay("2026-11-24", 2, 0, 3),
        ChartDay("2026-11-25", 1, 1, 3),
        ChartDay("2026-11-26", 0, 1, 2),
        ChartDay("2026-11-27", 1, 0, 3),
        ChartDay("2026-11-28", 1, 0, 4),
        ChartDay("2026-11-29", 0, 0, 4),
        ChartDay("2026-11-30", 1, 2, 3),
    ]
    assert digest.chart[0] == ChartDay("2026-11-17", 0, 0, 0) and len(digest.chart) == 14
    # The payload an outbox row carries gives the same digest back.
    assert Digest.from_payload(digest.to_payload()) == digest

    # Recomputed later, the period's figures are the same; "now" ones follow the desk.
    clock.set(at(2026, 12, 3, 12, 0))
    again = await desk.digest(manager, "2026-11-23..2026-11-30")
    assert again.sla == digest.sla and again.agents == digest.agents
    assert (again.new_total, again.closed, again.backlog_change, again.chart[-8:]) == (
        digest.new_total,
        digest.closed,
        digest.backlog_change,
        digest.chart[-8:],
    )
    # A single day: Saturday had B only, whose first response was breached that day.
    saturday = await desk.digest(manager, "2026-11-28..2026-11-28")
    assert saturday.new_total == 1 and saturday.new_by_channel == {"cabinet": 1}
    assert [(s.tariff, s.first_response_breached) for s in saturday.sla] == [("Базовый", 1)]


async def test_only_managers_and_admins_read_digests(desk: Desk) -> None:
    agent = Actor.staff(1, "Борис", frozenset({Role.AGENT}))
    with pytest.raises(ManagersOnly):
        await desk.digest(agent)
    with pytest.raises(ManagersOnly):
        await desk.digest(Actor.customer(1))
    admin = Actor.staff(2, "Админ", frozenset({Role.ADMIN}))
    assert (await desk.digest(admin)).kind == "today"
    with pytest.raises(ValidationFailed) as refused:
        await desk.digest(admin, "вчера и позавчера")
    assert refused.value.details["example"] == "2026-11-01..2026-11-15"


def test_periods() -> None:
    schedule = DigestSchedule()
    now = at(2026, 12, 1, 8, 59).astimezone(ZoneInfo("UTC"))  # Tuesday before 09:00
    daily, weekly = due_periods(now, MSK, schedule)
    assert (daily.kind, daily.first_day) == (DigestKind.DAILY, date(2026, 11, 29))
    assert (weekly.first_day, weekly.last_day) == (date(2026, 11, 23), date(2026, 11, 29))
    daily, weekly = due_periods(at(2026, 12, 1, 9, 0), MSK, schedule)
    assert daily.first_day == date(2026, 11, 30)
    # Monday 08:00: this week's digest is not due yet, the previous one is.
    _, weekly = due_periods(at(2026, 11, 30, 8, 0), MSK, schedule)
    assert weekly.first_day == date(2026, 11, 16)
    _, weekly = due_periods(at(2026, 11, 30, 9, 0), MSK, schedule)
    assert weekly.first_day == date(2026, 11, 23)
    assert weekly.start == at(2026, 11, 23, 0, 0) and weekly.end == at(2026, 11, 30, 0, 0)
    late = DigestSchedule(daily_at=time(18, 30), weekly_day=4, weekly_at=time(17, 0))
    daily, weekly = due_periods(at(2026, 11, 27, 18, 0), MSK, late)  # Friday
    assert daily.first_day == date(2026, 11, 25)
    assert (weekly.first_day, weekly.last_day) == (date(2026, 11, 20), date(2026, 11, 26))
    now = at(2026, 11, 25, 15, 0)
    assert parse_period(None, now, MSK, schedule).start == at(2026, 11, 25, 0, 0)
    assert parse_period("day", now, MSK, schedule).first_day == date(2026, 11, 24)
    assert parse_period("week", now, MSK, schedule).first_day == date(2026, 11, 16)
    spanned = parse_period("2026-11-01..2026-11-15", now, MSK, schedule)
    assert (spanned.start, spanned.end) == (at(2026, 11, 1, 0, 0), at(2026, 11, 16, 0, 0))
    for bad in ("2026-11-15..2026-11-01", "2026-13-01..2026-13-02", "2026-11-01", "завтра"):
        with pytest.raises(ValidationFailed):
            parse_period(bad, now, MSK, schedule)
    with pytest.raises(ValidationFailed):  # the future is not reported
        parse_period("2026-11-20..2026-11-26", now, MSK, schedule)
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == 9
    assert percentile([], 0.9) is None


def scheduled_desk(sessions: SessionFactory, clock: Clock, calendar: BusinessCalendar) -> Desk:
    config = DeskConfig(
        calendar=calendar,
        backoffice_chat_id=BACKOFFICE_CHAT_ID,
        digest_recipients=(MANAGER_ID, SECOND_MANAGER_ID, MANAGERS_CHAT),
    )
    return Desk(sessions, config, clock=clock)


async def digest_rows(sessions: SessionFactory) -> list[tuple[int | None, str, str]]:
    async with sessions() as session:
        rows = await repo.outbox_rows(session, None)
    return [
        (r.chat_id, r.kind, r.payload["digest"]["first_day"])
        for r in rows
        if r.audience == "manager"
    ]


async def test_scheduled_digests_once_after_a_missed_time(
    sessions: SessionFactory, clock: Clock, calendar: BusinessCalendar
) -> None:
    desk = scheduled_desk(sessions, clock, calendar)
    await desk.register_telegram_user(
        MANAGER_ID, name="Марина", language="en", staff_roles=frozenset({Role.MANAGER})
    )
    # Tuesday 10:30: the desk was down at 09:00, so the daily digest (about Monday) and
    # the weekly one (last week) are both due, once each, for every recipient.
    clock.set(at(2026, 12, 1, 10, 30))
    written = await desk.send_due_digests()
    assert sorted(written) == sorted(
        [("daily", "2026-11-30", r) for r in (MANAGER_ID, SECOND_MANAGER_ID, MANAGERS_CHAT)]
        + [("weekly", "2026-11-23", r) for r in (MANAGER_ID, SECOND_MANAGER_ID, MANAGERS_CHAT)]
    )
    assert await desk.send_due_digests() == []  # the next round
    clock.set(at(2026, 12, 1, 22, 0))
    assert await desk.send_due_digests() == []  # later the same day
    rows = await digest_rows(sessions)
    assert len(rows) == 12  # a chart and a text each
    mine = [(kind, day) for chat, kind, day in rows if chat == MANAGER_ID]
    assert mine == [
        ("manager.digest_chart", "2026-11-30"),
        ("manager.digest_text", "2026-11-30"),
        ("manager.digest_chart", "2026-11-23"),
        ("manager.digest_text", "2026-11-23"),
    ]
    async with sessions() as session:
        languages = {
            r.chat_id: r.payload["language"] for r in await repo.outbox_rows(session, None)
        }
    assert languages[MANAGER_ID] == "en" and languages[MANAGERS_CHAT] is None
    # Wednesday 09:00: the next daily digest, and only it.
    clock.set(at(2026, 12, 2, 9, 0))
    assert sorted(await desk.send_due_digests()) == [
        ("daily", "2026-12-01", r) for r in sorted((MANAGER_ID, SECOND_MANAGER_ID, MANAGERS_CHAT))
    ]


async def test_two_replicas_write_each_digest_once(
    sessions: SessionFactory, clock: Clock, calendar: BusinessCalendar
) -> None:
    clock.set(at(2026, 12, 1, 9, 0))
    replicas = [scheduled_desk(sessions, clock, calendar) for _ in range(2)]
    results = await asyncio.gather(*(desk.send_due_digests() for desk in replicas))
    together = [item for result in results for item in result]
    assert len(together) == 6 and len(set(together)) == 6
    assert len(await digest_rows(sessions)) == 12
    async with sessions() as session:
        assert len(await store.digests_sent(session)) == 6


async def test_no_recipients_no_digests(desk: Desk, clock: Clock, sessions: SessionFactory) -> None:
    clock.set(at(2026, 12, 1, 9, 0))
    assert await desk.send_due_digests() == []
    assert await digest_rows(sessions) == []
