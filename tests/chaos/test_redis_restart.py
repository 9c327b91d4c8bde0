"""Redis stopped for a few seconds and started again while customers write.

The desk in webhook mode on PostgreSQL and Redis of the test's own; what is checked
is tests/chaos/outage.py's list. This Redis keeps an append-only file, as production's
does (docker-compose.yml runs it with --appendonly yes): the customers' drafts are
meant to outlive a restart of Redis, and the test holds the desk to that.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tgemulator import RunningEmulator

from .outage import check_outage
from .servers import RedisServer


@pytest.mark.parametrize("own_redis", ["appendonly"], indirect=True)
async def test_redis_restart_under_load_loses_and_doubles_nothing(
    emulator: RunningEmulator, tmp_path: Path, own_postgres: str, own_redis: RedisServer
) -> None:
    await check_outage(
        emulator,
        tmp_path,
        database_url=own_postgres,
        redis_url=own_redis.url(),
        stop=own_redis.stop,
        start=own_redis.start,
    )
