"""An outage: many customers write at once. Every one is answered; nothing is logged as an error."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from tgemulator import RunningEmulator, User

from .conftest import start_desk, stop_desk

CUSTOMERS = 1000
WITHIN = 240.0
PROBLEMS = re.compile(r"\b(ERROR|CRITICAL)\b|Traceback")


async def test_a_thousand_customers_at_once_on_postgres_and_redis(
    emulator: RunningEmulator, tmp_path: Path, empty_postgres_url: str, redis_url: str
) -> None:
    desk = await start_desk(
        emulator,
        "polling",
        tmp_path,
        extra_env={"DATABASE_URL": empty_postgres_url, "REDIS_URL": redis_url},
    )
    people = desk.people
    try:
        customers: list[User] = [
            people.user(f"Клиент {i}", language_code="ru" if i % 3 else "en")
            for i in range(CUSTOMERS)
        ]
        await asyncio.gather(*(people.command(c, "start") for c in customers))

        def unanswered() -> list[User]:
            return [c for c in customers if not people.bot_messages(c)]

        await people.wait_for(lambda: not unanswered(), timeout=WITHIN, what="every answer")
        # Each customer got exactly the greeting, once.
        assert {len(people.bot_messages(c)) for c in customers} == {1}
    finally:
        await stop_desk(desk)
    problems = [line for line in desk.stderr_path.read_text().splitlines() if PROBLEMS.search(line)]
    assert problems == []
