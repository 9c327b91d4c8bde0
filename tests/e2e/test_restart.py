"""SIGTERM in the middle of a burst, then a restart: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import re
import signal
from collections import Counter
from pathlib import Path

import pytest

from locales import Texts
from tgemulator import RunningEmulator, StoredMessage, User

from .conftest import (
    DeskProcess,
    intake_until_summary,
    outbox_statuses,
    shows,
    start_desk,
    stop_desk,
)

RU = Texts("ru")
CUSTOMERS = 300  # each sends /start at once
SUBMITTING = 10  # customers who press Submit in the same burst (outbox rows: notice + card)
STOP_WITHIN = 10.0  # R10
WAIT = 60.0
PROBLEMS = re.compile(r"\b(ERROR|CRITICAL)\b|Traceback")


def number_in(message: StoredMessage) -> str:
    found = re.search(r"CTV-\d+", message.text or "")
    assert found, message.text
    return found.group(0)


async def sigterm(desk: DeskProcess) -> tuple[int | None, float]:
    """SIGTERM; the exit code (None if still running after STOP_WITHIN) and seconds taken."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    desk.process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(desk.process.wait(), STOP_WITHIN)
    except TimeoutError:
        return None, loop.time() - started
    return desk.process.returncode, loop.time() - started


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_sigterm_mid_burst_then_restart_loses_and_doubles_nothing(
    emulator: RunningEmulator, tmp_path: Path, empty_postgres_url: str, redis_url: str, mode: str
) -> None:
    env = {"DATABASE_URL": empty_postgres_url, "REDIS_URL": redis_url}
    emulator.world.limits.enabled = True  # Telegram's flood limits, answered with 429
    first = await start_desk(emulator, mode, tmp_path, extra_env=env, name="first")
    people = first.people
    second: DeskProcess | None = None
    try:
        writers = [people.user(f"Автор {i}", language_code="ru") for i in range(SUBMITTING)]
        summaries = await asyncio.gather(
            *(intake_until_summary(people, w, f"Тема {i}") for i, w in enumerate(writers))
        )
        customers: list[User] = [
            people.user(f"Клиент {i}", language_code="ru") for i in range(CUSTOMERS)
        ]

        def answered() -> int:
            return sum(1 for c in customers if people.bot_messages(c))

        # The burst: every customer's /start and every writer's Submit at once.
        await asyncio.gather(
            *(people.command(c, "start") for c in customers),
            *(
                people.press(w, s, text=RU("intake.buttons.submit"))
                for w, s in zip(writers, summaries, strict=True)
            ),
        )
        await people.wait_for(lambda: answered() >= 30, timeout=WAIT, what="the first answers")
        at_signal = answered()
        assert at_signal < CUSTOMERS  # in the middle of it
        code, took = await sigterm(first)
        assert code == 0, f"exit code {code} after {took:.1f}s; stderr:\n{first.stderr_tail()}"
        at_exit = answered()

        second = await start_desk(emulator, mode, tmp_path, extra_env=env, name="second")
        try:
            await people.wait_for(lambda: answered() == CUSTOMERS, timeout=WAIT)
        except TimeoutError:
            raise AssertionError(
                f"{CUSTOMERS - answered()} of {CUSTOMERS} customers never answered "
                f"(answered at SIGTERM {at_signal}, at exit {at_exit} after {took:.1f}s)"
            ) from None
        registered = [
            await people.wait_for_message(w, shows("зарегистрирована"), timeout=WAIT)
            for w in writers
        ]
        numbers = [number_in(m) for m in registered]
        await people.wait_for(
            lambda: all(
                any(
                    n in (m.text or "") and m.buttons for m in people.bot_messages(first.backoffice)
                )
                for n in numbers
            ),
            timeout=WAIT,
            what="every card",
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while (await outbox_statuses(empty_postgres_url)).get("pending"):
            assert loop.time() < deadline, "the outbox was not drained"
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.5)  # a second copy, if any were coming, has time to show
    finally:
        if second is not None:
            assert await stop_desk(second) == 0
        await stop_desk(first)

    print(f"answered at SIGTERM {at_signal}, at exit {at_exit} (took {took:.1f}s) of {CUSTOMERS}")
    # Every customer got exactly the greeting, once (not an apology instead).
    assert {len(people.bot_messages(c)) for c in customers} == {1}
    greetings = {
        (people.bot_messages(c)[0].text or "").replace(c.first_name, "<name>") for c in customers
    }
    assert len(greetings) == 1, greetings
    assert all(len(people.bot_messages(c)[0].buttons) >= 2 for c in customers)
    # Every writer: exactly one "registered"; every request exactly one card.
    for writer in writers:
        texts = [m.text or "" for m in people.bot_messages(writer)]
        assert sum("зарегистрирована" in t for t in texts) == 1, texts
    cards: Counter[str] = Counter()
    for message in people.bot_messages(first.backoffice):
        found = re.search(r"CTV-\d+", message.text or "")
        if found and message.buttons:
            cards[found.group(0)] += 1
    assert cards == Counter({number: 1 for number in numbers})
    statuses = await outbox_statuses(empty_postgres_url)
    assert set(statuses) == {"sent"}, statuses
    for desk in (first, second):
        assert desk is not None
        lines = desk.stderr_path.read_text(encoding="utf-8", errors="replace").splitlines()
        assert [line for line in lines if PROBLEMS.search(line)] == []
