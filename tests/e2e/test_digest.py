"""A manager and the real desk process (`python -m bot run`): /digest and the scheduled digest."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from backoffice.chart import HEIGHT, WIDTH
from tgemulator import RunningEmulator, StoredMessage

from .conftest import quick_intake, shows, start_desk, stop_desk

WAIT = 30.0


def has_photo(message: StoredMessage) -> bool:
    return "photo" in message.data


async def test_a_manager_gets_the_digest_with_the_requests_filed(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    people = emulator.people
    manager = people.user("Марина", language_code="ru")
    desk = await start_desk(
        emulator,
        "polling",
        tmp_path,
        extra_env={"MANAGER_IDS": str(manager.id), "SCHEDULER_INTERVAL": "1"},
    )
    try:
        for index, name in enumerate(("Анна", "Олег")):
            customer = people.user(name, language_code="ru")
            await quick_intake(people, customer, f"Не приходят звонки {index}")
        await people.command(manager, "digest")
        picture = await people.wait_for_message(
            manager, lambda m: has_photo(m) and "Сводка за сегодня" in (m.text or ""), timeout=WAIT
        )
        assert "Новых: 2" in (picture.text or "")
        largest = picture.data["photo"][-1]
        with Image.open(io.BytesIO(people.file_bytes(largest["file_id"]))) as image:
            assert image.format == "PNG" and image.size == (WIDTH, HEIGHT)
        text = await people.wait_for_message(manager, shows("Новые заявки: 2"), timeout=WAIT)
        assert "Инцидент 2" in (text.text or "") and "бот 2" in (text.text or "")
        # A stranger asking gets one line, no digest.
        stranger = people.user("Пётр", language_code="ru")
        await people.command(stranger, "digest")
        answer = await people.wait_for_message(stranger, timeout=WAIT)
        assert "для руководителей" in (answer.text or "")
        assert people.violations() == []
    finally:
        await stop_desk(desk)
