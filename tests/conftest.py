"""Shared fixtures: real databases (SQLite and PostgreSQL), a desk with a clock tests move.

Every test that touches storage takes ``database_url`` and so runs twice: on a
fresh SQLite file and on a fresh PostgreSQL database. Outside CI a server that
cannot be reached skips its variant with the reason; with ``CI=true`` it fails.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
import redis.asyncio as aioredis
from sqlalchemy import text

from desk.calendar import BusinessCalendar, SupportHours
from desk.service import Desk, DeskConfig
from storage.db import SessionFactory, create_engine, create_session_factory
from storage.migrate import upgrade

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKOFFICE_CHAT_ID = -1001000000001
T = TypeVar("T")


def unavailable(what: str, error: BaseException) -> None:
    reason = f"{what} is unreachable ({type(error).__name__}: {error})"
    if IN_CI:
        pytest.fail(f"{reason}; CI=true requires it", pytrace=False)
    pytest.skip(reason)


def run_in_thread(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even inside a running loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _asyncpg_url(url: str, database: str) -> str:
    base = url.rsplit("/", 1)[0]
    return f"{base}/{database}"


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated PostgreSQL database for this test session, dropped at the end."""
    name = f"ctv_test_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    async def drop() -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    try:
        run_in_thread(create())
    except (OSError, asyncpg.PostgresError) as error:
        unavailable("PostgreSQL", error)
    url = _asyncpg_url(POSTGRES_ADMIN_URL, name).replace("postgresql://", "postgresql+asyncpg://")
    run_in_thread(upgrade(url))
    yield url
    run_in_thread(drop())


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    """A brand-new, empty PostgreSQL database (for migrations from nothing)."""
    name = f"ctv_empty_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    try:
        run_in_thread(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as error:
        unavailable("PostgreSQL", error)
    yield _asyncpg_url(POSTGRES_ADMIN_URL, name).replace("postgresql://", "postgresql+asyncpg://")
    run_in_thread(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


TRANSIENT_TABLES = (
    "outbox",
    "attachments",
    "uploads",
    "api_idempotency",
    "messages",
    "ticket_events",
    "tickets",
    "customers",
    "organisations",
    "agents",
    "processed_updates",
    "digests_sent",
)


async def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(f"TRUNCATE {', '.join(TRANSIENT_TABLES)} RESTART IDENTITY CASCADE")
            )
            await connection.execute(text("UPDATE counters SET value = 1000 WHERE name = 'ticket'"))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'desk.sqlite3'}"
        await upgrade(url)
        return url
    url: str = request.getfixturevalue("postgres_template")
    await _reset_postgres(url)
    return url


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[SessionFactory]:
    engine = create_engine(database_url)
    yield create_session_factory(engine)
    await engine.dispose()


@dataclass
class Clock:
    """A clock the test moves; starts on a weekday inside support hours."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, moment: datetime) -> datetime:
        self.now = moment.astimezone(UTC)
        return self.now


@pytest.fixture
def clock() -> Clock:
    # Tuesday 2026-11-24, 10:00 Moscow time.
    return Clock(datetime(2026, 11, 24, 7, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
def calendar() -> BusinessCalendar:
    return BusinessCalendar(SupportHours.parse("07:00-23:00", "Europe/Moscow"))


@pytest.fixture
def desk(sessions: SessionFactory, clock: Clock, calendar: BusinessCalendar) -> Desk:
    config = DeskConfig(calendar=calendar, backoffice_chat_id=BACKOFFICE_CHAT_ID)
    return Desk(sessions, config, clock=clock)


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, aioredis.ConnectionError) as error:
        await client.aclose()
        unavailable("Redis", error)
    await client.flushdb()
    yield REDIS_URL
    await client.flushdb()
    await client.aclose()
