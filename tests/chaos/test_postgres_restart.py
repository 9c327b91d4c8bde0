"""PostgreSQL stopped for a few seconds and started again while customers write.

The desk in webhook mode on PostgreSQL and Redis of the test's own (the production
setup of docker-compose.yml); what is checked is tests/chaos/outage.py's list.
A fast shutdown: PostgreSQL cuts every connection at once, as a restart of its
container does; the desk's pooled connections are all dead when it is back.
"""

from __future__ import annotations

from pathlib import Path

from tgemulator import RunningEmulator

from .outage import check_outage
from .servers import PostgresServer, RedisServer


async def test_postgres_restart_under_load_loses_and_doubles_nothing(
    emulator: RunningEmulator,
    tmp_path: Path,
    chaos_postgres: PostgresServer,
    own_postgres: str,
    own_redis: RedisServer,
) -> None:
    await check_outage(
        emulator,
        tmp_path,
        database_url=own_postgres,
        redis_url=own_redis.url(),
        stop=lambda: chaos_postgres.stop("fast"),
        start=chaos_postgres.start,
    )
