"""Storage on SQLite and PostgreSQL: migrations, numbering under concurrency, types."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, select, text

from desk.lifecycle import OPEN, WORKING
from desk.model import Kind
from desk.service import Desk, NewTicket
from storage.db import SessionFactory, create_engine
from storage.migrate import current_revision, head_revision, upgrade
from storage.models import Base, Customer, SlaTarget, Tariff
from storage.repository import OPEN_STATUSES, WORKING_STATUSES


async def test_migrate_twice_changes_nothing(database_url: str) -> None:
    assert await current_revision(database_url) == head_revision()
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            before = (await connection.execute(text("SELECT count(*) FROM sla_targets"))).scalar()
        await upgrade(database_url)
        async with engine.connect() as connection:
            after = (await connection.execute(text("SELECT count(*) FROM sla_targets"))).scalar()
    finally:
        await engine.dispose()
    assert before == after == 12
    assert await current_revision(database_url) == head_revision()


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_models_match_migrations(database_url: str) -> None:
    """A model change without its migration fails here, on both databases."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_diff) == []
    finally:
        await engine.dispose()


async def test_seeded_tariffs(sessions: SessionFactory) -> None:
    async with sessions() as session:
        tariffs = (await session.execute(select(Tariff).order_by(Tariff.id))).scalars().all()
        assert [(t.code, t.is_default, t.business_days_only) for t in tariffs] == [
            ("basic", True, False),  # support works every day (R9),
            ("standard", False, False),
            ("premium", False, False),
        ]
        for tariff in tariffs:
            targets: list[SlaTarget] = tariff.targets
            assert [t.priority for t in targets] == [1, 2, 3, 4]
            # A higher priority never gets a looser target.
            assert [t.first_response_minutes for t in targets] == sorted(
                t.first_response_minutes for t in targets
            )


async def test_times_come_back_aware_in_utc(sessions: SessionFactory) -> None:
    moment = datetime(2026, 11, 24, 10, 0, tzinfo=timezone(timedelta(hours=3)))
    async with sessions() as session, session.begin():
        session.add(Customer(telegram_user_id=1, name="x", created_at=moment))
    async with sessions() as session:
        stored = (await session.execute(select(Customer))).scalar_one()
    assert stored.created_at == moment and stored.created_at.tzinfo == UTC
    async with sessions() as session, session.begin():
        session.add(Customer(telegram_user_id=2, name="y", created_at=datetime(2026, 1, 1)))
        with pytest.raises(Exception, match="naive"):
            await session.flush()


async def test_hundred_concurrent_creates_get_consecutive_numbers(desk: Desk) -> None:
    customers = [
        await desk.register_telegram_user(1000 + i, name=f"Клиент {i}") for i in range(100)
    ]
    draft = NewTicket(Kind.INCIDENT, "Тема", "Одновременная подача заявок.")
    tickets = await asyncio.gather(*(desk.create(who, draft) for who in customers))
    numbers = sorted(t.number for t in tickets)
    assert numbers == list(range(1001, 1101))


async def test_numbers_are_never_reused_after_requests_are_deleted(
    desk: Desk, sessions: SessionFactory
) -> None:
    who = await desk.register_telegram_user(1, name="Анна")
    first = await desk.create(who, NewTicket(Kind.INCIDENT, "Тема", "Первая заявка клиента."))
    async with sessions() as session, session.begin():
        await session.execute(text("DELETE FROM outbox"))
        await session.execute(text("DELETE FROM attachments"))
        await session.execute(text("DELETE FROM ticket_events"))
        await session.execute(text("DELETE FROM tickets"))
    second = await desk.create(who, NewTicket(Kind.INCIDENT, "Тема", "Вторая заявка клиента."))
    assert second.number == first.number + 1


async def test_old_update_ids_are_pruned(desk: Desk, sessions: SessionFactory) -> None:
    from bot.scheduler import Scheduler
    from storage.models import ProcessedUpdate

    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        session.add(ProcessedUpdate(update_id=1, processed_at=now - timedelta(days=3)))
        session.add(ProcessedUpdate(update_id=2, processed_at=now - timedelta(hours=1)))
    await Scheduler(desk, sessions=sessions).run_once()
    async with sessions() as session:
        kept = (await session.execute(select(ProcessedUpdate.update_id))).scalars().all()
    assert kept == [2]


def test_storage_spells_the_desks_status_sets() -> None:
    assert tuple(s.value for s in OPEN) == OPEN_STATUSES
    assert tuple(s.value for s in WORKING) == WORKING_STATUSES


async def test_sqlite_connections_are_shared_safely_and_commit_cheaply(tmp_path: Path) -> None:
    # WAL for readers beside a writer; NORMAL sync: no fsync per commit (a desk crash
    # still loses nothing in WAL mode); foreign keys on; writers queue for 30 s.
    url = f"sqlite+aiosqlite:///{tmp_path / 'desk.sqlite3'}"
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            pragmas = {
                name: (await connection.execute(text(f"PRAGMA {name}"))).scalar_one()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        await engine.dispose()
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": 30000,
    }
