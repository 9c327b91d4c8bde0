"""Two desk replicas behind one webhook URL share PostgreSQL and Redis: every card once."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections import Counter
from pathlib import Path

import aiohttp

from tgemulator import RunningEmulator, StoredMessage, User

from .conftest import (
    RoundRobinProxy,
    free_port,
    outbox_statuses,
    quick_intake,
    start_desk,
    stop_desk,
)

# Telegram lets a bot post 20 messages a minute into one group, 1 a second into one
# chat: at those numbers 200 cards take ten minutes whatever the desk does. The emulator
# and both replicas run at ten times Telegram's limits instead (still enforced by the
# emulator with 429s, still shared between the replicas through Redis), so the
# exactly-once question is asked of 200 intakes in well under a minute.
CUSTOMERS = 200
SPEEDUP = 10
WAIT = 120.0
PROBLEMS = re.compile(r"\b(ERROR|CRITICAL)\b|Traceback")


def number_in(message: StoredMessage) -> str:
    found = re.search(r"CTV-\d+", message.text or "")
    assert found, message.text
    return found.group(0)


async def handled_updates(http_url: str) -> float:
    """The replica's own count of updates it handled (``ctv_updates_total``, every type)."""
    async with aiohttp.ClientSession() as http, http.get(f"{http_url}/metrics") as response:
        body = await response.text()
    total = 0.0
    for labels, value in re.findall(r"^ctv_updates_total\{(.*)\} (\S+)$", body, re.MULTILINE):
        if re.search(r'outcome="(handled|ignored)"', labels):
            total += float(value)
    return total


async def test_two_webhook_replicas_send_every_card_once(
    emulator: RunningEmulator, tmp_path: Path, empty_postgres_url: str, redis_url: str
) -> None:
    ports = [free_port(), free_port()]
    proxy = RoundRobinProxy([f"http://127.0.0.1:{port}" for port in ports])
    await proxy.start()
    shared = {
        "DATABASE_URL": empty_postgres_url,
        "REDIS_URL": redis_url,
        "WEBHOOK_URL": proxy.url,
        "WEBHOOK_SECRET": secrets.token_urlsafe(24),
    }
    limits = emulator.world.limits
    limits.enabled = True  # flood limits, answered with 429
    limits.per_chat_per_second *= SPEEDUP
    limits.per_group_per_minute *= SPEEDUP
    limits.global_per_second *= SPEEDUP
    shared |= {
        "TELEGRAM_CHAT_PER_SECOND": str(limits.per_chat_per_second),
        "TELEGRAM_GROUP_PER_MINUTE": str(limits.per_group_per_minute),
        "TELEGRAM_MAX_PER_SECOND": str(limits.global_per_second),
    }
    replicas = []
    try:
        # One after the other: the first applies the migrations to the empty database.
        for index, port in enumerate(ports):
            replicas.append(
                await start_desk(
                    emulator,
                    "webhook",
                    tmp_path,
                    extra_env=shared,
                    name=f"replica{index}",
                    http_port=port,
                )
            )
        assert emulator.world.webhook is not None
        assert emulator.world.webhook.url == proxy.url
        people = emulator.people
        customers: list[User] = [
            people.user(f"Клиент {i}", language_code="ru") for i in range(CUSTOMERS)
        ]
        outcomes = await asyncio.gather(
            *(quick_intake(people, c, f"Тема {i}", wait=WAIT) for i, c in enumerate(customers)),
            return_exceptions=True,
        )
        # Who got stuck, and on what: the last thing the bot showed them.
        stuck = {
            c.first_name: getattr(people.last_bot_message(c), "text", None)
            for c, outcome in zip(customers, outcomes, strict=True)
            if isinstance(outcome, BaseException)
        }
        assert not stuck, stuck
        registered = [o for o in outcomes if not isinstance(o, BaseException)]
        numbers = [number_in(m) for m in registered]
        assert len(set(numbers)) == CUSTOMERS
        backoffice = replicas[0].backoffice

        def cards() -> Counter[str]:
            shown: Counter[str] = Counter()
            for message in people.bot_messages(backoffice):
                found = re.search(r"CTV-\d+", message.text or "")
                if found and message.buttons:
                    shown[found.group(0)] += 1
            return shown

        await people.wait_for(lambda: set(cards()) >= set(numbers), timeout=WAIT, what="every card")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while (await outbox_statuses(empty_postgres_url)).get("pending"):
            assert loop.time() < deadline, "the outbox was not drained"
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.0)  # a second copy, if any were coming, has time to show
        handled = [await handled_updates(replica.http_url) for replica in replicas]
    finally:
        codes = [await stop_desk(replica) for replica in replicas]
        await proxy.stop()

    assert codes == [0, 0]
    # Every request has exactly one card; every customer heard "registered" once.
    assert cards() == Counter({number: 1 for number in numbers})
    for customer in customers:
        texts = [m.text or "" for m in people.bot_messages(customer)]
        assert sum("зарегистрирована" in t for t in texts) == 1, texts
    statuses = await outbox_statuses(empty_postgres_url)
    assert set(statuses) == {"sent"}, statuses
    # Both replicas did real work: the proxy alternated, and each handled updates.
    assert min(proxy.forwarded) > 0, proxy.forwarded
    assert min(handled) > 0, handled
    assert sum(handled) >= CUSTOMERS * 7  # /new, kind, topic, description, skip, skip, submit
    for replica in replicas:
        lines = replica.stderr_path.read_text(encoding="utf-8", errors="replace").splitlines()
        assert [line for line in lines if PROBLEMS.search(line)] == []
    print(f"updates handled per replica: {handled}; 429s: {len(emulator.world.limiter.hits)}")
