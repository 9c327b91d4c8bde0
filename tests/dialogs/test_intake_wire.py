"""The intake dialog over the wire: the real Bot API calls, validated by the emulator."""

from __future__ import annotations

import io
import re
from html import unescape

from PIL import Image
from sqlalchemy import select

from locales import Texts
from storage.models import Attachment, Ticket
from tests.dialogs.images import jpeg_with_gps
from tests.harness import Harness
from tgemulator import StoredMessage, make_image

RU = Texts("ru")


def plain(html: str) -> str:
    """What a customer reads: the text without its HTML tags."""
    return unescape(re.sub(r"<[^>]+>", "", html))


def showing(*parts: str):  # type: ignore[no-untyped-def]
    wanted = [plain(part) for part in parts]
    return lambda m: all(p in (m.text or m.data.get("caption") or "") for p in wanted)


async def test_a_customer_files_a_request_with_an_album_and_an_image_file(
    harness: Harness,
) -> None:
    people = harness.people
    person = people.user("Анна", language_code="ru")
    await people.command(person, "new")
    window = await people.wait_for_message(person, showing(RU("intake.rule")))

    await people.press(person, window, text=RU("intake.buttons.problem"))
    await people.wait_for_message(person, showing("Шаг 2 из 5"))
    await people.send(person, "Не приходят SMS")
    await people.wait_for_message(person, showing("Шаг 3 из 5"))
    await people.send(person, "После обновления клиентам перестали приходить SMS.")
    await people.wait_for_message(person, showing("Шаг 4 из 5"))
    await people.send_album(person, [make_image(), make_image(color=(0, 90, 0))])
    await people.send_document(person, jpeg_with_gps(), "IMG_0001.JPG", mime_type="image/jpeg")
    # The album and the file are handled concurrently, as in production: any number.
    copy: StoredMessage = await people.wait_for_message(person, lambda m: "document" in m.data)
    caption = copy.data.get("caption") or ""
    same_but_number = RU("intake.clean_copy", number=1, maximum=10).split(" — ", 1)[1]
    assert caption.split(" — ", 1)[1] == same_but_number
    window = await people.wait_for_message(
        person, showing(RU("intake.screenshots_count", count=3, maximum=10))
    )
    await people.press(person, window, text=RU("intake.buttons.done"))
    window = await people.wait_for_message(person, showing("Шаг 5 из 5"))
    await people.press(person, window, text=RU("intake.buttons.skip"))
    window = await people.wait_for_message(person, showing(RU("intake.summary")))
    await people.press(person, window, text=RU("intake.buttons.submit"))
    await people.wait_for_message(person, showing(RU("intake.sent")))
    await harness.settle()
    await people.wait_for_message(person, showing("CTV-1001"))

    cleaned = people.file_bytes(copy.data["document"]["file_id"])
    with Image.open(io.BytesIO(cleaned)) as image:
        assert image.format == "JPEG" and not image.getexif()
    async with harness.sessions() as session:
        [ticket] = (await session.execute(select(Ticket))).scalars().all()
        stored = (await session.execute(select(Attachment))).scalars().all()
    assert ticket.topic == "Не приходят SMS"
    assert [a.kind for a in stored] == ["photo", "photo", "document"]
    assert stored[2].file_id == copy.data["document"]["file_id"]
    assert people.violations() == []
