"""A request from the cabinet's API reaches the agents' card, and its deep link reaches Telegram.

End to end with the Bot API emulator: the real desk, outbox sender and
Dispatcher (``tests/harness.py``), the API served by a real aiohttp server.
"""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

import api
from desk.model import Role
from tests.api.conftest import HEADERS, KEY
from tests.api.test_api import request_body
from tests.dialogs.images import jpeg_with_gps
from tests.harness import LINK_SECRET, Harness

AGENT = frozenset({Role.AGENT})


@pytest_asyncio.fixture
async def served(harness: Harness) -> AsyncIterator[TestClient[Any, Any]]:
    async def username() -> str | None:
        return (await harness.bot.me()).username

    app = web.Application()
    config = api.ApiConfig(keys=frozenset({KEY}), link_secret=LINK_SECRET)
    api.setup(app, harness.desk, config, username, version="test")
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client
    await client.close()


async def test_a_cabinet_request_reaches_the_card_with_its_details(
    harness: Harness, served: TestClient[Any, Any]
) -> None:
    shot = base64.b64encode(jpeg_with_gps()).decode()
    answer = await served.post(
        "/api/v1/requests",
        json=request_body(screenshots=[{"filename": "calls.jpg", "content_base64": shot}]),
        headers=HEADERS,
    )
    assert answer.status == 201, await answer.text()
    created = await answer.json()
    await harness.settle()

    people = harness.people
    card = await people.wait_for_message(
        harness.backoffice, lambda m: "CTV-1001" in (m.text or "") and bool(m.buttons)
    )
    text = card.text or ""
    assert "Из личного кабинета" in text
    assert "Технические данные" in text
    for line in (
        "browser: Chrome 131",
        "os: Windows 11",
        "page_url: https://cabinet.example/calls",
    ):
        assert line in text
    assert "Анна Петрова" in text and "ООО Ромашка" in text
    assert "anna@example.com" in text and "+7 900 000-00-00" in text
    # The screenshot went up as bytes, cleaned: Telegram got no EXIF and no GPS.
    photo = await people.wait_for_message(harness.backoffice, lambda m: "photo" in m.data)
    sent = people.file_bytes(photo.data["photo"][-1]["file_id"])
    assert not Image.open(io.BytesIO(sent)).getexif()

    # The deep link ties the Telegram account to the cabinet customer and the request.
    me = await harness.bot.me()
    link = created["telegram_link"]
    assert link.startswith(f"https://t.me/{me.username}?start=")
    person = people.user("Анна", language_code="ru")
    await people.command(person, "start", link.split("start=", 1)[1])
    await people.wait_for_message(person, lambda m: "привязан" in (m.text or ""))
    await people.wait_for_message(person, lambda m: "CTV-1001" in (m.text or ""))

    agent = await harness.desk.register_telegram_user(
        harness.agent_user.id, name="Kate", staff_roles=AGENT
    )
    await harness.desk.reply(agent, 1001, "Перезапустили шлюз, проверьте, пожалуйста.")
    await harness.settle()
    await people.wait_for_message(person, lambda m: "Перезапустили шлюз" in (m.text or ""))

    # The cabinet still finds its customer and request after the merge.
    listed = await served.get("/api/v1/requests", params={"customer": "cust-42"}, headers=HEADERS)
    assert [i["number"] for i in (await listed.json())["items"]] == ["CTV-1001"]
    log = base64.b64encode(b"12:00 gateway timeout\n").decode()
    followed = await served.post(
        "/api/v1/requests/CTV-1001/messages",
        json={
            "text": "Спасибо, работает. Лог и снимок прилагаю.",
            "files": [
                {"filename": "gateway.log", "content_base64": log},
                {"filename": "after.jpg", "content_base64": shot},
            ],
        },
        headers=HEADERS,
    )
    assert followed.status == 201
    await harness.settle()
    await people.wait_for_message(
        harness.backoffice, lambda m: "Спасибо, работает" in (m.text or "")
    )
    # Relayed like a follow-up from the bot: the log as sent, the image cleaned.
    document = await people.wait_for_message(
        harness.backoffice, lambda m: "document" in m.data, after=photo
    )
    assert people.file_bytes(document.data["document"]["file_id"]) == b"12:00 gateway timeout\n"
    again = await people.wait_for_message(
        harness.backoffice, lambda m: "photo" in m.data, after=photo
    )
    assert not Image.open(
        io.BytesIO(people.file_bytes(again.data["photo"][-1]["file_id"]))
    ).getexif()
    # The same link again: harmless, the account is already this customer.
    await people.command(person, "start", link.split("start=", 1)[1])
    another = people.user("Иван", language_code="ru")
    await people.command(another, "start", link.split("start=", 1)[1])
    await people.wait_for_message(another, lambda m: "недействительна" in (m.text or ""))
    assert not people.violations()
    # Shown once, the uploads are known to Telegram: a second showing reuses the file ids.
    ticket = await harness.desk.ticket(agent, 1001)
    stored = await harness.desk.attachments(ticket.id)
    assert stored and all(a.file_id and a.upload_id for a in stored)
