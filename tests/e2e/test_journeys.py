"""Customers and agents with the real desk process (`python -m bot run`) over the emulated Bot API.

Each journey is what a person does and sees: no call into the desk's code,
only messages and button presses, and what the bot shows in return. The
emulator fails a test on any call that breaks the Bot API's rules.
"""

from __future__ import annotations

import asyncio
import io
import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import pytest
import pytest_asyncio
from PIL import Image

from locales import Texts
from tests.dialogs.images import jpeg_with_gps
from tgemulator import People, RunningEmulator, StoredMessage, User, make_image

from .conftest import DeskProcess, start_desk, stop_desk

RU = Texts("ru")
WAIT = 20.0
Predicate = Callable[[StoredMessage], bool]


def plain(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


def showing(*parts: str) -> Predicate:
    wanted = [plain(part) for part in parts]
    return lambda m: all(p in (m.text or m.data.get("caption") or "") for p in wanted)


@pytest_asyncio.fixture(params=["polling", "webhook"])
async def live(
    emulator: RunningEmulator, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[DeskProcess]:
    """The real desk; its scheduler runs every second so that auto-close is seen quickly."""
    process = await start_desk(
        emulator, request.param, tmp_path, extra_env={"SCHEDULER_INTERVAL": "1"}
    )
    try:
        yield process
    finally:
        await stop_desk(process)
        request.node.add_report_section("teardown", "desk stderr", process.stderr_tail())


async def intake(
    people: People,
    person: User,
    topic: str,
    *,
    album: int = 0,
    files: list[bytes] | None = None,
) -> StoredMessage:
    """Walk the intake dialog; returns the registration message the customer receives."""
    await people.command(person, "new")
    window = await people.wait_for_message(person, showing(RU("intake.rule")), timeout=WAIT)
    await people.press(person, window, text=RU("intake.buttons.incident"))
    await people.wait_for_message(person, showing("Шаг 2 из 5"), timeout=WAIT)
    await people.send(person, topic)
    await people.wait_for_message(person, showing("Шаг 3 из 5"), timeout=WAIT)
    await people.send(person, f"Подробное описание: {topic}. Началось сегодня утром.")
    window = await people.wait_for_message(person, showing("Шаг 4 из 5"), timeout=WAIT)
    expected = album + len(files or [])
    if album:
        await people.send_album(person, [make_image(color=(i * 40, 90, 0)) for i in range(album)])
    for data in files or []:
        await people.send_document(person, data, "IMG_0001.JPG", mime_type="image/jpeg")
    if expected:
        window = await people.wait_for_message(
            person,
            showing(RU("intake.screenshots_count", count=expected, maximum=10)),
            timeout=WAIT,
        )
        await people.press(person, window, text=RU("intake.buttons.done"))
    else:
        await people.press(person, window, text=RU("intake.buttons.skip"))
    window = await people.wait_for_message(person, showing("Шаг 5 из 5"), timeout=WAIT)
    await people.press(person, window, text=RU("intake.buttons.skip"))
    window = await people.wait_for_message(person, showing(RU("intake.summary")), timeout=WAIT)
    await people.press(person, window, text=RU("intake.buttons.submit"))
    return await people.wait_for_message(person, showing("зарегистрирована"), timeout=WAIT)


def number_in(message: StoredMessage) -> str:
    found = re.search(r"CTV-\d+", message.text or "")
    assert found, message.text
    return found.group(0)


async def card_of(desk: DeskProcess, number: str) -> StoredMessage:
    return await desk.people.wait_for_message(
        desk.backoffice, lambda m: number in (m.text or "") and bool(m.buttons), timeout=WAIT
    )


async def test_intake_with_an_album_reaches_customer_and_backoffice(live: DeskProcess) -> None:
    people = live.people
    anna = people.user("Анна", language_code="ru")
    registered = await intake(people, anna, "Не приходят звонки", album=3)
    number = number_in(registered)
    assert "Первый ответ ожидается до" in (registered.text or "")
    card = await card_of(live, number)
    assert "Не приходят звонки" in (card.text or "") and "Анна" in (card.text or "")
    album = await people.wait_for(
        lambda: [m for m in people.messages(live.backoffice) if "photo" in m.data][:3] or None,
        timeout=WAIT,
    )
    photos = [m for m in people.messages(live.backoffice) if "photo" in m.data]
    assert len(photos) == 3 and album
    assert len({m.data.get("media_group_id") for m in photos}) == 1  # kept together


async def test_an_image_file_reaches_the_backoffice_without_gps(live: DeskProcess) -> None:
    people = live.people
    anna = people.user("Анна", language_code="ru")
    original = jpeg_with_gps()
    with Image.open(io.BytesIO(original)) as image:
        assert image.getexif()  # the customer's file does carry EXIF with GPS
    registered = await intake(people, anna, "Ошибка в отчёте", files=[original])
    await card_of(live, number_in(registered))
    shown = await people.wait_for(
        lambda: next((m for m in people.messages(live.backoffice) if "document" in m.data), None),
        timeout=WAIT,
    )
    data = people.file_bytes(shown.data["document"]["file_id"])
    with Image.open(io.BytesIO(data)) as image:
        assert not image.getexif()
        assert "exif" not in image.info


async def resolve_from_the_card(desk: DeskProcess, number: str, answer: str) -> None:
    people = desk.people
    card = await card_of(desk, number)
    press = await people.press(desk.agent, card, text="✅ Решено")
    await press.answer(timeout=WAIT)
    prompt = await people.wait_for_message(
        desk.backoffice, showing(number, "ответ с решением"), timeout=WAIT
    )
    await people.send(desk.agent, answer, chat=desk.backoffice, reply_to=prompt)


@pytest.mark.parametrize("live", ["polling"], indirect=True)
async def test_not_solved_with_a_reason_reopens(live: DeskProcess) -> None:
    people = live.people
    anna = people.user("Анна", language_code="ru")
    number = number_in(await intake(people, anna, "Не работает виджет"))
    await resolve_from_the_card(live, number, "Обновили виджет, проверьте.")
    resolved = await people.wait_for_message(anna, showing("решена", "Обновили"), timeout=WAIT)
    await (await people.press(anna, resolved, text="❌ Не решено")).answer(timeout=WAIT)
    asked = await people.wait_for_message(anna, showing("почему вопрос не решён"), timeout=WAIT)
    await people.send(anna, "Виджет всё ещё не открывается")
    await people.wait_for_message(anna, showing("снова в работе"), after=asked, timeout=WAIT)
    await people.wait_for_message(
        live.backoffice, showing("Виджет всё ещё не открывается"), timeout=WAIT
    )
    card = await people.wait_for(
        lambda: next(
            (
                m
                for m in people.messages(live.backoffice)
                if number in (m.text or "") and "В работе" in (m.text or "")
            ),
            None,
        ),
        timeout=WAIT,
    )
    assert card.history  # the card was edited in place, not posted again


def shift_to_the_past(database: Path, number: str, column: str) -> None:
    """Move one of the request's due moments a minute into the past.

    The process's clock is the machine's; instead of moving it, the test moves
    the moment the desk waits for (what 5 business days of silence amount to).
    """
    past = (datetime.now(UTC) - timedelta(minutes=1)).replace(tzinfo=None)
    with sqlite3.connect(database) as connection:
        connection.execute(
            f"UPDATE tickets SET {column} = ? WHERE number = ?",
            (past.isoformat(sep=" "), int(number.removeprefix("CTV-"))),
        )


@pytest.mark.parametrize("live", ["polling"], indirect=True)
async def test_silence_after_resolution_reminds_then_closes(
    live: DeskProcess, tmp_path: Path
) -> None:
    people = live.people
    anna = people.user("Анна", language_code="ru")
    number = number_in(await intake(people, anna, "Вопрос по тарифу"))
    await resolve_from_the_card(live, number, "Тариф изменён.")
    resolved = await people.wait_for_message(anna, showing("решена"), timeout=WAIT)
    shift_to_the_past(tmp_path / "desk.sqlite3", number, "auto_close_reminder_at")
    reminder = await people.wait_for_message(
        anna, showing("ждёт вашего подтверждения"), after=resolved, timeout=WAIT
    )
    shift_to_the_past(tmp_path / "desk.sqlite3", number, "auto_close_at")
    closed = await people.wait_for_message(
        anna, showing("закрыта автоматически"), after=reminder, timeout=WAIT
    )
    assert len(closed.buttons) == 5  # the rating
    await people.wait_for_message(live.backoffice, showing("закрыта автоматически"), timeout=WAIT)


@pytest.mark.parametrize("live", ["polling"], indirect=True)
async def test_withdraw_from_my_requests(live: DeskProcess) -> None:
    people = live.people
    anna = people.user("Анна", language_code="ru")
    number = number_in(await intake(people, anna, "Больше не нужно"))
    await people.command(anna, "my")
    listing = await people.wait_for_message(anna, showing("Ваши заявки"), timeout=WAIT)
    entry = next(b["text"] for b in listing.buttons if number in b["text"])
    await (await people.press(anna, listing, text=entry)).answer(timeout=WAIT)
    view = await people.wait_for_message(anna, showing("История"), timeout=WAIT)
    await (await people.press(anna, view, text="🗑 Отозвать")).answer(timeout=WAIT)
    confirm = await people.wait_for_message(anna, showing("Отозвать заявку"), timeout=WAIT)
    await (await people.press(anna, confirm, text="Да, отозвать")).answer(timeout=WAIT)
    await people.wait_for_message(anna, showing("закрыта по вашей просьбе"), timeout=WAIT)
    await people.wait_for_message(live.backoffice, showing("отозвал"), timeout=WAIT)


@pytest.mark.parametrize("live", ["polling"], indirect=True)
async def test_two_customers_at_once_see_only_their_own(live: DeskProcess) -> None:
    people = live.people
    anna = people.user("Анна", language_code="ru")
    ivan = people.user("Иван", language_code="ru")
    first, second = await asyncio.gather(
        intake(people, anna, "Тема Анны"), intake(people, ivan, "Тема Ивана")
    )
    assert number_in(first) != number_in(second)
    for person, own, other in ((anna, first, second), (ivan, second, first)):
        await people.command(person, "my")
        listing = await people.wait_for_message(person, showing("Ваши заявки"), timeout=WAIT)
        labels = " ".join(b["text"] for b in listing.buttons)
        assert number_in(own) in labels and number_in(other) not in labels
        everything = " ".join(m.text or "" for m in people.bot_messages(person))
        assert number_in(other) not in everything


@pytest.mark.parametrize("live", ["polling"], indirect=True)
async def test_restart_in_the_middle_of_an_intake_keeps_the_draft(
    live: DeskProcess, emulator: RunningEmulator, tmp_path: Path, redis_url: str
) -> None:
    # The module's desk runs without Redis; this journey needs its own with Redis.
    await stop_desk(live)
    people = live.people
    first = await start_desk(emulator, "polling", tmp_path, extra_env={"REDIS_URL": redis_url})
    anna = people.user("Анна", language_code="ru")
    try:
        await people.command(anna, "new")
        window = await people.wait_for_message(anna, showing(RU("intake.rule")), timeout=WAIT)
        await people.press(anna, window, text=RU("intake.buttons.problem"))
        await people.wait_for_message(anna, showing("Шаг 2 из 5"), timeout=WAIT)
        await people.send(anna, "Сервис недоступен")
        step3 = await people.wait_for_message(anna, showing("Шаг 3 из 5"), timeout=WAIT)
    finally:
        assert await stop_desk(first) == 0
    second = await start_desk(emulator, "polling", tmp_path, extra_env={"REDIS_URL": redis_url})
    try:
        await people.send(anna, "После обновления сервис не открывается ни у кого.")
        window = await people.wait_for_message(
            anna, showing("Шаг 4 из 5"), after=step3, timeout=WAIT
        )
        await people.press(anna, window, text=RU("intake.buttons.skip"))
        window = await people.wait_for_message(anna, showing("Шаг 5 из 5"), timeout=WAIT)
        await people.press(anna, window, text=RU("intake.buttons.skip"))
        summary = await people.wait_for_message(anna, showing(RU("intake.summary")), timeout=WAIT)
        assert "Сервис недоступен" in (summary.text or "")  # typed before the restart
        assert "Проблема" in (summary.text or "")
    finally:
        await stop_desk(second)
