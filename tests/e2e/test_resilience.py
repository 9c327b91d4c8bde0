"""The desk when Telegram misbehaves: failing calls, several replicas, a stop mid-burst.

Each test runs the real desk process (or two) against the emulator and checks what
people see: everything expected arrives, and nothing arrives twice.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path

from tgemulator import FaultPlan, People, RunningEmulator, StoredMessage, User

from .conftest import (
    DeskProcess,
    outbox_statuses,
    quick_intake,
    shows,
    start_desk,
    stop_desk,
)

PROBLEMS = re.compile(r"\b(ERROR|CRITICAL)\b|Traceback")


def number_in(message: StoredMessage) -> str:
    found = re.search(r"CTV-\d+", message.text or "")
    assert found, message.text
    return found.group(0)


def normalized(text: str | None, *names: str) -> str:
    """A message as a fault-free run can be compared with: no numbers, names or times."""
    shown = text or ""
    for name in names:
        shown = shown.replace(name, "<name>")
    return re.sub(r"\d+", "#", shown)


def problems_in(desk: DeskProcess) -> list[str]:
    lines = desk.stderr_path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [line for line in lines if PROBLEMS.search(line)]


# --- 1. the whole journey while 30 % of the Bot API calls fail ------------------------

WAIT_FAULTY = 60.0


async def journey(desk: DeskProcess, person: User, topic: str, wait: float) -> str:
    """Intake; the agent takes, replies, resolves; the customer confirms. Returns the number."""
    people = desk.people
    number = number_in(await quick_intake(people, person, topic, wait=wait))
    card = await people.wait_for_message(
        desk.backoffice, lambda m: number in (m.text or "") and bool(m.buttons), timeout=wait
    )
    await (await people.press(desk.agent, card, text="🙋 Взять")).answer(timeout=wait)
    await people.wait_for_message(person, shows(number, "в работу"), timeout=wait)
    await people.send(
        desk.agent, f"Перезапустили сервис по «{topic}».", chat=desk.backoffice, reply_to=card
    )
    await people.wait_for_message(person, shows("Ответ по заявке", number), timeout=wait)
    # A public reply was sent after the customer's last message: Resolve needs no answer.
    await people.wait_for(
        lambda: any(b["text"] == "✅ Решено" for b in _current(people, card).buttons),
        timeout=wait,
        what="the card's Resolve button",
    )
    await (await people.press(desk.agent, card, text="✅ Решено")).answer(timeout=wait)
    resolved = await people.wait_for_message(person, shows(number, "решена"), timeout=wait)
    await (await people.press(person, resolved, text="✅ Решено")).answer(timeout=wait)
    await people.wait_for_message(person, shows(number, "Спасибо за подтверждение"), timeout=wait)
    await people.wait_for_message(
        desk.backoffice, shows("Клиент подтвердил решение"), after=card, timeout=wait
    )
    return number


def _current(people: People, message: StoredMessage) -> StoredMessage:
    found = people.world.find_message(message.chat_id, message.message_id)
    assert found is not None
    return found


async def settled(desk: DeskProcess, database_url: str, wait: float) -> dict[str, int]:
    """Wait until the outbox has nothing pending; returns its counts by status."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        counts = await outbox_statuses(database_url)
        if not counts.get("pending"):
            return counts
        if loop.time() > deadline:
            raise AssertionError(f"outbox not drained within {wait}s: {counts}")
        await asyncio.sleep(0.5)


def group_since(desk: DeskProcess, floor: int, *names: str) -> Counter[str]:
    return Counter(
        normalized(m.text, *names)
        for m in desk.people.bot_messages(desk.backoffice)
        if m.message_id > floor
    )


def chat_of(desk: DeskProcess, person: User, *names: str) -> Counter[str]:
    return Counter(normalized(m.text, *names) for m in desk.people.bot_messages(person))


async def test_the_whole_journey_with_30_percent_of_calls_failing(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'desk.sqlite3'}"
    desk = await start_desk(emulator, "polling", tmp_path)
    people = desk.people
    faults = emulator.world.faults
    try:
        # The same journey without faults first: what people should see, once each.
        anna = people.user("Анна", language_code="ru")
        floor = max((m.message_id for m in people.messages(desk.backoffice)), default=0)
        await journey(desk, anna, "Тема Анны", wait=20.0)
        await settled(desk, database_url, 20.0)
        expected_customer = chat_of(desk, anna, "Тема Анны", "Анна")
        expected_group = group_since(desk, floor, "Тема Анны", "Анна")

        # Then with 30 % of the calls failing: half 429 with retry_after, half a 502
        # page or a connection dropped before Telegram acted on the call.
        floor = max(m.message_id for m in people.messages(desk.backoffice))
        faults.configure(FaultPlan(seed=10, flood_rate=0.15, error_rate=0.075, drop_rate=0.075))
        # error_rate is split between 500 and 502; either is a server error to the bot.
        boris = people.user("Борис", language_code="ru")
        await journey(desk, boris, "Тема Бориса", wait=WAIT_FAULTY)
        counts = await settled(desk, database_url, WAIT_FAULTY)
        injected = Counter(kind for _, kind in faults.log)
        faults.configure(None)
    finally:
        assert await stop_desk(desk) == 0

    # The faults did strike, in the proportions asked, on the calls the journey made.
    calls = sum(injected.values())
    assert injected["flood"] >= 5 and injected["drop"] >= 2
    assert injected["error500"] + injected["error502"] >= 2
    failed = calls - injected["ok"]
    assert 0.15 * calls <= failed <= 0.45 * calls, injected
    print(f"faults injected: {dict(injected)}")

    # Nothing lost, nothing shown twice: exactly what the fault-free journey showed.
    assert chat_of(desk, boris, "Тема Бориса", "Борис") == expected_customer
    assert group_since(desk, floor, "Тема Бориса", "Борис") == expected_group
    assert counts.get("failed", 0) == 0, counts
    assert problems_in(desk) == []
