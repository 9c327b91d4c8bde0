"""How the outbox sender paces notifications under Telegram's real limits, in real time.

    python -m bench.outbound [--customers 750] [--group 500] [--scale 1.0]
                             [--database sqlite|postgres] [--p1-share 0.1]

Writes, through the desk (Desk.create, then an agent's Desk.reply), two notifications to
each of N customers (registered, then the reply) and keeps G backoffice cards (the
first G "card" sends; the desk writes more group rows than that — card edits and the
other cards — and those are removed before sending, so the group gets exactly G).
A share of the requests are problems (P1), written last so that "P1 first" is seen.
Then the real OutboxSender (tgkit.outbox) drains everything into the emulator with
Telegram's limits on (30 messages/s overall, 1/s per chat with a burst of 3, 20/min per
group) and a real clock: pacing is what is measured.

The group's 20 per minute make the default (500 cards) take about 25 minutes;
`--scale 0.2` shrinks every count (150 customers, 100 cards: about 5 minutes).

Prints a table and, last, one JSON line (keys in bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import os
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select

from bench.common import (
    DEFAULT_POSTGRES_URL,
    Answer,
    RunningEmulator,
    assert_no_pytest,
    load_line,
    postgres_database,
    print_report,
    progress,
    start_emulator,
)
from bot.app import build_bot
from bot.settings import Settings
from delivery import deliverers
from desk.calendar import BusinessCalendar, SupportHours
from desk.model import Audience, Kind, OutboxStatus, Priority, Role
from desk.service import Desk, DeskConfig, NewTicket
from storage.db import SessionFactory, create_engine, create_session_factory
from storage.migrate import upgrade
from storage.models import Outbox
from tgkit.outbox import Delivery, OutboxSender

TOKEN = "100003:BENCH-outbound-token"
BACKOFFICE_CHAT_ID = -1001000000001
LIMIT_PER_SECOND = 30
GROUP_PER_MINUTE = 20
OTHER_KINDS = (Kind.INCIDENT, Kind.SERVICE, Kind.DEVELOPMENT)
SENDS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "copyMessage"})


@dataclass(frozen=True)
class Row:
    id: int
    chat_id: int
    priority: int
    status: str
    sent_message_id: int | None


@asynccontextmanager
async def database(kind: str, postgres_url: str, folder: Path) -> AsyncIterator[str]:
    if kind == "postgres":
        async with postgres_database(postgres_url) as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{folder / 'outbound.sqlite3'}"


async def write_rows(
    desk: Desk,
    sessions: SessionFactory,
    emulator: RunningEmulator,
    customers: int,
    group: int,
    p1_share: float,
) -> None:
    """Customers, their requests and an agent's reply to each, through the desk's use cases."""
    people = emulator.people
    kate = people.user("Kate", username="agent_kate", language_code="ru")
    people.group("CTV backoffice", owner=kate, chat_id=BACKOFFICE_CHAT_ID)
    agent = await desk.register_telegram_user(
        kate.id, name="Kate", username="agent_kate", staff_roles=frozenset({Role.AGENT})
    )
    p1_count = round(customers * p1_share)
    for i in range(customers):
        person = people.user(f"Клиент {i}", username=f"bench_{i}", language_code="ru")
        # Opens the private chat; no bot polls this emulator, the update just waits.
        await people.command(person, "start")
        actor = await desk.register_telegram_user(person.id, name=person.first_name, language="ru")
        # The P1 requests come last: the sender must still put them first.
        kind = Kind.PROBLEM if i >= customers - p1_count else OTHER_KINDS[i % len(OTHER_KINDS)]
        ticket = await desk.create(
            actor, NewTicket(kind, f"Вопрос {i}", f"Описание вопроса номер {i}, подробно.")
        )
        await desk.reply(agent, ticket.number, f"Ответ на заявку {ticket.number}: проверьте.")
    async with sessions() as session, session.begin():
        cards = (
            (
                await session.execute(
                    select(Outbox.id)
                    .where(
                        Outbox.audience == Audience.BACKOFFICE.value,
                        Outbox.kind == "backoffice.card",
                        Outbox.method == "send",
                    )
                    .order_by(Outbox.id)
                    .limit(group)
                )
            )
            .scalars()
            .all()
        )
        await session.execute(
            delete(Outbox).where(
                Outbox.audience == Audience.BACKOFFICE.value, Outbox.id.not_in(cards)
            )
        )


async def read_rows(sessions: SessionFactory) -> list[Row]:
    async with sessions() as session:
        found = await session.execute(
            select(
                Outbox.id, Outbox.chat_id, Outbox.priority, Outbox.status, Outbox.sent_message_id
            ).order_by(Outbox.id)
        )
        return [
            Row(r.id, int(r.chat_id or 0), r.priority, r.status, r.sent_message_id) for r in found
        ]


async def pending(sessions: SessionFactory) -> int:
    async with sessions() as session:
        count: int = (
            await session.execute(
                select(func.count()).where(Outbox.status == OutboxStatus.PENDING.value)
            )
        ).scalar_one()
        return count


def max_per_window(stamps: list[float], window: float) -> int:
    """The most events inside any `window` seconds."""
    best = 0
    inside: deque[float] = deque()
    for stamp in sorted(stamps):
        inside.append(stamp)
        while inside[0] <= stamp - window:
            inside.popleft()
        best = max(best, len(inside))
    return best


async def run(args: argparse.Namespace) -> None:
    customers = max(1, round(args.customers * args.scale))
    group = min(customers, max(0, round(args.group * args.scale)))
    private = customers * 2
    # Bounded: what the limits allow, times 1.5, plus a minute.
    expected = max((private + group) / LIMIT_PER_SECOND, group / GROUP_PER_MINUTE * 60)
    deadline_s = args.timeout or expected * 1.5 + 60
    with tempfile.TemporaryDirectory(prefix="bench-outbound-") as folder:
        async with database(args.database, args.postgres_url, Path(folder)) as url:
            await upgrade(url)
            engine = create_engine(url)
            sessions = create_session_factory(engine)
            emulator = await start_emulator(TOKEN, "ctv_desk_bench_bot")
            settings = Settings.model_validate(
                {
                    "bot_token": emulator.token,
                    "telegram_api_url": emulator.url,
                    "backoffice_chat_id": BACKOFFICE_CHAT_ID,
                    "database_url": url,
                }
            )
            bot = build_bot(settings)
            try:
                calendar = BusinessCalendar(SupportHours.parse("00:00-23:59", "Europe/Moscow"))
                desk = Desk(sessions, DeskConfig(calendar, BACKOFFICE_CHAT_ID))
                progress(f"writing {customers} requests and replies through the desk")
                written_at = time.monotonic()
                await write_rows(desk, sessions, emulator, customers, group, args.p1_share)
                write_seconds = time.monotonic() - written_at
                rows = await read_rows(sessions)
                world = emulator.world
                world.limits.enabled = True
                world.limiter.reset()
                sender = OutboxSender(Delivery(bot, sessions, desk), deliverers())
                started = time.monotonic()
                progress(f"draining {len(rows)} rows (at most {deadline_s:.0f} s)")
                sender.start()
                try:
                    # Bounded: gives up after deadline_s; what is left counts as lost.
                    shown_at = started
                    while time.monotonic() - started < deadline_s:
                        left = await pending(sessions)
                        if not left:
                            break
                        if time.monotonic() - shown_at >= 30:
                            shown_at = time.monotonic()
                            progress(f"{left} rows pending")
                        await asyncio.sleep(0.5)
                finally:
                    await sender.stop()
                elapsed = time.monotonic() - started
                rows = await read_rows(sessions)
                result, table = measure(emulator, rows, started, elapsed)
            finally:
                await bot.session.close()
                await emulator.stop()
                await engine.dispose()
    result = {
        "customers": customers,
        "group_rows": group,
        "scale": args.scale,
        "database": args.database,
        **result,
        "write_seconds": round(write_seconds, 1),
    }
    table.insert(0, ("rows: private / group", f"{private} / {group} ({customers} customers)"))
    table.append(("machine", load_line()))
    print_report("bench.outbound", table, result)


def measure(
    emulator: RunningEmulator, rows: list[Row], started: float, elapsed: float
) -> tuple[dict[str, object], list[tuple[str, object]]]:
    observer = emulator.observer
    by_chat: dict[int, list[Row]] = {}
    for row in rows:
        by_chat.setdefault(row.chat_id, []).append(row)
    shown: dict[int, list[Answer]] = {
        chat: [a for a in observer.answers.get(chat, []) if a.method in SENDS] for chat in by_chat
    }
    lost = duplicated = violations = 0
    for chat, chat_rows in by_chat.items():
        count = len(shown[chat])
        lost += max(0, len(chat_rows) - count)
        duplicated += max(0, count - len(chat_rows))
        # The messages as the chat shows them (by message id), mapped back to their rows.
        row_of = {r.sent_message_id: r.id for r in chat_rows if r.sent_message_id is not None}
        order = [
            row_of[a.message_id]
            for a in sorted(shown[chat], key=lambda a: a.message_id)
            if a.message_id in row_of
        ]
        violations += sum(1 for a, b in itertools.pairwise(order) if b < a)
    private_times = [
        a.at for chat, answers in shown.items() if chat != BACKOFFICE_CHAT_ID for a in answers
    ]
    group_times = shown.get(BACKOFFICE_CHAT_ID, [])
    last_private = max(private_times, default=started)
    msgs_per_s = len(private_times) / max(last_private - started, 1e-9) if private_times else 0.0
    at_of: dict[tuple[int, int | None], float] = {
        (a.chat_id, a.message_id): a.at for answers in shown.values() for a in answers
    }
    p1_times = [
        at_of[(r.chat_id, r.sent_message_id)]
        for r in rows
        if r.priority == int(Priority.P1) and (r.chat_id, r.sent_message_id) in at_of
    ]
    p1_last = max(p1_times, default=None)
    later = [a for a in observer.too_many if a[0] - started > 1.0]
    group_429 = sum(1 for a in observer.too_many if a[2] == BACKOFFICE_CHAT_ID)
    group_peak = max_per_window([a.at for a in group_times], 60.0)
    non_p1_before = (
        len(
            [
                r
                for r in rows
                if r.priority != int(Priority.P1)
                and r.chat_id != BACKOFFICE_CHAT_ID
                and at_of.get((r.chat_id, r.sent_message_id), math.inf) < p1_last
            ]
        )
        if p1_last is not None
        else 0
    )
    result: dict[str, object] = {
        "msgs_per_s": round(msgs_per_s, 2),
        "limit_per_s": LIMIT_PER_SECOND,
        "http_429": len(observer.too_many),
        "http_429_after_1s": len(later),
        "http_429_group": group_429,
        "p1_last_s": None if p1_last is None else round(p1_last - started, 2),
        "non_p1_before_last_p1": non_p1_before,
        "order_violations": violations,
        "lost": lost,
        "duplicated": duplicated,
        "group_max_per_min": group_peak,
        "private_delivered": len(private_times),
        "group_delivered": len(group_times),
        "private_seconds": round(last_private - started, 2),
        "seconds": round(elapsed, 2),
    }
    table: list[tuple[str, object]] = [
        ("private msgs/s (limit 30)", result["msgs_per_s"]),
        ("delivered: private / group", f"{len(private_times)} / {len(group_times)}"),
        (
            "429s: all / after 1st s / group",
            f"{len(observer.too_many)} / {len(later)} / {group_429}",
        ),
        ("last P1 delivered at s", result["p1_last_s"]),
        ("non-P1 private before last P1", non_p1_before),
        ("group peak per 60 s (limit 20)", group_peak),
        ("order violations", violations),
        ("lost / duplicated", f"{lost} / {duplicated}"),
        ("seconds: private / all", f"{result['private_seconds']} / {result['seconds']}"),
    ]
    return result, table


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.outbound",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--customers", type=int, default=750, help="two notifications each")
    parser.add_argument("--group", type=int, default=500, help="cards into the backoffice group")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies both counts")
    parser.add_argument("--p1-share", type=float, default=0.1, help="share of P1 requests")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="an existing database to connect to; the run creates and drops its own beside it",
    )
    parser.add_argument(
        "--timeout", type=float, default=0.0, help="seconds to wait for the drain (0: derived)"
    )
    args = parser.parse_args()
    if args.scale <= 0 or not 0 <= args.p1_share <= 1 or args.customers < 1:
        parser.error("--scale and --customers must be positive, --p1-share within 0..1")
    asyncio.run(run(args))
    assert_no_pytest()


if __name__ == "__main__":
    main()
