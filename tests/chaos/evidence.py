"""What the chaos tests read back: the desk's logs, its database and Redis, the group.

Each reader returns plain values the tests compare and print; a failure then says
which of the known ways the desk can lose or repeat something it was.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tgemulator import StoredMessage, World

from .customers import NUMBER, bot_messages_of

# tgkit.updates writes one such line per update and process.
OUTCOME = re.compile(
    r"update (?P<id>\d+) (?P<kind>\w+) user=(?P<user>\S+) request=(?P<request>\S+) "
    r"outcome=(?P<outcome>\w+) in (?P<ms>\d+) ms"
)
PROBLEMS = re.compile(r"\b(ERROR|CRITICAL)\b|Traceback")
# Outcomes after which the update had its answer (an apology counts: the person was told),
# or needed none: "outdated" is an update of a killed process that its person had gone past
# (their later updates were handled), left out on purpose (docs/outcomes.md).
FINISHED = frozenset({"handled", "ignored", "refused", "error", "outdated"})


@dataclass(frozen=True)
class Outcome:
    update_id: int
    outcome: str
    ms: int
    log: str  # which process's log said it


def outcomes(logs: Iterable[Path]) -> dict[int, list[Outcome]]:
    """Every process's word on every update, in the order of the logs given."""
    found: dict[int, list[Outcome]] = defaultdict(list)
    for path in logs:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            match = OUTCOME.search(line)
            if match:
                update_id = int(match["id"])
                found[update_id].append(
                    Outcome(update_id, match["outcome"], int(match["ms"]), path.name)
                )
    return found


def problem_lines(logs: Iterable[Path]) -> list[str]:
    lines: list[str] = []
    for path in logs:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if PROBLEMS.search(line):
                lines.append(f"{path.name}: {line}")
    return lines


def customer_update_ids(world: World, user_ids: set[int]) -> set[int]:
    """The ids of the updates the customers caused that reached the desk (at least once)."""
    ids: set[int] = set()
    for update in [*world.delivered_updates, *world.updates]:
        for kind in ("message", "callback_query", "edited_message"):
            event = update.get(kind)
            if isinstance(event, dict) and event.get("from", {}).get("id") in user_ids:
                ids.add(int(update["update_id"]))
    return ids


def unfinished(ids: set[int], seen: dict[int, list[Outcome]]) -> dict[int, list[str]]:
    """Updates no process finished: what each process said of them (``duplicate`` or
    nothing: the process died with it in hand, or it was never fetched again)."""
    return {
        update_id: [o.outcome for o in seen.get(update_id, [])]
        for update_id in sorted(ids)
        if not any(o.outcome in FINISHED for o in seen.get(update_id, []))
    }


def cards_in_group(world: World, chat_id: int) -> Counter[str]:
    """Request numbers on the group's cards (messages with buttons), each as often as sent."""
    shown: Counter[str] = Counter()
    for message in bot_messages_of(world, chat_id):
        found = NUMBER.search(message.text or "")
        if found and message.buttons:
            shown[found.group(0)] += 1
    return shown


