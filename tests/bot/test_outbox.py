"""The outbox sender against Telegram's limits and faults (emulated), on both databases."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from delivery import deliverers
from desk.model import Kind, OutboxStatus, Priority, Role
from desk.service import Actor, NewTicket
from storage import outbox
from storage import repository as repo
from storage.models import Outbox, Ticket
from tests.harness import Harness
from tgemulator import FaultPlan, User
from tgkit.outbox import LEASE, Delivery, OutboxSender


async def quiet_sender(h: Harness) -> OutboxSender:
    """A sender the test drives by hand (the harness's own is stopped)."""
    await h.sender.stop()
    return OutboxSender(Delivery(h.bot, h.sessions, h.desk), deliverers(), clock=h.clock)


async def customer(h: Harness, name: str = "Анна") -> tuple[User, Actor]:
    person = h.people.user(name, language_code="ru")
    await h.people.command(person, "start")
    await h.people.wait_for_message(person, lambda m: bool(m.buttons))
    return person, await h.desk.register_telegram_user(person.id, name=name)


async def customer_rows(h: Harness) -> list[Outbox]:
    async with h.sessions() as session:
        return [r for r in await repo.outbox_rows(session) if r.audience == "customer"]


def texts_of(h: Harness, person: User) -> list[str]:
    return [m.text or "" for m in h.people.bot_messages(person)][1:]  # after the greeting


async def test_rows_of_one_chat_go_in_order_whatever_their_priority(harness: Harness) -> None:
    sender = await quiet_sender(harness)
    person, actor = await customer(harness)
    ticket = await harness.desk.create(
        actor, NewTicket(Kind.DEVELOPMENT, "Идея", "Добавьте отчёт по звонкам.")
    )
    kate = await harness.desk.register_telegram_user(
        1, name="Kate", staff_roles=frozenset({Role.AGENT})
    )
    await harness.desk.take(kate, ticket.number)
    await harness.desk.set_priority(kate, ticket.number, Priority.P1)  # a more urgent row, later
    await sender.drain()
    shown = texts_of(harness, person)
    assert len(shown) == 3
    assert "зарегистрирована" in shown[0]
    assert "взял(а)" in shown[1]
    assert "Приоритет" in shown[2]


async def test_429_is_honoured_and_nothing_is_lost_or_doubled(harness: Harness) -> None:
    sender = await quiet_sender(harness)
    person, actor = await customer(harness)
    harness.world.limits.enabled = True
    for i in range(6):
        await harness.desk.create(
            actor, NewTicket(Kind.SERVICE, f"Вопрос {i}", "Подробное описание вопроса.")
        )
    await sender.drain()
    rows = await customer_rows(harness)
    waiting = [r for r in rows if r.status == "pending"]
    assert waiting, "the burst limit should have stopped some sends"
    assert all("429" in (r.last_error or "") for r in waiting[:1])
    assert waiting[0].next_attempt_at > harness.clock.now  # retry_after honoured
    for _ in range(10):
        harness.clock.advance(seconds=5)
        harness.world.clock.advance(5)
        await sender.drain()
        if all(r.status == "sent" for r in await customer_rows(harness)):
            break
    assert [r.status for r in await customer_rows(harness)] == ["sent"] * 6
    registered = [t for t in texts_of(harness, person) if "зарегистрирована" in t]
    assert [t.split()[1] for t in registered] == [f"CTV-{1001 + i}" for i in range(6)]


async def test_server_errors_are_retried_with_backoff(harness: Harness) -> None:
    sender = await quiet_sender(harness)
    person, actor = await customer(harness)
    harness.world.faults.configure(
        FaultPlan(seed=7, error_rate=0.6, methods=frozenset({"sendMessage"}))
    )
    for i in range(4):
        await harness.desk.create(
            actor, NewTicket(Kind.SERVICE, f"Вопрос {i}", "Подробное описание вопроса.")
        )
    for _ in range(30):
        await sender.drain()
        if all(r.status == "sent" for r in await customer_rows(harness)):
            break
        harness.clock.advance(minutes=5)
    harness.world.faults.configure(None)
    rows = await customer_rows(harness)
    assert [r.status for r in rows] == ["sent"] * 4
    assert max(r.attempts for r in rows) > 1
    registered = [t for t in texts_of(harness, person) if "зарегистрирована" in t]
    assert len(registered) == 4


async def test_a_claimed_row_is_not_sent_twice_and_a_dead_claim_expires(harness: Harness) -> None:
    sender = await quiet_sender(harness)
    other = OutboxSender(
        Delivery(harness.bot, harness.sessions, harness.desk), deliverers(), clock=harness.clock
    )
    person, actor = await customer(harness)
    await harness.desk.create(
        actor, NewTicket(Kind.SERVICE, "Вопрос", "Подробное описание вопроса.")
    )
    row = (await customer_rows(harness))[0]
    assert [r.id for r in await other._claim(1)] == [row.id]  # a replica took it and died
    await sender.drain()
    assert texts_of(harness, person) == []
    harness.clock.advance(seconds=LEASE.total_seconds() + 1)
    await sender.drain()
    assert len(texts_of(harness, person)) == 1
    assert (await customer_rows(harness))[0].status == "sent"


async def test_a_slow_delivery_keeps_its_row_by_renewing_the_lease(harness: Harness) -> None:
    """A delivery waiting longer than the lease (a group's minute budget) is not sent twice."""
    await harness.sender.stop()
    release = asyncio.Event()
    routes = deliverers()
    customer_route = routes["customer"]

    async def slow(row: Outbox, ticket: Ticket | None, context: Delivery) -> int | None:
        await release.wait()
        return await customer_route(row, ticket, context)

    context = Delivery(harness.bot, harness.sessions, harness.desk)
    sender = OutboxSender(context, {**routes, "customer": slow}, clock=harness.clock)
    other = OutboxSender(context, deliverers(), clock=harness.clock)
    person, actor = await customer(harness)
    await harness.desk.create(
        actor, NewTicket(Kind.SERVICE, "Вопрос", "Подробное описание вопроса.")
    )
    draining = asyncio.create_task(sender.drain())
    await harness.people.wait_for(lambda: bool(sender._claimed), timeout=5)
    for _ in range(3):  # three leases long, renewed as the sender's loop would
        harness.clock.advance(seconds=LEASE.total_seconds() - 1)
        await sender.renew_leases()
        assert await other._claim(5) == []
    release.set()
    await asyncio.wait_for(draining, 10)
    assert len(texts_of(harness, person)) == 1
    assert (await customer_rows(harness))[0].status == "sent"


async def test_a_renewal_never_undoes_the_rows_outcome(harness: Harness) -> None:
    sender = await quiet_sender(harness)
    _person, actor = await customer(harness)
    await harness.desk.create(
        actor, NewTicket(Kind.SERVICE, "Вопрос", "Подробное описание вопроса.")
    )
    row = (await sender._claim(1))[0]
    due = harness.clock() + timedelta(seconds=1)
    async with harness.sessions() as session, session.begin():
        await outbox.mark_retry(session, row.id, due, "429: retry after 1")
    await sender.renew_leases()  # it read the lease before the retry was written
    assert (await customer_rows(harness))[0].next_attempt_at == due


def test_storage_speaks_the_desks_outbox_statuses() -> None:
    # storage may not import desk, so the column's values are spelled twice.
    assert {outbox.PENDING, outbox.SENT, outbox.FAILED} == {s.value for s in OutboxStatus}


async def test_cards_wait_for_an_unreachable_backoffice_and_go_out_when_it_is_back(
    harness: Harness,
) -> None:
    reports: list[tuple[bool, str]] = []
    await harness.sender.stop()
    sender = OutboxSender(
        Delivery(
            harness.bot,
            harness.sessions,
            harness.desk,
            backoffice=lambda ok, problem: reports.append((ok, problem)),
        ),
        deliverers(),
        clock=harness.clock,
    )
    bot_user = harness.world.bot
    await harness.people.leave(harness.backoffice, bot_user)  # someone removed the bot
    person, actor = await customer(harness)
    await harness.desk.create(actor, NewTicket(Kind.SERVICE, "Вопрос", "Подробное описание."))
    for _ in range(3):  # retried every 30 s while the group is out of reach, never given up
        await sender.drain()
        harness.clock.advance(minutes=10)
    async with harness.sessions() as session:
        cards = [r for r in await repo.outbox_rows(session) if r.kind == "backoffice.card"]
    assert [r.status for r in cards] == ["pending"]
    assert "backoffice unreachable" in (cards[0].last_error or "")
    assert reports and reports[-1][0] is False
    assert texts_of(harness, person)  # the customer was told meanwhile

    await harness.people.join(harness.backoffice, bot_user, status="administrator")
    harness.clock.advance(minutes=1)
    await sender.drain()
    async with harness.sessions() as session:
        cards = [r for r in await repo.outbox_rows(session) if r.kind == "backoffice.card"]
    assert [r.status for r in cards] == ["sent"]
    assert reports[-1] == (True, "")
