"""Fixtures of the chaos tests: servers of their own, which a test may stop and start.

Skipped (with the reason) only when the machine has no PostgreSQL server programs or
no redis-server; with ``CI=true`` that fails instead, as a missing server does in
tests/conftest.py: CI installs both.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import NoReturn

import pytest

from tests.conftest import IN_CI, run_in_thread
from tgemulator.pytest_plugin import emulator

from .servers import PostgresServer, RedisServer, postgres_bindir

__all__ = ["chaos_postgres", "emulator", "own_postgres", "own_redis"]


def missing(what: str) -> NoReturn:
    if IN_CI:
        pytest.fail(f"{what}; CI=true requires it", pytrace=False)
    pytest.skip(what)


@pytest.fixture(scope="session")
def chaos_postgres() -> Iterator[PostgresServer]:
    """One cluster for the session; each test gets a database of its own in it."""
    bindir = postgres_bindir()
    if bindir is None:
        missing("PostgreSQL's initdb/pg_ctl not found (pg_config --bindir, /usr/lib/postgresql)")
    server = PostgresServer(bindir)
    try:
        server.init()
        run_in_thread(server.start())
        yield server
    finally:
        server.remove()


@pytest.fixture
async def own_postgres(chaos_postgres: PostgresServer) -> str:
    """A new, empty database (the desk migrates it); the server is running."""
    if not chaos_postgres.running():
        # An earlier test failed while its server was stopped.
        await chaos_postgres.start()
    return await chaos_postgres.create_database(f"chaos_{uuid.uuid4().hex[:10]}")


@pytest.fixture
async def own_redis(request: pytest.FixtureRequest) -> AsyncIterator[RedisServer]:
    """A Redis server of the test's own; nothing written to disk unless the test asks
    with ``@pytest.mark.parametrize("own_redis", ["appendonly"], indirect=True)``."""
    executable = shutil.which("redis-server")
    if executable is None:
        missing("redis-server not found on PATH")
    persistent = getattr(request, "param", None) == "appendonly"
    server = RedisServer(executable, persistent=persistent)
    try:
        await server.start()
        yield server
    finally:
        await server.remove()
