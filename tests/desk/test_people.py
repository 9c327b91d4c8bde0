"""Registering people on a real database: customers' first sights are written together."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

from desk.model import Role
from desk.service import Actor, Desk
from storage import repository as repo
from storage.db import SessionFactory, create_engine, create_session_factory
from storage.models import Customer
from tests.conftest import Clock

NEW = 7_000_000


@dataclass
class Traffic:
    """What reached the database: transactions committed and statements run."""

    commits: int = 0
    statements: list[str] = field(default_factory=list)

    def of(self, verb: str) -> list[str]:
        return [s for s in self.statements if s.lstrip().upper().startswith(verb)]


def engine_of(sessions: SessionFactory) -> Engine:
    bind = sessions.kw["bind"]
    engine: Engine = bind.sync_engine
    return engine


@pytest.fixture
def traffic(sessions: SessionFactory) -> Iterator[Traffic]:
    engine = engine_of(sessions)
    seen = Traffic()

    def on_commit(_connection: Any) -> None:
        seen.commits += 1

    def on_statement(*args: Any) -> None:
        seen.statements.append(args[2])

    event.listen(engine, "commit", on_commit)
    event.listen(engine, "before_cursor_execute", on_statement)
    yield seen
    event.remove(engine, "commit", on_commit)
    event.remove(engine, "before_cursor_execute", on_statement)


async def customers(sessions: SessionFactory) -> list[Customer]:
    async with sessions() as session:
        return list((await session.scalars(select(Customer).order_by(Customer.id))).all())


async def register(desk: Desk, user_id: int, name: str = "Анна", **more: Any) -> Actor:
    more.setdefault("language", "ru")
    return await desk.register_telegram_user(user_id, name=name, **more)


async def test_a_burst_of_new_people_is_written_in_a_few_transactions(
    desk: Desk, sessions: SessionFactory, traffic: Traffic
) -> None:
    actors = await asyncio.gather(*(register(desk, NEW + i, f"Клиент {i}") for i in range(200)))
    rows = await customers(sessions)
    assert len(rows) == 200
    assert len({a.customer_id for a in actors}) == 200
    by_user = {row.telegram_user_id: row for row in rows}
    for i, actor in enumerate(actors):
        assert actor == Actor.customer(by_user[NEW + i].id, f"Клиент {i}", "ru")
        assert by_user[NEW + i].name == f"Клиент {i}"
    assert traffic.commits <= 2
    assert len(traffic.of("INSERT")) <= 2


async def test_a_lone_registration_is_written_at_once(desk: Desk, traffic: Traffic) -> None:
    # Nothing waits for a tick: each lone person is one transaction of their own.
    for i in range(3):
        await asyncio.wait_for(register(desk, NEW + i), timeout=5)
    assert traffic.commits == 3


async def test_a_new_person_registered_many_times_at_once_is_one_customer(
    desk: Desk, sessions: SessionFactory
) -> None:
    actors = await asyncio.gather(*(register(desk, NEW, "Анна") for _ in range(50)))
    assert len({a.customer_id for a in actors}) == 1
    assert len(await customers(sessions)) == 1


async def test_two_replicas_registering_the_same_new_people_agree(
    desk: Desk, sessions: SessionFactory, database_url: str, clock: Clock
) -> None:
    engine = create_engine(database_url)
    try:
        other = Desk(create_session_factory(engine), desk.config, clock=clock)
        people = range(NEW, NEW + 40)
        actors = await asyncio.gather(
            *(register(desk, user_id) for user_id in people),
            *(register(other, user_id) for user_id in people),
        )
    finally:
        await engine.dispose()
    rows = await customers(sessions)
    assert len(rows) == 40
    ids = {row.telegram_user_id: row.id for row in rows}
    for actor, user_id in zip(actors, [*people, *people], strict=True):
        assert actor.customer_id == ids[user_id]


async def test_a_person_another_replica_inserted_after_our_read_is_read_again(
    desk: Desk, sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = await register(desk, NEW, "Анна", language=None)
    read = repo._customers_seen_before
    reads = 0

    async def missed_once(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, Any]:
        # The first read sees nothing, as if the other replica committed just after it.
        nonlocal reads
        reads += 1
        return {} if reads == 1 else await read(session, user_ids)

    monkeypatch.setattr(repo, "_customers_seen_before", missed_once)
    actors = await asyncio.gather(register(desk, NEW, "Анна"), register(desk, NEW + 1, "Борис"))
    assert reads == 2
    assert actors[0] == Actor.customer(other.customer_id, "Анна", "ru")
    rows = await customers(sessions)
    assert [(row.telegram_user_id, row.language) for row in rows] == [(NEW, "ru"), (NEW + 1, "ru")]
    assert actors[1].customer_id == rows[1].id


async def test_a_known_person_is_updated_only_when_something_changed(
    desk: Desk, sessions: SessionFactory, traffic: Traffic
) -> None:
    await asyncio.gather(register(desk, NEW, "Анна"), register(desk, NEW + 1, "Борис"))
    before = {row.telegram_user_id: row for row in await customers(sessions)}
    traffic.statements.clear()
    actors = await asyncio.gather(
        register(desk, NEW, "Анна Петрова", username="anna"), register(desk, NEW + 1, "Борис")
    )
    assert actors[0] == Actor.customer(before[NEW].id, "Анна Петрова", "ru")
    assert actors[1] == Actor.customer(before[NEW + 1].id, "Борис", "ru")
    after = {row.telegram_user_id: row for row in await customers(sessions)}
    assert (after[NEW].name, after[NEW].username) == ("Анна Петрова", "anna")
    assert after[NEW + 1].name == "Борис"
    assert len(traffic.of("UPDATE")) == 1
    assert not traffic.of("INSERT")

    traffic.statements.clear()
    await asyncio.gather(
        register(desk, NEW, "Анна Петрова", username="anna"), register(desk, NEW + 1, "Борис")
    )
    assert not traffic.of("UPDATE")
    assert not traffic.of("INSERT")


async def test_a_language_chosen_with_lang_outlives_the_clients(desk: Desk) -> None:
    first = await register(desk, NEW, language="ru")
    await desk.set_language(first, "en")
    again = await register(desk, NEW, language="ru")
    assert again.language == "en"
    silent = await register(desk, NEW + 1, language=None)
    assert silent.language is None


async def test_a_person_who_had_blocked_the_bot_is_reachable_again(
    desk: Desk, sessions: SessionFactory
) -> None:
    who = await register(desk, NEW)
    assert who.customer_id is not None
    await desk.mark_customer_blocked(who.customer_id)
    assert (await customers(sessions))[0].blocked_bot_at is not None
    again = await register(desk, NEW)
    assert again.customer_id == who.customer_id
    assert (await customers(sessions))[0].blocked_bot_at is None


async def test_staff_keep_a_transaction_each(desk: Desk, traffic: Traffic) -> None:
    staff = frozenset({Role.AGENT})
    agents = await asyncio.gather(
        *(desk.register_telegram_user(9000 + i, name="Борис", staff_roles=staff) for i in range(3))
    )
    assert all(a.agent_id is not None and a.customer_id is None for a in agents)
    assert traffic.commits == 3


class Restarting(Exception):
    pass


async def test_a_failing_batch_fails_every_registration_in_it(
    desk: Desk, sessions: SessionFactory
) -> None:
    engine = engine_of(sessions)
    failure = Restarting("the database is restarting")

    def fail(*args: Any) -> None:
        if "INSERT INTO customers" in args[2]:
            raise failure

    event.listen(engine, "before_cursor_execute", fail)
    try:
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(register(desk, NEW + i) for i in range(20)), return_exceptions=True),
            timeout=10,
        )
    finally:
        event.remove(engine, "before_cursor_execute", fail)
    assert all(outcome is failure for outcome in outcomes)
    assert await customers(sessions) == []
    # The next burst is written as if nothing had happened.
    actors = await asyncio.gather(*(register(desk, NEW + i) for i in range(20)))
    assert len({a.customer_id for a in actors}) == 20


async def test_a_caller_cancelled_midway_does_not_cancel_the_others(
    desk: Desk, sessions: SessionFactory
) -> None:
    engine = engine_of(sessions)
    writing = asyncio.Event()

    def started(*args: Any) -> None:
        if "INSERT INTO customers" in args[2]:
            writing.set()

    event.listen(engine, "before_cursor_execute", started)
    try:
        tasks = [asyncio.create_task(register(desk, NEW + i)) for i in range(10)]
        await asyncio.wait_for(writing.wait(), timeout=10)
        tasks[0].cancel()
        rest = await asyncio.wait_for(asyncio.gather(*tasks[1:]), timeout=10)
    finally:
        event.remove(engine, "before_cursor_execute", started)
    assert tasks[0].cancelled()
    assert len({a.customer_id for a in rest}) == 9
    # The batch went on: the cancelled caller's person is written too.
    assert len(await customers(sessions)) == 10
