"""How fast the outbox sender drains notifications into the Bot API emulator.

    python -m bench.outbox_throughput [--requests 200] [--database URL]

Files N requests (each writes a customer and a backoffice notification),
then times one sender draining them all, with Telegram's limits off and on
(on: the emulator answers 429 as Telegram would; the fake clocks are moved so
the run does not really wait). Prints rows per second and the worst delay
between a commit and its delivery.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bench.common import start_emulator
from bot.app import build_bot
from bot.settings import Settings
from delivery import deliverers
from desk.calendar import BusinessCalendar, SupportHours
from desk.model import Kind
from desk.service import Desk, DeskConfig, NewTicket
from storage.db import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.models import Outbox
from tgkit.outbox import Delivery, OutboxSender

BACKOFFICE = -1001000000001


class MovableClock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


async def run(requests: int, database_url: str | None, limits: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"
        await upgrade(url)
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        emulator = await start_emulator()
        try:
            people = emulator.people
            kate = people.user("Kate")
            people.group("Desk", owner=kate, chat_id=BACKOFFICE)
            clock = MovableClock()
            calendar = BusinessCalendar(SupportHours.parse("00:00-23:59", "Europe/Moscow"))
            desk = Desk(sessions, DeskConfig(calendar, BACKOFFICE), clock=clock)
            settings = Settings.model_validate(
                {
                    "bot_token": emulator.token,
                    "telegram_api_url": emulator.url,
                    "backoffice_chat_id": BACKOFFICE,
                    "database_url": url,
                }
            )
            bot = build_bot(settings)
            customers = []
            for i in range(requests):
                person = people.user(f"Customer {i}")
                await people.command(person, "start")  # so that the bot may write to them
                customers.append(
                    await desk.register_telegram_user(person.id, name=person.first_name)
                )
            for actor in customers:
                await desk.create(actor, NewTicket(Kind.SERVICE, "Вопрос", "Описание вопроса."))
            emulator.world.limits.enabled = limits
            sender = OutboxSender(Delivery(bot, sessions, desk), deliverers(), clock=clock)
            started = time.perf_counter()
            while True:
                await sender.drain()
                async with sessions() as session:
                    pending = (
                        await session.execute(
                            select(func.count()).where(Outbox.status == "pending")
                        )
                    ).scalar_one()
                if not pending:
                    break
                # Move both clocks instead of sleeping through retry_after.
                clock.offset += timedelta(seconds=5)
                emulator.world.clock.advance(5)
            elapsed = time.perf_counter() - started
            rows = requests * 2
            print(
                f"limits={'on' if limits else 'off'} database={url.split(':')[0]} "
                f"rows={rows} seconds={elapsed:.2f} rows_per_second={rows / elapsed:.0f} "
                f"429s={len(emulator.world.limiter.hits)}"
            )
            await bot.session.close()
        finally:
            await emulator.stop()
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    for limits in (False, True):
        asyncio.run(run(args.requests, args.database, limits))


if __name__ == "__main__":
    main()