async def _rows(database_url: str, sql: str, **params: Any) -> list[dict[str, Any]]:
    """One query on the desk's database, each row as a dict."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text(sql), params)
            return [dict(row._mapping) for row in rows]
    finally:
        await engine.dispose()


async def tickets_by_customer(database_url: str) -> dict[int, list[str]]:
    """Telegram user id → the request numbers filed for that customer."""
    found: dict[int, list[str]] = defaultdict(list)
    for row in await _rows(
        database_url,
        "SELECT c.telegram_user_id, t.number FROM tickets t "
        "JOIN customers c ON c.id = t.customer_id ORDER BY t.number",
    ):
        found[int(row["telegram_user_id"])].append(f"CTV-{row['number']}")
    return dict(found)


async def outbox_rows(database_url: str) -> list[dict[str, Any]]:
    """Rows not sent yet, with how far in the future they are due (a lease shows here)."""
    return await _rows(
        database_url,
        "SELECT id, kind, status, attempts, "
        "EXTRACT(EPOCH FROM next_attempt_at - now()) AS due_in, "
        "last_error FROM outbox WHERE status <> 'sent' ORDER BY id",
    )


async def redis_marks(url: str) -> dict[str, Any]:
    """What a process that died (or lost Redis) may leave behind in Redis: the chats'
    turns (aiogram's FSM lock, ``…:default:lock``, and aiogram-dialog's stack lock,
    ``…:aiogd:…:lock``) with the longest time to live of each kind, and the updates
    marked as being handled (not yet done)."""
    client = aioredis.Redis.from_url(url)
    locks: Counter[str] = Counter()
    longest: dict[str, float] = {}
    in_progress = 0
    try:
        async for key in client.scan_iter(match="fsm:*:lock", count=1000):
            kind = "dialog" if b":aiogd:" in key else "fsm"
            locks[kind] += 1
            longest[kind] = max(longest.get(kind, 0.0), round(await client.pttl(key) / 1000, 1))
        async for key in client.scan_iter(match="ctv:update:*", count=1000):
            ttl = await client.pttl(key) / 1000
            # A finished update keeps its mark for two days; one in hand, seconds.
            if 0 < ttl <= 600:
                in_progress += 1
    finally:
        await client.aclose()
    return {"locks": dict(locks), "longest_lock_s": longest, "updates_in_hand": in_progress}


async def desk_gauges(http_url: str) -> dict[str, float]:
    """The desk's own count of updates being handled and waiting for their turn."""
    found: dict[str, float] = {}
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{http_url}/metrics", timeout=aiohttp.ClientTimeout(total=5)) as answer,
        ):
            body = await answer.text()
    except (aiohttp.ClientError, TimeoutError):
        return found
    for name in ("ctv_updates_in_flight", "ctv_updates_waiting", "ctv_outbox_pending"):
        match = re.search(rf"^{name} (\S+)$", body, re.MULTILINE)
        if match:
            found[name.removeprefix("ctv_")] = float(match.group(1))
    return found


def log_lines(logs: Iterable[Path], pattern: str, limit: int = 8) -> list[str]:
    """The first lines of the logs matching ``pattern`` (a regular expression)."""
    wanted = re.compile(pattern)
    lines: list[str] = []
    for path in logs:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if wanted.search(line):
                lines.append(f"{path.name}: {line[:300]}")
                if len(lines) >= limit:
                    return lines
    return lines


async def outbox_of(database_url: str, numbers: Iterable[str]) -> list[dict[str, Any]]:
    """The outbox rows of the given requests, for a message sent twice or never."""
    wanted = [int(n.removeprefix("CTV-")) for n in numbers]
    if not wanted:
        return []
    return await _rows(
        database_url,
        "SELECT o.id, t.number, o.kind, o.status, o.attempts, o.sent_message_id, "
        "o.last_error FROM outbox o JOIN tickets t ON t.id = o.ticket_id "
        "WHERE t.number = ANY(:numbers) ORDER BY o.id",
        numbers=wanted,
    )


class SendTimes:
    """When each of the bot's messages reached the emulator, on the test's clock.

    The emulator keeps a message's date in whole seconds; whether a repeated message
    was first sent just before a kill -9 needs better. A test-side hook on the world:
    the desk is not involved.
    """

    def __init__(self, world: World) -> None:
        self.times: dict[tuple[int, int], float] = {}
        clock = asyncio.get_running_loop().time
        add_message = world.add_message

        def recorded(*args: Any, **kwargs: Any) -> StoredMessage:
            stored = add_message(*args, **kwargs)
            if stored.from_bot:
                self.times[(stored.chat_id, stored.message_id)] = clock()
            return stored

        setattr(world, "add_message", recorded)  # noqa: B010 (an instance attribute on purpose)

    def of(self, message: StoredMessage) -> float | None:
        return self.times.get((message.chat_id, message.message_id))
