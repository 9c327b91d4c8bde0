"""How long a weekly digest takes over a large history on PostgreSQL.

    python -m bench.digest [--requests 100000] [--open-share 0.02]
                           [--runs 5] [--postgres-url URL]

Creates a throw-away database beside ``--postgres-url``, fills it with a year of
requests (spread evenly, each with the same ten history events: created, taken,
answered, a note, the customer's message, a second answer, resolved, confirmed,
rated, a note; the most recent ``--open-share`` stay in work with notes instead),
then times ``Desk.compute_digest`` for the last full week, as the scheduler asks
for it: every query and the arithmetic, not the rendering. Prints the best and
the median of ``--runs`` runs; the target is under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text

from bench.common import (
    DEFAULT_POSTGRES_URL,
    assert_no_pytest,
    load_line,
    postgres_database,
    print_report,
    progress,
)
from desk.calendar import BusinessCalendar, SupportHours
from desk.digest import last_weekly
from desk.service import Desk, DeskConfig
from storage.db import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.models import Agent, Customer, Tariff, Ticket, TicketEvent

KINDS = (("problem", 1), ("incident", 2), ("service", 3), ("development", 4))
CHUNK = 5000
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def history(
    ticket_id: int, created: datetime, priority: int, kind: str, agent: int, open_: bool
) -> list[dict[str, Any]]:
    """Ten events of one request, as the desk writes them (before/after of what changed)."""
    first_due, resolution_due = created + timedelta(hours=2), created + timedelta(hours=16)
    steps: list[tuple[timedelta, str, dict[str, Any], dict[str, Any], int | None]] = [
        (
            timedelta(0),
            "create",
            {},
            {
                "status": "new",
                "priority": priority,
                "assignee_id": None,
                "close_reason": None,
                "reopen_count": 0,
                "rating": None,
                "first_response_due_at": iso(first_due),
                "resolution_due_at": iso(resolution_due),
                "kind": kind,
                "channel": "telegram",
            },
            None,
        ),
        (
            timedelta(minutes=10),
            "take",
            {"status": "new", "assignee_id": None},
            {"status": "in_progress", "assignee_id": agent},
            agent,
        ),
        (timedelta(minutes=30), "reply", {}, {}, agent),
        (timedelta(minutes=40), "note", {}, {}, agent),
        (timedelta(hours=2), "customer_message", {}, {}, None),
        (timedelta(hours=3), "reply", {}, {}, agent),
    ]
    if open_:
        steps += [(timedelta(hours=4 + i), "note", {}, {}, agent) for i in range(4)]
    else:
        steps += [
            (
                timedelta(hours=5),
                "resolve",
                {"status": "in_progress"},
                {"status": "resolved", "auto_close_at": iso(created + timedelta(days=7))},
                agent,
            ),
            (
                timedelta(days=1),
                "confirm",
                {"status": "resolved", "close_reason": None},
                {"status": "closed", "close_reason": "confirmed"},
                None,
            ),
            (
                timedelta(days=1, minutes=5),
                "rate",
                {"rating": None},
                {"rating": 1 + ticket_id % 5},
                None,
            ),
            (timedelta(days=1, minutes=10), "note", {}, {}, agent),
        ]
    return [
        {
            "ticket_id": ticket_id,
            "actor_role": "agent" if actor else "customer",
            "actor_agent_id": actor,
            "actor_name": "",
            "action": action,
            "before": before,
            "after": after,
            "comment": "text" if action in ("reply", "note", "resolve") else None,
            "internal": action == "note",
            "created_at": created + offset,
        }
        for offset, action, before, after, actor in steps
    ]


async def insert_chunks(session: Any, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(table), list(rows[start : start + CHUNK]))


async def seed(url: str, requests: int, open_share: float) -> int:
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    rng = random.Random(11)
    events = 0
    try:
        async with sessions() as session, session.begin():
            tariff_ids = list((await session.execute(select(Tariff.id))).scalars())
            await insert_chunks(
                session,
                Agent,
                [{"telegram_user_id": 9000 + i, "name": f"Agent {i}"} for i in range(20)],
            )
            await insert_chunks(
                session,
                Customer,
                [{"telegram_user_id": 100_000 + i, "name": f"C{i}"} for i in range(1000)],
            )
        agent_ids = list(range(1, 21))
        span = timedelta(days=365)
        open_from = int(requests * (1 - open_share))
        batch_tickets: list[dict[str, Any]] = []
        batch_events: list[dict[str, Any]] = []
        for index in range(requests):
            ticket_id = index + 1
            created = NOW - span + span * index / requests
            kind, priority = KINDS[index % 4]
            agent = rng.choice(agent_ids)
            open_ = index >= open_from
            batch_tickets.append(
                {
                    "id": ticket_id,
                    "number": 1001 + index,
                    "customer_id": 1 + index % 1000,
                    "tariff_id": tariff_ids[index % len(tariff_ids)],
                    "assignee_id": agent,
                    "kind": kind,
                    "status": "in_progress" if open_ else "closed",
                    "priority": priority,
                    "channel": "telegram",
                    "topic": f"Request {index}",
                    "description": "A request made for the benchmark.",
                    "created_at": created,
                    "updated_at": created,
                    "first_response_due_at": created + timedelta(hours=2),
                    "resolution_due_at": created + timedelta(hours=16),
                    "first_responded_at": created + timedelta(minutes=30),
                    "resolved_at": None if open_ else created + timedelta(hours=5),
                    "closed_at": None if open_ else created + timedelta(days=1),
                    "close_reason": None if open_ else "confirmed",
                    "rating": None if open_ else 1 + ticket_id % 5,
                    "paused_minutes": 0,
                    "reopen_count": 0,
                }
            )
            batch_events += history(ticket_id, created, priority, kind, agent, open_)
            if len(batch_tickets) >= CHUNK or index == requests - 1:
                async with sessions() as session, session.begin():
                    await insert_chunks(session, Ticket, batch_tickets)
                    await insert_chunks(session, TicketEvent, batch_events)
                events += len(batch_events)
                batch_tickets, batch_events = [], []
                progress(f"{index + 1} requests, {events} events")
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()
    return events


async def seeded_count(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            found = await connection.execute(text("SELECT count(*) FROM ticket_events"))
            return int(found.scalar_one())
    finally:
        await engine.dispose()


async def run(args: argparse.Namespace) -> None:
    assert_no_pytest()
    if args.database_url:
        # A database seeded by an earlier run (seeding takes minutes): measure again.
        await upgrade(args.database_url)
        started = time.perf_counter()
        events = await seeded_count(args.database_url)
        if not events:
            events = await seed(args.database_url, args.requests, args.open_share)
        await measure(args, args.database_url, events, time.perf_counter() - started)
        return
    async with postgres_database(args.postgres_url) as url:
        await upgrade(url)
        started = time.perf_counter()
        events = await seed(url, args.requests, args.open_share)
        await measure(args, url, events, time.perf_counter() - started)


async def measure(args: argparse.Namespace, url: str, events: int, seeded: float) -> None:
    engine = create_engine(url)
    calendar = BusinessCalendar(SupportHours.parse("07:00-23:00", "Europe/Moscow"))
    desk = Desk(create_session_factory(engine), DeskConfig(calendar), clock=lambda: NOW)
    period = last_weekly(NOW, calendar.hours.tz, DeskConfig(calendar).digest_schedule)
    timings = []
    digest = None
    try:
        for _ in range(args.runs):
            begun = time.perf_counter()
            digest = await desk.compute_digest(period, NOW)
            timings.append(time.perf_counter() - begun)
    finally:
        await engine.dispose()
    assert digest is not None
    best, middle = min(timings), statistics.median(timings)
    result = {
        "requests": args.requests,
        "events": events,
        "period": f"{period.first_day}..{period.last_day}",
        "new_in_week": digest.new_total,
        "backlog": digest.backlog_total,
        "best_s": round(best, 3),
        "median_s": round(middle, 3),
        "seed_s": round(seeded, 1),
        "under_1s": middle < 1.0,
    }
    print_report(
        f"Weekly digest on PostgreSQL ({load_line()})",
        [
            ("requests", args.requests),
            ("history events", events),
            ("week", result["period"]),
            ("new that week", digest.new_total),
            ("open now", digest.backlog_total),
            ("best of runs, s", best),
            ("median, s", middle),
        ],
        result,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--open-share", type=float, default=0.02)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="an existing postgresql+asyncpg:// database to seed once and measure again",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
