"""The stream of request events: what listeners hear, what durable audiences get in the outbox,
and that a failing listener undoes nothing (real databases)."""

from __future__ import annotations

import pytest

from desk.events import EventKind, RequestEvent
from desk.service import Desk
from storage.db import SessionFactory
from tests.desk.test_service import agent, customer, draft, outbox


async def test_listeners_hear_each_change_and_the_outbox_keeps_the_wanted_ones(
    desk: Desk, sessions: SessionFactory
) -> None:
    heard: list[RequestEvent] = []

    async def listen(event: RequestEvent) -> None:
        heard.append(event)

    desk.event_listeners.append(listen)
    desk.event_audiences["cabinet"] = frozenset({EventKind.CREATED, EventKind.STATUS_CHANGED})
    anna = await customer(desk)
    boris = await agent(desk)
    ticket = await desk.create(anna, draft())
    await desk.take(boris, ticket.number)
    await desk.note(boris, ticket.number, "Похоже на настройки АТС")
    await desk.reply(boris, ticket.number, "Проверьте, пожалуйста, настройки.")
    await desk.resolve(boris, ticket.number)
    await desk.confirm(anna, ticket.number)

    assert [(e.kind.value, e.previous_status, e.status) for e in heard] == [
        ("created", None, "new"),
        ("status_changed", "new", "in_progress"),
        # The note is internal: modules never hear of it.
        ("message", None, "in_progress"),
        ("status_changed", "in_progress", "resolved"),
        ("status_changed", "resolved", "closed"),
        ("closed", "resolved", "closed"),
    ]
    assert {e.number for e in heard} == {ticket.number}
    assert heard[0].channel == "telegram" and heard[0].priority == ticket.priority
    ids = [e.event_id for e in heard]
    assert ids == sorted(ids)

    rows = [r for r in await outbox(sessions, ticket.id) if r.audience == "cabinet"]
    assert [(r.kind, r.payload["status"]) for r in rows] == [
        ("event.created", "new"),
        ("event.status_changed", "in_progress"),
        ("event.status_changed", "resolved"),
        ("event.status_changed", "closed"),
    ]
    assert all(r.chat_id is None and r.status == "pending" for r in rows)
    assert rows[0].payload == heard[0].as_json()


async def test_a_failing_listener_undoes_nothing(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    heard: list[EventKind] = []

    async def broken(event: RequestEvent) -> None:
        raise RuntimeError("a module's bug")

    async def after(event: RequestEvent) -> None:
        heard.append(event.kind)

    desk.event_listeners.extend([broken, after])
    anna = await customer(desk)
    ticket = await desk.create(anna, draft())
    assert (await desk.ticket(anna, ticket.number)).number == ticket.number
    assert heard == [EventKind.CREATED]
    assert "event listener" in caplog.text and "a module's bug" in caplog.text


async def test_without_listeners_nothing_is_computed_or_written(
    desk: Desk, sessions: SessionFactory
) -> None:
    anna = await customer(desk)
    ticket = await desk.create(anna, draft())
    assert {r.audience for r in await outbox(sessions, ticket.id)} == {"customer", "backoffice"}
