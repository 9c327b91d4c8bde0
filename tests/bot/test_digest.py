"""/digest over the emulator, and the scheduled digest delivered through the outbox (issue 11)."""

from __future__ import annotations

import io
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from pydantic import ValidationError

from backoffice.chart import HEIGHT, WIDTH
from bot.settings import Settings, describe
from desk.digest import DigestSchedule
from desk.model import Kind, Role
from desk.service import Desk, DeskConfig, NewTicket
from tests.conftest import BACKOFFICE_CHAT_ID
from tests.harness import Harness
from tgemulator import StoredMessage

MSK = ZoneInfo("Europe/Moscow")


def has_photo(message: StoredMessage) -> bool:
    return "photo" in message.data


def photo_size(h: Harness, message: StoredMessage) -> tuple[int, int]:
    largest = message.data["photo"][-1]
    with Image.open(io.BytesIO(h.people.file_bytes(largest["file_id"]))) as picture:
        assert picture.format == "PNG"
        return picture.size


async def file_two(h: Harness) -> list[int]:
    h.clock.set(datetime(2026, 11, 24, 10, 0, tzinfo=MSK))
    person = h.people.user("Анна", language_code="ru")
    customer = await h.desk.register_telegram_user(person.id, name="Анна")
    numbers = []
    for kind, topic in ((Kind.PROBLEM, "Не работает"), (Kind.INCIDENT, "Звонки")):
        ticket = await h.desk.create(customer, NewTicket(kind, topic, "Подробное описание."))
        numbers.append(ticket.number)
    await h.settle()  # the cards are out before an agent acts
    agent = await h.desk.register_telegram_user(
        h.agent_user.id, name="Kate", staff_roles=frozenset({Role.AGENT})
    )
    h.clock.set(datetime(2026, 11, 24, 10, 20, tzinfo=MSK))
    await h.desk.reply(agent, numbers[0], "Смотрим.")
    h.clock.set(datetime(2026, 11, 24, 10, 30, tzinfo=MSK))
    return numbers


async def test_a_managers_digest_shows_the_requests_filed(harness: Harness) -> None:
    h = harness
    numbers = await file_two(h)
    manager = h.manager_user
    await h.people.command(manager, "digest")
    picture = await h.people.wait_for_message(manager, has_photo, timeout=15)
    caption = picture.text or ""
    assert "Сводка за сегодня, 24.11.2026, до 10:30" in caption
    assert "Новых: 2" in caption and "Открыто сейчас: 2 (за период +2)" in caption
    assert "первый ответ 1 из 1" in caption  # answered in 20 minutes, within the P1 target
    assert photo_size(h, picture) == (WIDTH, HEIGHT)
    full = await h.people.wait_for_message(manager, lambda m: "Новые заявки: 2" in (m.text or ""))
    text = full.text or ""
    assert "Проблема 1" in text and "Инцидент 1" in text and "бот 2" in text
    assert "Первый ответ: 20 мин / 20 мин" in text
    assert "Kate: 0 · 0 · 20 мин · 0" in text
    assert f"/ticket CTV-{numbers[0]}" in text and f"/ticket CTV-{numbers[1]}" in text
    assert h.people.violations() == []


async def test_others_are_refused_and_a_bad_period_gets_an_example(harness: Harness) -> None:
    h = harness
    customer = h.people.user("Олег", language_code="ru")
    await h.people.command(customer, "digest")
    answer = await h.people.wait_for_message(customer)
    assert answer.text == "Сводки — для руководителей и администраторов службы поддержки."
    english = h.people.user("Ann", language_code="en")
    await h.people.command(english, "digest", "week")
    answer = await h.people.wait_for_message(english)
    assert answer.text == "Digests are for the support desk's managers and administrators."
    # An agent in the agents' group is not a manager either.
    await h.people.command(h.agent_user, "digest", chat=h.backoffice)
    answer = await h.people.wait_for_message(h.backoffice)
    assert "для руководителей" in (answer.text or "")
    await h.people.command(h.manager_user, "digest", "с понедельника")
    answer = await h.people.wait_for_message(h.manager_user)
    assert "/digest 2026-11-01..2026-11-15" in (answer.text or "")
    assert not any(has_photo(m) for m in h.people.bot_messages(h.manager_user))


async def test_a_manager_in_the_group_and_a_period(harness: Harness) -> None:
    h = harness
    await file_two(h)
    await h.people.join(h.backoffice, h.manager_user)
    h.clock.set(datetime(2026, 11, 25, 12, 0, tzinfo=MSK))
    await h.people.command(h.manager_user, "digest", "2026-11-24..2026-11-24", chat=h.backoffice)
    picture = await h.people.wait_for_message(h.backoffice, has_photo, timeout=15)
    assert "Сводка за 24.11.2026" in (picture.text or "")
    assert "Новых: 2" in (picture.text or "")


async def test_the_scheduled_digest_arrives_once(harness: Harness) -> None:
    h = harness
    await file_two(h)
    # Telegram lets a bot write only to people who started it.
    await h.people.command(h.manager_user, "start")
    started = await h.people.wait_for_message(h.manager_user)
    # The desk of a deployment with MANAGER_IDS: it writes the digests, the sender delivers.
    scheduled = Desk(
        h.sessions,
        DeskConfig(
            calendar=h.desk.calendar,
            backoffice_chat_id=BACKOFFICE_CHAT_ID,
            digest_recipients=(h.manager_user.id,),
        ),
        clock=h.clock,
    )
    h.clock.set(datetime(2026, 11, 25, 9, 30, tzinfo=MSK))  # 09:00 passed while down
    assert len(await scheduled.send_due_digests()) == 2  # the daily and the weekly
    assert await scheduled.send_due_digests() == []
    await h.settle()
    daily = await h.people.wait_for_message(
        h.manager_user, lambda m: "Сводка за 24.11.2026" in (m.text or ""), after=started
    )
    assert has_photo(daily) and "Новых: 2" in (daily.text or "")
    await h.people.wait_for_message(
        h.manager_user, lambda m: "Новые заявки: 2" in (m.text or ""), after=daily
    )
    await h.settle()
    photos = [m for m in h.people.bot_messages(h.manager_user) if has_photo(m)]
    assert len(photos) == 2  # one daily, one weekly; nothing twice


def test_digest_settings() -> None:
    base = {"bot_token": "123:abc", "backoffice_chat_id": -100123}
    settings = Settings(
        **base,
        manager_ids="7, 3",
        managers_chat_id=-100777,
        digest_daily_at="8:30",
        digest_weekly_at="Friday 17:45",
    )
    assert settings.digest_recipients == (3, 7, -100777)
    assert settings.digest_schedule() == DigestSchedule(time(8, 30), 4, time(17, 45))
    assert Settings(**base).digest_schedule() == DigestSchedule()
    with pytest.raises(ValidationError) as wrong:
        Settings(**base, digest_daily_at="25:00", digest_weekly_at="someday 09:00")
    line = describe(wrong.value)
    assert "DIGEST_DAILY_AT must be a time of day like 09:00" in line
    assert "DIGEST_WEEKLY_AT must be a weekday and a time like mon 09:00" in line
