"""The desk's decisions that the handlers ask for, on both databases.

Where a customer's plain message goes, who may rate, which message of an
agent is a note, the signed cabinet link, and "overdue" (one rule, in Python
and in SQL).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from desk.conversation import RouteKind, is_note, without_note_mark
from desk.errors import AlreadyRated, InvalidLink, NotFound, PermissionDenied
from desk.links import sign_organisation_link
from desk.model import CloseReason, Kind, Role, Status
from desk.resolution import awaits_confirmation, may_be_rated
from desk.service import Actor, Desk, MessageRef
from desk.sla import is_overdue
from storage import repository as repo
from storage.db import SessionFactory
from tests.conftest import Clock
from tests.desk.test_service import CUSTOMER_CHAT, agent, customer, draft

SECRET = "s3cret"


async def test_a_message_goes_to_the_only_request_in_work(desk: Desk) -> None:
    who = await customer(desk)
    assert (await desk.route_message(who)).kind is RouteKind.NEW
    ticket = await desk.create(who, draft())
    route = await desk.route_message(who)
    assert (route.kind, route.number) == (RouteKind.ADD, ticket.number)


async def test_with_several_requests_the_customer_chooses(desk: Desk) -> None:
    who = await customer(desk)
    first = await desk.create(who, draft())
    second = await desk.create(who, draft())
    route = await desk.route_message(who)
    assert route.kind is RouteKind.CHOOSE
    assert [t.number for t in route.choices] == [first.number, second.number]


async def test_a_resolved_request_beside_one_in_work_is_a_choice_too(desk: Desk) -> None:
    who = await customer(desk)
    boris = await agent(desk)
    working = await desk.create(who, draft())
    resolved = await desk.create(who, draft())
    await desk.resolve(boris, resolved.number, "Готово.")
    route = await desk.route_message(who)
    assert route.kind is RouteKind.CHOOSE
    assert [t.number for t in route.choices] == [working.number]


async def test_only_resolved_requests_offer_reopen_or_new(desk: Desk) -> None:
    who = await customer(desk)
    boris = await agent(desk)
    older, latest = await desk.create(who, draft()), await desk.create(who, draft())
    for ticket in (older, latest):
        await desk.resolve(boris, ticket.number, "Готово.")
    route = await desk.route_message(who)
    assert (route.kind, route.number) == (RouteKind.REOPEN_OR_NEW, latest.number)
    await desk.confirm(who, older.number)
    await desk.confirm(who, latest.number)
    assert (await desk.route_message(who)).kind is RouteKind.NEW


async def test_a_reply_to_a_relayed_message_goes_to_its_request(
    desk: Desk, sessions: SessionFactory
) -> None:
    who = await customer(desk)
    boris = await agent(desk)
    first = await desk.create(who, draft())
    second = await desk.create(who, draft())
    await desk.reply(boris, first.number, "Уточняю", source=MessageRef(-100, 7))
    async with sessions() as session:  # where the bot delivered the reply
        message = await repo.message_by_ref(session, -100, 7)
    assert message is not None
    await desk.record_copy(message.id, CUSTOMER_CHAT, 42)
    route = await desk.route_message(who, MessageRef(CUSTOMER_CHAT, 42))
    assert (route.kind, route.number) == (RouteKind.ADD, first.number)
    # Someone else replying to that message id learns nothing about the request.
    other = await customer(desk, user_id=777, name="Пётр")
    assert (await desk.route_message(other, MessageRef(CUSTOMER_CHAT, 42))).kind is RouteKind.NEW
    # A resolved request is not added to silently, even by a reply: the usual choice.
    await desk.resolve(boris, first.number, "Готово.")
    route = await desk.route_message(who, MessageRef(CUSTOMER_CHAT, 42))
    assert route.kind is RouteKind.CHOOSE
    assert [t.number for t in route.choices] == [second.number]


@pytest.mark.parametrize("reason", [CloseReason.CONFIRMED, CloseReason.WITHDRAWN, CloseReason.SPAM])
async def test_a_closed_request_is_rated_once_by_its_customer(
    desk: Desk, reason: CloseReason
) -> None:
    who = await customer(desk)
    boris = await agent(desk)
    ticket = await desk.create(who, draft())
    assert not may_be_rated(ticket)
    if reason is CloseReason.CONFIRMED:
        await desk.resolve(boris, ticket.number, "Готово.")
        await desk.confirm(who, ticket.number)
    elif reason is CloseReason.WITHDRAWN:
        await desk.withdraw(who, ticket.number)
    else:
        await desk.close(boris, ticket.number, reason)
    closed = await desk.ticket(who, ticket.number)
    assert closed.status == Status.CLOSED and may_be_rated(closed)
    with pytest.raises(PermissionDenied):
        await desk.rate(boris, ticket.number, 3)
    with pytest.raises(NotFound):
        await desk.rate(await customer(desk, user_id=777), ticket.number, 3)
    rated = await desk.rate(who, ticket.number, 4)
    assert not may_be_rated(rated)
    with pytest.raises(AlreadyRated) as info:
        await desk.rate(who, ticket.number, 5)
    assert info.value.code == "already_rated"


async def test_only_a_resolution_awaits_the_customers_confirmation(desk: Desk) -> None:
    who = await customer(desk)
    boris = await agent(desk)
    ticket = await desk.create(who, draft())
    assert not awaits_confirmation(ticket)
    assert awaits_confirmation(await desk.resolve(boris, ticket.number, "Готово."))
    reopened = await desk.reopen(who, ticket.number, "Звонки всё ещё не доходят.")
    assert not awaits_confirmation(reopened)
    await desk.resolve(boris, ticket.number, "Теперь готово.")
    assert not awaits_confirmation(await desk.confirm(who, ticket.number))


async def test_auto_closed_requests_may_be_rated(desk: Desk, clock: Clock) -> None:
    who = await customer(desk)
    ticket = await desk.create(who, draft())
    await desk.resolve(await agent(desk), ticket.number, "Готово.")
    clock.advance(days=14)
    assert await desk.auto_close_due() == [ticket.number]
    assert may_be_rated(await desk.ticket(who, ticket.number))


async def test_a_managers_message_is_a_note(desk: Desk) -> None:
    boris = await agent(desk)
    manager = await desk.register_telegram_user(
        9100, name="Мария", staff_roles=frozenset({Role.MANAGER})
    )
    both = await desk.register_telegram_user(
        9200, name="Вера", staff_roles=frozenset({Role.MANAGER, Role.AGENT})
    )
    assert not is_note(boris, "Ответ клиенту")
    assert is_note(boris, "! только для своих")
    assert is_note(manager, "Ответ клиенту")
    assert not is_note(both, "Ответ клиенту")
    assert without_note_mark("!  для своих") == "для своих"
    assert without_note_mark("Ответ!") == "Ответ!"
    # And the desk itself refuses a manager's reply, so the rule and the use case agree.
    ticket = await desk.create(await customer(desk), draft())
    with pytest.raises(PermissionDenied):
        await desk.reply(manager, ticket.number, "Ответ клиенту")
    await desk.note(manager, ticket.number, "Ответ клиенту")


async def test_the_desk_verifies_the_cabinet_link(desk: Desk, clock: Clock) -> None:
    await desk.create_organisation("ООО Ромашка", "premium", external_id="romashka")
    who = await customer(desk)
    good = sign_organisation_link(SECRET, "romashka", clock.now + timedelta(hours=1))
    expired = sign_organisation_link(SECRET, "romashka", clock.now - timedelta(seconds=1))
    forged = sign_organisation_link("other", "romashka", clock.now + timedelta(hours=1))
    for token, secret in ((expired, SECRET), (forged, SECRET), (good, ""), ("o_romashka", SECRET)):
        with pytest.raises(InvalidLink):
            await desk.join_organisation(who, token, secret=secret)
    assert (await desk.create(who, draft())).tariff.code == "basic"  # nothing changed
    assert await desk.join_organisation(who, good, secret=SECRET) == "ООО Ромашка"
    assert (await desk.create(who, draft(Kind.PROBLEM))).tariff.code == "premium"
    # The token expires by the desk's clock (or the moment the caller names).
    clock.advance(hours=2)
    with pytest.raises(InvalidLink):
        await desk.join_organisation(who, good, secret=SECRET)
    later = clock.now - timedelta(hours=2)
    assert await desk.join_organisation(who, good, secret=SECRET, now=later) == "ООО Ромашка"
    unknown = sign_organisation_link(SECRET, "nobody", clock.now + timedelta(hours=1))
    with pytest.raises(NotFound):
        await desk.join_organisation(who, unknown, secret=SECRET)
    with pytest.raises(PermissionDenied):
        await desk.join_organisation(await agent(desk), good, secret=SECRET, now=later)


async def test_overdue_is_one_rule_in_python_and_sql(desk: Desk, clock: Clock) -> None:
    who = await customer(desk)
    boris = await agent(desk)
    late = await desk.create(who, draft(Kind.PROBLEM))
    await desk.create(who, draft(Kind.DEVELOPMENT))
    asked = await desk.create(who, draft(Kind.PROBLEM))
    await desk.ask_customer(boris, asked.number, "Уточните")
    resolved = await desk.create(who, draft(Kind.PROBLEM))
    await desk.resolve(boris, resolved.number, "Готово.")
    answered = await desk.create(who, draft(Kind.PROBLEM))
    await desk.reply(boris, answered.number, "Смотрим")
    for hours in (0, 3, 24 * 30):
        clock.advance(hours=hours)
        stats = await desk.open_stats(boris)
        everything = [t for t in await desk.queue(boris, limit=100)]
        everything.append(await desk.ticket(boris, resolved.number))
        python = sum(is_overdue(t, clock.now) for t in everything)
        assert stats.overdue == python, hours
    assert is_overdue(await desk.ticket(boris, late.number), clock.now)
    assert not is_overdue(await desk.ticket(boris, asked.number), clock.now)  # paused
    assert not is_overdue(await desk.ticket(boris, resolved.number), clock.now)


def test_actor_is_staff_includes_managers() -> None:
    assert Actor(frozenset({Role.MANAGER})).is_staff
    assert not Actor(frozenset({Role.CUSTOMER})).is_staff
