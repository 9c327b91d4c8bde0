"""Every use case on a real database: the change, its history event and exactly its outbox rows."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from desk.calendar import BusinessCalendar
from desk.errors import (
    AlreadyClosed,
    AlreadyRated,
    AlreadyTaken,
    IllegalTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from desk.model import Action, CloseReason, Kind, Priority, Role, Status
from desk.service import Actor, AttachmentIn, Desk, MessageRef, NewTicket
from desk.values import DeskConfig
from locales import Texts
from storage import repository as repo
from storage.db import SessionFactory
from storage.models import Attachment, Message, Outbox, TicketEvent
from tests.conftest import BACKOFFICE_CHAT_ID, Clock

MSK = ZoneInfo("Europe/Moscow")
AGENT = frozenset({Role.AGENT})
CUSTOMER_CHAT = 501


async def customer(desk: Desk, user_id: int = CUSTOMER_CHAT, name: str = "Анна") -> Actor:
    return await desk.register_telegram_user(user_id, name=name, username="anna", language="ru")


async def agent(desk: Desk, user_id: int = 9001, name: str = "Борис") -> Actor:
    return await desk.register_telegram_user(user_id, name=name, staff_roles=AGENT)


def draft(kind: Kind = Kind.INCIDENT, **overrides: object) -> NewTicket:
    values: dict[str, object] = {
        "kind": kind,
        "topic": "Не приходят звонки",
        "description": "Со вчерашнего дня звонки с сайта не доходят до менеджеров.",
    }
    values.update(overrides)
    return NewTicket(**values)  # type: ignore[arg-type]


async def outbox(sessions: SessionFactory, ticket_id: int | None = None) -> list[Outbox]:
    async with sessions() as session:
        return list(await repo.outbox_rows(session, ticket_id))


async def events(sessions: SessionFactory, ticket_id: int) -> Sequence[TicketEvent]:
    async with sessions() as session:
        return await repo.ticket_events(session, ticket_id, include_internal=True)


def kinds(rows: Sequence[Outbox]) -> list[tuple[str, str, int | None]]:
    return [(row.kind, row.method, row.chat_id) for row in rows]


async def test_the_same_intake_filed_twice_files_one_request(
    desk: Desk, sessions: SessionFactory
) -> None:
    """A Submit run again (a crash after the commit, a retried update) files nothing new."""
    anna = await customer(desk)
    boris = await customer(desk, user_id=502, name="Борис")
    first = await desk.create(anna, draft(intake_key="intake-1"))
    again = await desk.create(anna, draft(intake_key="intake-1"))
    assert again.id == first.id
    assert [e.action for e in await events(sessions, first.id)] == ["create"]
    assert len(await outbox(sessions, first.id)) == 2  # "registered" and the card, once
    # Another intake of the same customer, or the same key of another customer: new requests.
    other = await desk.create(anna, draft(intake_key="intake-2"))
    theirs = await desk.create(boris, draft(intake_key="intake-1"))
    untagged = [await desk.create(anna, draft()) for _ in range(2)]
    numbers = {first.number, other.number, theirs.number, *(t.number for t in untagged)}
    assert len(numbers) == 5


async def test_create_writes_ticket_event_and_two_notifications(
    desk: Desk, sessions: SessionFactory, clock: Clock
) -> None:
    who = await customer(desk)
    photo = AttachmentIn("file-1", "uniq-1", size=1234, width=800, height=600, sha256="ab" * 32)
    ticket = await desk.create(who, draft(Kind.PROBLEM, attachments=[photo]))

    assert ticket.number == 1001
    assert ticket.status == Status.NEW
    assert ticket.priority == Priority.P1  # a problem blocks work: P1 by default
    assert ticket.tariff.code == "basic"  # no organisation: the default tariff
    assert ticket.created_at == clock.now
    assert ticket.first_response_due_at is not None and ticket.resolution_due_at is not None
    history = await events(sessions, ticket.id)
    assert [(e.action, e.actor_role, e.actor_customer_id) for e in history] == [
        ("create", "customer", who.customer_id)
    ]
    assert history[0].after["status"] == "new" and history[0].after["kind"] == "problem"
    rows = await outbox(sessions)
    assert kinds(rows) == [
        ("customer.registered", "send", CUSTOMER_CHAT),
        ("backoffice.card", "send", BACKOFFICE_CHAT_ID),
    ]
    assert rows[0].payload["number"] == 1001 and rows[0].payload["priority"] == 1
    assert rows[0].payload["support_starts_at"] is None  # filed inside support hours
    assert len({r.idempotency_key for r in rows}) == 2
    assert all(r.status == "pending" and r.attempts == 0 for r in rows)
    async with sessions() as session:
        stored = (await session.execute(Attachment.__table__.select())).all()
    assert [(a.file_id, a.width, a.height, a.size) for a in stored] == [("file-1", 800, 600, 1234)]


@pytest.mark.parametrize(
    ("kind", "priority"),
    [
        (Kind.PROBLEM, Priority.P1),
        (Kind.INCIDENT, Priority.P2),
        (Kind.SERVICE, Priority.P3),
        (Kind.DEVELOPMENT, Priority.P4),
    ],
)
async def test_default_priority_by_kind(desk: Desk, kind: Kind, priority: Priority) -> None:
    ticket = await desk.create(await customer(desk), draft(kind))
    assert ticket.priority == priority


async def test_created_outside_support_hours_says_when_work_starts(
    desk: Desk, sessions: SessionFactory, clock: Clock
) -> None:
    clock.set(datetime(2026, 11, 24, 23, 30, tzinfo=MSK))
    await desk.create(await customer(desk), draft())
    registered = (await outbox(sessions))[0]
    starts = datetime.fromisoformat(registered.payload["support_starts_at"])
    assert starts == datetime(2026, 11, 25, 7, 0, tzinfo=MSK)


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("topic", "   ", "empty"),
        ("topic", "x" * 121, "too_long"),
        ("description", "короткое", "too_short"),
        ("description", "x" * 4001, "too_long"),
        ("description", "", "empty"),
    ],
)
async def test_create_validates(
    desk: Desk, sessions: SessionFactory, field: str, value: str, problem: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        await desk.create(await customer(desk), draft(**{field: value}))
    assert (info.value.field, info.value.problem) == (field, problem)
    assert await outbox(sessions) == []


async def test_eleven_attachments_are_refused(desk: Desk) -> None:
    many = [AttachmentIn(f"f{i}", f"u{i}") for i in range(11)]
    with pytest.raises(ValidationFailed) as info:
        await desk.create(await customer(desk), draft(attachments=many))
    assert info.value.problem == "too_many"


async def test_staff_cannot_file_for_nobody(desk: Desk) -> None:
    with pytest.raises(PermissionDenied):
        await desk.create(await agent(desk), draft())


async def test_numbers_are_sequential(desk: Desk) -> None:
    who = await customer(desk)
    numbers = [(await desk.create(who, draft())).number for _ in range(3)]
    assert numbers == [1001, 1002, 1003]


async def test_take_assigns_and_tells_customer_and_card(
    desk: Desk, sessions: SessionFactory
) -> None:
    ticket = await desk.create(await customer(desk), draft())
    boris = await agent(desk)
    taken = await desk.take(boris, ticket.number)
    assert taken.status == Status.IN_PROGRESS and taken.assignee_id == boris.agent_id
    rows = (await outbox(sessions))[2:]
    assert kinds(rows) == [
        ("customer.taken", "send", CUSTOMER_CHAT),
        ("backoffice.card", "edit", BACKOFFICE_CHAT_ID),
    ]
    assert rows[0].payload["agent_name"] == "Борис"
    take_event = (await events(sessions, ticket.id))[-1]
    assert take_event.action == "take" and take_event.actor_agent_id == boris.agent_id
    assert take_event.before == {"status": "new", "assignee_id": None}
    assert take_event.after == {"status": "in_progress", "assignee_id": boris.agent_id}


async def test_take_again_by_same_agent_changes_nothing(
    desk: Desk, sessions: SessionFactory
) -> None:
    ticket = await desk.create(await customer(desk), draft())
    boris = await agent(desk)
    await desk.take(boris, ticket.number)
    before = len(await outbox(sessions))
    await desk.take(boris, ticket.number)
    assert len(await outbox(sessions)) == before


async def test_second_agent_is_told_who_has_it(desk: Desk) -> None:
    ticket = await desk.create(await customer(desk), draft())
    await desk.take(await agent(desk, 9001, "Борис"), ticket.number)
    with pytest.raises(AlreadyTaken) as info:
        await desk.take(await agent(desk, 9002, "Вера"), ticket.number)
    assert info.value.assignee_name == "Борис"


async def test_two_agents_take_at_once_one_wins(desk: Desk, sessions: SessionFactory) -> None:
    import asyncio

    ticket = await desk.create(await customer(desk), draft())
    boris, vera = await agent(desk, 9001, "Борис"), await agent(desk, 9002, "Вера")
    results = await asyncio.gather(
        desk.take(boris, ticket.number), desk.take(vera, ticket.number), return_exceptions=True
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0], AlreadyTaken)
    takes = [e for e in await events(sessions, ticket.id) if e.action == "take"]
    assert len(takes) == 1


async def test_assign_to_another_agent(desk: Desk, sessions: SessionFactory) -> None:
    ticket = await desk.create(await customer(desk), draft())
    boris, vera = await agent(desk, 9001, "Борис"), await agent(desk, 9002, "Вера")
    assert vera.agent_id is not None
    assigned = await desk.assign(boris, ticket.number, vera.agent_id)
    assert assigned.assignee_id == vera.agent_id and assigned.status == Status.IN_PROGRESS
    with pytest.raises(NotFound):
        await desk.assign(boris, ticket.number, 424242)


async def test_set_priority_recomputes_due_times_and_notifies(
    desk: Desk, sessions: SessionFactory
) -> None:
    ticket = await desk.create(await customer(desk), draft(Kind.SERVICE))
    changed = await desk.set_priority(await agent(desk), ticket.number, Priority.P1)
    assert changed.priority == 1
    assert changed.resolution_due_at is not None and ticket.resolution_due_at is not None
    assert changed.resolution_due_at < ticket.resolution_due_at
    rows = (await outbox(sessions))[2:]
    assert kinds(rows) == [
        ("customer.priority_changed", "send", CUSTOMER_CHAT),
        ("backoffice.card", "edit", BACKOFFICE_CHAT_ID),
    ]
    assert (rows[0].payload["old_priority"], rows[0].payload["priority"]) == (3, 1)
    # P1 notifications jump the queue of the sender.
    assert rows[0].priority == 1


async def test_reply_is_the_first_response(desk: Desk, sessions: SessionFactory) -> None:
    ticket = await desk.create(await customer(desk), draft())
    replied = await desk.reply(
        await agent(desk),
        ticket.number,
        "Проверьте, пожалуйста, настройки виджета.",
        source=MessageRef(BACKOFFICE_CHAT_ID, 77),
    )
    assert replied.status == Status.IN_PROGRESS
    assert replied.first_responded_at is not None
    rows = (await outbox(sessions))[2:]
    assert kinds(rows) == [
        ("customer.reply", "send", CUSTOMER_CHAT),
        ("backoffice.card", "edit", BACKOFFICE_CHAT_ID),
    ]
    async with sessions() as session:
        message = await session.get(Message, rows[0].payload["message_id"])
    assert message is not None
    assert (message.direction, message.source_chat_id, message.source_message_id) == (
        "out",
        BACKOFFICE_CHAT_ID,
        77,
    )
    # A second reply changes no card field: only the customer hears of it.
    await desk.reply(await agent(desk), ticket.number, "И ещё одно.")
    assert kinds((await outbox(sessions))[4:]) == [("customer.reply", "send", CUSTOMER_CHAT)]


async def test_a_message_handled_again_is_relayed_once(
    desk: Desk, sessions: SessionFactory
) -> None:
    """An update run again after a crash: its reply, note, question or message once."""
    who = await customer(desk)
    ticket = await desk.create(who, draft())
    boris = await agent(desk)
    for _ in range(2):
        await desk.reply(boris, ticket.number, "Ответ", source=MessageRef(BACKOFFICE_CHAT_ID, 70))
        await desk.note(boris, ticket.number, "Заметка", source=MessageRef(BACKOFFICE_CHAT_ID, 71))
        await desk.ask_customer(
            boris, ticket.number, "Вопрос?", source=MessageRef(BACKOFFICE_CHAT_ID, 72)
        )
        await desk.add_information(
            who, ticket.number, "Ответ клиента", source=MessageRef(CUSTOMER_CHAT, 73)
        )
    actions = [e.action for e in await events(sessions, ticket.id)]
    assert actions == ["create", "reply", "note", "ask_customer", "customer_message"]
    # The same message id in another chat is another message.
    await desk.reply(boris, ticket.number, "Ещё", source=MessageRef(BACKOFFICE_CHAT_ID + 1, 70))
    assert len(await events(sessions, ticket.id)) == 6


async def test_internal_note_never_reaches_the_customer(
    desk: Desk, sessions: SessionFactory
) -> None:
    who = await customer(desk)
    ticket = await desk.create(who, draft())
    await desk.note(await agent(desk), ticket.number, "Похоже на баг в АТС клиента")
    assert len(await outbox(sessions)) == 2  # only the creation's rows
    staff_view = await desk.history(await agent(desk), ticket.number)
    customer_view = await desk.history(who, ticket.number)
    assert [e.action for e in staff_view] == ["create", "note"] and staff_view[1].internal
    assert [e.action for e in customer_view] == ["create"]


async def test_ask_customer_pauses_and_answer_resumes(
    desk: Desk, sessions: SessionFactory, clock: Clock
) -> None:
    who = await customer(desk)
    ticket = await desk.create(who, draft(Kind.SERVICE))
    boris = await agent(desk)
    asked = await desk.ask_customer(boris, ticket.number, "Какой у вас номер аккаунта?")
    assert asked.status == Status.WAITING_CUSTOMER and asked.paused_at == clock.now
    assert kinds((await outbox(sessions))[2:]) == [
        ("customer.info_requested", "send", CUSTOMER_CHAT),
        ("backoffice.card", "edit", BACKOFFICE_CHAT_ID),
    ]
    clock.advance(hours=2)
    answered = await desk.add_information(
        who, ticket.number, "Аккаунт 12345", source=MessageRef(CUSTOMER_CHAT, 10)
    )
    assert answered.status == Status.IN_PROGRESS
    assert answered.paused_at is None and answered.paused_minutes == 120
    assert answered.resolution_due_at == ticket.resolution_due_at + timedelta(hours=2)  # type: ignore[operator]
    assert kinds((await outbox(sessions))[4:]) == [
        ("backoffice.customer_message", "send", BACKOFFICE_CHAT_ID),
        ("backoffice.card", "edit", BACKOFFICE_CHAT_ID),
    ]


async def test_customer_message_without_status_change_edits_no_card(
    desk: Desk, sessions: SessionFactory
) -> None:
    who = await customer(desk)
    ticket = await desk.create(who, draft())
    photo = AttachmentIn("f-9", "u-9")
    await desk.add_information(who, ticket.number, "", attachments=[photo])
    rows = (await outbox(sessions))[2:]
    assert kinds(rows) == [("backoffice.customer_message", "send", BACKOFFICE_CHAT_ID)]
    assert rows[0].payload["attachments"] == ["f-9"]
    with pytest.raises(ValidationFailed):
        await desk.add_information(who, ticket.number, "  ")


async def test_resolve_requires_an_answer(desk: Desk, sessions: SessionFactory) -> None:
    who = await customer(desk)
    ticket = await desk.create(who, draft())
    boris = await agent(desk)
    with pytest.raises(ValidationFailed) as info:
        await desk.resolve(boris, ticket.number)
    assert info.value.field == "answer"
    await desk.reply(boris, ticket.number, "Перезапустите виджет.")
    await desk.add_information(who, ticket.number, "Перезапустил, не помогло")
    with pytest.raises(ValidationFailed):
        await desk.resolve(boris, ticket.number)  # the customer spoke last
    await desk.reply(boris, ticket.number, "Исправили на нашей стороне.")
    resolved = await desk.resolve(boris, ticket.number)
    assert resolved.status == Status.RESOLVED


async def test_resolve_sets_auto_close_in_business_days(
    desk: Desk, sessions: SessionFactory, clock: Clock
) -> None:
    clock.set(datetime(2026, 11, 27, 15, 0, tzinfo=MSK))  # a Friday
    ticket = await desk.create(await customer(desk), draft())
    resolved = await desk.resolve(await agent(desk), ticket.number, "Готово, проверьте.")
    assert resolved.status == Status.RESOLVED and resolved.resolved_at == clock.now
    assert resolved.auto_close_at == datetime(2026, 12, 4, 15, 0, tzinfo=MSK)
    assert resolved.auto_close_reminder_at == datetime(2026, 12, 3, 15, 0, tzinfo=MSK)
    rows = (await outbox(sessions))[2:]
    assert kinds(rows) == [
        ("customer.resolved", "send", CUSTOMER_CHAT),
        ("backoffice.card", "edit", BACKOFFICE_CHAT_ID),
    ]
    assert rows[0].payload["answer"] == "Готово, проверьте."


async def test_confirm_closes(desk: Desk, sessions: SessionFactory) -> None:
    who = await customer(desk)
    ticket = await desk.create(who, draft())
    await desk.resolve(await agent(desk), ticket.number, "Готово.")
    closed = await desk.confirm(who, ticket.number)
    assert (closed.status, closed.close_reason) == (Status.CLOSED, CloseReason.CONFIRMED)
    assert closed.auto_close_at is None
    assert kinds((await outbox(sessions))[4:]) == [
        ("customer.closed", "send", CUSTOMER_CHAT),
        ("backoffice.event", "send", BACKOFFICE_CHAT_ID),
        ("backoffice.card", "edit", BACKOFFICE_CHAT_ID),
    ]
    with pytest.raises(AlreadyClosed):
        await desk.confirm(who, ticket.number)


async def test_disagreement_reopens_with_reason(
    desk: Desk, sessions: SessionFactory, clock: Clock
) -> None:
    who = await customer(desk)
    ticket = await desk.create(who, draft())
    boris = await agent(desk)
    await desk.resolve(boris, ticket.number, "Готово.")
    with pytest.raises(ValidationFailed):
        await desk.reopen(who, ticket.number, "   ")
    clock.advance(hours=3)
    reopened = await desk.reopen(who, ticket.number, "Звонки всё ещё не приходят")
    assert reopened.status == Status.IN_PROGRESS and reopened.reopen_count == 1
    assert reopened.auto_close_at is None and reopened.resolved_at is None
    assert reopened.paused_minutes == 180  # waiting for the confirmation stopped the clock
    event = (await events(sessions, ticket.id))[-1]
    assert (event.action, event.comment) == ("reopen", "Звонки всё ещё не приходят")
    assert kinds((await outbox(sessions))[4:]) == [
        ("customer.reopened", "send", CUSTOMER_CHAT),
        ("backoffice.event", "send", BACKOFFICE_CHAT_ID),
        ("backoffice.card", "edit", BACKOFFICE_CHAT_ID),
    ]
    # Resolved again and reopened again: the count grows.
    await desk.resolve(boris, ticket.number, "Теперь точно.")
    again = await desk.reopen(who, ticket.number, "Нет")
    assert again.reopen_count == 2


async def test_customer_cannot_reopen_a_closed_request_but_agent_can(desk: Desk) -> None:
    who = await customer(desk)
    ticket = await desk.create(who, draft())
    boris = await agent(desk)
    await desk.resolve(boris, ticket.number, "Готово.")
    await desk.confirm(who, ticket.number)
    with pytest.raises(IllegalTransition):
        await desk.reopen(who, ticket.number, "ещё вопрос")
    reopened = await desk.reopen(boris, ticket.number, "Клиент позвонил: проблема вернулась")
    assert reopened.status == Status.IN_PROGRESS and reopened.close_reason is None


@pytest.mark.parametrize("resolved_first", [False, True])
async def test_withdraw(desk: Desk, sessions: SessionFactory, resolved_first: bool) -> None:
    who = await customer(desk)
    ticket = await desk.create(who, draft())
    if resolved_first:
        await desk.resolve(await agent(desk), ticket.number, "Готово.")
    withdrawn = await desk.withdraw(who, ticket.number)
    assert (withdrawn.status, withdrawn.close_reason) == (Status.CLOSED, CloseReason.WITHDRAWN)
    assert (await events(sessions, ticket.id))[-1].action == "withdraw"


async def test_agent_close_requires_a_reason(desk: Desk, sessions: SessionFactory) -> None:
    ticket = await desk.create(await customer(desk), draft())
    boris = await agent(desk)
    with pytest.raises(ValidationFailed):
        await desk.close(boris, ticket.number, CloseReason.OTHER)
    with pytest.raises(ValidationFailed):
        await desk.close(boris, ticket.number, CloseReason.CONFIRMED)
    closed = await desk.close(boris, ticket.number, CloseReason.DUPLICATE, "см. CTV-1000")
    assert closed.close_reason == CloseReason.DUPLICATE
    assert kinds((await outbox(sessions))[2:]) == [
        ("customer.closed", "send", CUSTOMER_CHAT),
        ("backoffice.card", "edit", BACKOFFICE_CHAT_ID),
    ]


async def test_split_creates_a_linked_request(desk: Desk, sessions: SessionFactory) -> None:
    who = await customer(desk)
    original = await desk.create(who, draft())
    new = await desk.split(await agent(desk), original.number, "А ещё не работает экспорт отчётов")
    assert new.number == original.number + 1
    assert new.parent_id == original.id and new.customer_id == original.customer_id
    assert new.topic == "А ещё не работает экспорт отчётов"
    assert [e.action for e in await events(sessions, original.id)] == ["create", "split"]
    created = (await events(sessions, new.id))[0]
    assert created.after["parent_number"] == original.number
    assert kinds(await outbox(sessions, new.id)) == [
        ("customer.registered", "send", CUSTOMER_CHAT),
        ("backoffice.card", "send", BACKOFFICE_CHAT_ID),
    ]


async def test_rate_after_closing(desk: Desk, sessions: SessionFactory) -> None:
    who = await customer(desk)
    ticket = await desk.create(who, draft())
    with pytest.raises(IllegalTransition):
        await desk.rate(who, ticket.number, 5)
    await desk.resolve(await agent(desk), ticket.number, "Готово.")
    await desk.confirm(who, ticket.number)
    with pytest.raises(ValidationFailed):
        await desk.rate(who, ticket.number, 6)
    rated = await desk.rate(who, ticket.number, 5)
    assert rated.rating == 5
    assert (await events(sessions, ticket.id))[-1].after == {"rating": 5}
    for again in (5, 1):  # once: the first rating stands
        with pytest.raises(AlreadyRated):
            await desk.rate(who, ticket.number, again)
    assert (await desk.ticket(who, ticket.number)).rating == 5


async def test_customers_see_only_their_own_requests(desk: Desk) -> None:
    anna, ivan = await customer(desk, 501, "Анна"), await customer(desk, 502, "Иван")
    ticket = await desk.create(anna, draft())
    for attempt in (
        desk.ticket(ivan, ticket.number),
        desk.history(ivan, ticket.number),
        desk.withdraw(ivan, ticket.number),
        desk.add_information(ivan, ticket.number, "чужое"),
    ):
        with pytest.raises(NotFound):
            await attempt
    assert [t.number for t in await desk.my_tickets(anna)] == [ticket.number]
    assert list(await desk.my_tickets(ivan)) == []


async def test_customers_cannot_do_agents_work(desk: Desk) -> None:
    who = await customer(desk)
    ticket = await desk.create(who, draft())
    for attempt in (
        desk.take(who, ticket.number),
        desk.set_priority(who, ticket.number, Priority.P1),
        desk.reply(who, ticket.number, "сам себе отвечу"),
        desk.note(who, ticket.number, "заметка"),
        desk.resolve(who, ticket.number, "решено"),
        desk.close(who, ticket.number, CloseReason.SPAM),
        desk.queue(who),
    ):
        with pytest.raises(PermissionDenied):
            await attempt


async def test_a_manager_reads_but_does_not_work(desk: Desk) -> None:
    ticket = await desk.create(await customer(desk), draft())
    manager = await desk.register_telegram_user(
        7001, name="Мария", staff_roles=frozenset({Role.MANAGER})
    )
    assert [t.number for t in await desk.queue(manager)] == [ticket.number]
    with pytest.raises(PermissionDenied):
        await desk.take(manager, ticket.number)


async def test_queue_orders_by_priority_then_due_time(desk: Desk, clock: Clock) -> None:
    who = await customer(desk)
    service = await desk.create(who, draft(Kind.SERVICE))
    clock.advance(minutes=5)
    problem = await desk.create(who, draft(Kind.PROBLEM))
    clock.advance(minutes=5)
    incident_late = await desk.create(who, draft(Kind.INCIDENT))
    boris = await agent(desk)
    await desk.set_priority(boris, service.number, Priority.P2)
    order = [t.number for t in await desk.queue(boris)]
    assert order == [problem.number, service.number, incident_late.number]
    await desk.take(boris, incident_late.number)
    assert [t.number for t in await desk.queue(boris, mine=True)] == [incident_late.number]


async def test_organisation_tariff_applies(desk: Desk) -> None:
    who = await customer(desk)
    organisation = await desk.create_organisation("ООО Ромашка", "premium")
    assert who.customer_id is not None
    await desk.set_customer_organisation(who.customer_id, organisation)
    ticket = await desk.create(who, draft(Kind.PROBLEM))
    assert ticket.tariff.code == "premium"
    assert ticket.first_response_due_at == ticket.created_at + timedelta(minutes=15)


async def test_blocked_customer_gets_no_notifications(desk: Desk, sessions: SessionFactory) -> None:
    who = await customer(desk)
    ticket = await desk.create(who, draft())
    assert who.customer_id is not None
    await desk.mark_customer_blocked(who.customer_id)
    await desk.take(await agent(desk), ticket.number)
    # The card shows the block, then the take; the customer hears of neither.
    assert (
        kinds((await outbox(sessions))[2:]) == [("backoffice.card", "edit", BACKOFFICE_CHAT_ID)] * 2
    )


async def test_reminder_then_auto_close(desk: Desk, sessions: SessionFactory, clock: Clock) -> None:
    clock.set(datetime(2026, 11, 27, 15, 0, tzinfo=MSK))  # Friday
    who = await customer(desk)
    ticket = await desk.create(who, draft())
    await desk.resolve(await agent(desk), ticket.number, "Готово.")

    clock.set(datetime(2026, 12, 3, 14, 59, tzinfo=MSK))
    assert await desk.send_auto_close_reminders() == []
    clock.set(datetime(2026, 12, 3, 15, 0, tzinfo=MSK))
    assert await desk.send_auto_close_reminders() == [ticket.number]
    assert await desk.send_auto_close_reminders() == []  # once only

    clock.set(datetime(2026, 12, 4, 14, 59, tzinfo=MSK))
    assert await desk.auto_close_due() == []
    clock.set(datetime(2026, 12, 4, 15, 0, tzinfo=MSK))
    assert await desk.auto_close_due() == [ticket.number]
    closed = await desk.ticket(who, ticket.number)
    assert (closed.status, closed.close_reason) == (Status.CLOSED, CloseReason.AUTO)
    assert closed.closed_at == datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    tail = kinds((await outbox(sessions))[4:])
    assert tail == [
        ("customer.auto_close_reminder", "send", CUSTOMER_CHAT),
        ("customer.closed", "send", CUSTOMER_CHAT),
        ("backoffice.event", "send", BACKOFFICE_CHAT_ID),
        ("backoffice.card", "edit", BACKOFFICE_CHAT_ID),
    ]
    history = await events(sessions, ticket.id)
    assert [e.actor_role for e in history[-2:]] == ["system", "system"]


async def test_the_auto_close_notice_says_the_configured_days(
    sessions: SessionFactory, clock: Clock, calendar: BusinessCalendar
) -> None:
    config = DeskConfig(
        calendar=calendar, backoffice_chat_id=BACKOFFICE_CHAT_ID, auto_close_business_days=3
    )
    desk = Desk(sessions, config, clock=clock)
    clock.set(datetime(2026, 11, 27, 15, 0, tzinfo=MSK))  # Friday
    ticket = await desk.create(await customer(desk), draft())
    await desk.resolve(await agent(desk), ticket.number, "Готово.")
    clock.set(datetime(2026, 12, 2, 15, 0, tzinfo=MSK))  # the third business day
    assert await desk.auto_close_due() == [ticket.number]
    [notice] = [r for r in await outbox(sessions) if r.kind == "customer.closed"]
    assert notice.payload["days"] == 3
    shown = Texts("ru")("notify.closed.auto", number="CTV-1", days=notice.payload["days"])
    assert "3 рабочих дня" in shown


async def test_confirmed_request_is_not_auto_closed(desk: Desk, clock: Clock) -> None:
    who = await customer(desk)
    ticket = await desk.create(who, draft())
    await desk.resolve(await agent(desk), ticket.number, "Готово.")
    await desk.confirm(who, ticket.number)
    clock.advance(days=30)
    assert await desk.auto_close_due() == []
    assert await desk.send_auto_close_reminders() == []


async def test_relay_pairs_and_edits(desk: Desk, sessions: SessionFactory) -> None:
    who = await customer(desk)
    ticket = await desk.create(who, draft())
    boris = await agent(desk)
    await desk.reply(
        boris, ticket.number, "Первый ответ", source=MessageRef(BACKOFFICE_CHAT_ID, 40)
    )
    reply_row = (await outbox(sessions))[2]
    message_id = reply_row.payload["message_id"]
    await desk.record_copy(message_id, CUSTOMER_CHAT, 900)
    # Either side of the pair finds the request; strangers find nothing.
    assert (await desk.find_by_message(boris, CUSTOMER_CHAT, 900)).number == ticket.number  # type: ignore[union-attr]
    assert (await desk.find_by_message(who, BACKOFFICE_CHAT_ID, 40)).number == ticket.number  # type: ignore[union-attr]
    stranger = await customer(desk, 777, "Чужой")
    assert await desk.find_by_message(stranger, CUSTOMER_CHAT, 900) is None

    edited = await desk.edit_message(
        boris, MessageRef(BACKOFFICE_CHAT_ID, 40), "Исправленный ответ"
    )
    assert edited is not None and edited.text == "Исправленный ответ"
    row = (await outbox(sessions))[-1]
    assert (row.kind, row.method, row.chat_id) == ("customer.reply_edited", "edit", CUSTOMER_CHAT)
    assert row.payload["message_id"] == message_id
    event = (await events(sessions, ticket.id))[-1]
    assert event.action == "edit" and event.after["old_text"] == "Первый ответ"
    # The customer cannot edit the agent's message; an unknown message is ignored.
    with pytest.raises(PermissionDenied):
        await desk.edit_message(who, MessageRef(BACKOFFICE_CHAT_ID, 40), "взлом")
    assert await desk.edit_message(boris, MessageRef(BACKOFFICE_CHAT_ID, 41), "нет такого") is None


async def test_customer_edit_reaches_backoffice(desk: Desk, sessions: SessionFactory) -> None:
    who = await customer(desk)
    ticket = await desk.create(who, draft())
    await desk.add_information(who, ticket.number, "Опечтка", source=MessageRef(CUSTOMER_CHAT, 5))
    await desk.edit_message(who, MessageRef(CUSTOMER_CHAT, 5), "Опечатка")
    row = (await outbox(sessions))[-1]
    assert (row.kind, row.method) == ("backoffice.customer_message_edited", "edit")


async def test_card_location_and_thread_lookup(desk: Desk) -> None:
    ticket = await desk.create(await customer(desk), draft())
    boris = await agent(desk)
    await desk.record_card(ticket.id, thread_id=55, card_message_id=56)
    assert (await desk.find_by_thread(boris, 55)).number == ticket.number  # type: ignore[union-attr]
    assert (await desk.find_by_message(boris, BACKOFFICE_CHAT_ID, 56)).number == ticket.number  # type: ignore[union-attr]
    assert await desk.find_by_thread(boris, 99) is None


async def test_search_finds_any_status_by_words_and_username(desk: Desk) -> None:
    anna = await customer(desk, 501, "Анна")
    boris = await agent(desk)
    first = await desk.create(anna, draft(topic="Ошибка ЭКСПОРТА отчётов"))
    second = await desk.create(anna, draft(topic="Другое"))
    await desk.close(boris, second.number, CloseReason.SPAM)
    found = await desk.search(boris, "экспорт")  # Cyrillic folded on SQLite too
    assert [t.number for t in found] == [first.number]
    by_user = await desk.search(boris, "@ANNA")
    assert [t.number for t in by_user] == [first.number, second.number]  # open first
    assert list(await desk.search(boris, "100%")) == []
    with pytest.raises(PermissionDenied):
        await desk.search(anna, "экспорт")


async def test_open_stats(desk: Desk, clock: Clock) -> None:
    who = await customer(desk)
    boris = await agent(desk)
    problem = await desk.create(who, draft(Kind.PROBLEM))
    await desk.create(who, draft(Kind.SERVICE))
    asked = await desk.create(who, draft(Kind.INCIDENT))
    await desk.take(boris, problem.number)
    await desk.ask_customer(boris, asked.number, "Уточните")
    clock.advance(hours=3)  # P1 first response (120 min on basic) is overdue; P3 is not
    stats = await desk.open_stats(boris)
    assert stats.by_status == {"new": 1, "in_progress": 1, "waiting_customer": 1}
    assert stats.by_priority == {1: 1, 2: 1, 3: 1}
    assert stats.overdue == 1  # the waiting one is paused
    assert stats.unassigned == 2


async def test_blocking_the_bot_marks_every_open_card(desk: Desk, sessions: SessionFactory) -> None:
    who = await customer(desk)
    first = await desk.create(who, draft())
    await desk.create(who, draft())
    assert who.customer_id is not None
    await desk.mark_customer_blocked(who.customer_id)
    await desk.mark_customer_blocked(who.customer_id)  # once is enough
    rows = (await outbox(sessions))[4:]
    assert kinds(rows) == [("backoffice.card", "edit", BACKOFFICE_CHAT_ID)] * 2
    assert (await events(sessions, first.id))[-1].action == "customer_blocked"


async def test_ensure_allowed_says_what_the_use_case_would(desk: Desk) -> None:
    who = await customer(desk)
    ticket = await desk.create(who, draft())
    assert (await desk.ensure_allowed(who, ticket.number, Action.WITHDRAW)).number == ticket.number
    with pytest.raises(IllegalTransition):
        await desk.ensure_allowed(who, ticket.number, Action.REOPEN)  # not resolved yet
    with pytest.raises(PermissionDenied):
        await desk.ensure_allowed(who, ticket.number, Action.TAKE)
    stranger = await customer(desk, 777, "Чужой")
    with pytest.raises(NotFound):
        await desk.ensure_allowed(stranger, ticket.number, Action.WITHDRAW)
    await desk.resolve(await agent(desk), ticket.number, "Готово.")
    await desk.confirm(who, ticket.number)
    with pytest.raises(IllegalTransition):
        await desk.ensure_allowed(who, ticket.number, Action.REOPEN)  # closed: a new request


async def test_edits_of_a_question_and_an_answer_follow_to_the_customer(
    desk: Desk, sessions: SessionFactory
) -> None:
    ticket = await desk.create(await customer(desk), draft())
    boris = await agent(desk)
    await desk.ask_customer(boris, ticket.number, "Кто ваш провайдер?", source=MessageRef(-1, 7))
    edited = await desk.edit_message(boris, MessageRef(-1, 7), "Кто ваш оператор связи?")
    assert edited is not None and edited.text == "Кто ваш оператор связи?"
    await desk.resolve(boris, ticket.number, "Сменили маршрут.", source=MessageRef(-1, 8))
    await desk.edit_message(boris, MessageRef(-1, 8), "Сменили маршрут звонков.")
    edits = [r for r in await outbox(sessions) if r.kind == "customer.reply_edited"]
    assert [r.payload["text"] for r in edits] == [
        "Кто ваш оператор связи?",
        "Сменили маршрут звонков.",
    ]
    # Each keeps the header it was first shown with, the resolution its auto-close time.
    assert [r.payload["shown_as"] for r in edits] == ["info_requested", "resolved"]
    resolved = await desk.ticket(boris, ticket.number)
    assert resolved.auto_close_at is not None
    assert edits[1].payload["auto_close_at"] == resolved.auto_close_at.isoformat()


async def test_a_new_person_registered_twice_at_once_is_one_customer(desk: Desk) -> None:
    actors = await asyncio.gather(
        *(desk.register_telegram_user(777, name="Анна", language="ru") for _ in range(8))
    )
    assert len({a.customer_id for a in actors}) == 1
