"""The playground's server side: the people's side as JSON, live snapshots, clock, forum.

The bot here is the test itself, calling the emulator's Bot API over HTTP.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import pytest_asyncio

from tgemulator import EmulatorServer, World, make_image
from tgemulator.playground import Cast, ClockControl, Persona, Playground

CUSTOMER, AGENT, MANAGER, GROUP = 700000101, 700000201, 700000301, -1001000000001


@pytest_asyncio.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    world = World()
    cast = Cast(
        (
            Persona(CUSTOMER, "Анна", "customer", "ru", "ООО «Ромашка»", start="o_link"),
            Persona(AGENT, "Катя", "agent", "ru"),
            Persona(MANAGER, "Марина", "manager", "ru"),
        ),
        GROUP,
    )
    for persona in cast.personas:
        world.new_user(persona.name, user_id=persona.user_id, language_code="ru")
    world.new_group("Backoffice", owner=world.users[AGENT], chat_id=GROUP)
    switched: list[bool] = []

    async def switch(forum: bool) -> None:
        switched.append(forum)
        world.chats[GROUP].is_forum = forum

    playground = Playground(
        world, cast, clock=ClockControl(tmp_path / "clock"), forum_switch=switch
    )
    server = EmulatorServer(world, extensions=[playground.install])
    await server.start()
    async with aiohttp.ClientSession() as http:
        yield Site(server, playground, http, switched)
    await server.stop()


class Site:
    def __init__(
        self,
        server: EmulatorServer,
        playground: Playground,
        http: aiohttp.ClientSession,
        switched: list[bool],
    ) -> None:
        self.server = server
        self.playground = playground
        self.http = http
        self.switched = switched
        self.offset = 0

    @property
    def world(self) -> World:
        return self.server.world

    def opened(self, user_id: int) -> None:
        """The person has opened the chat with the bot, so the bot may write first."""
        self.world.private_chat(self.world.users[user_id]).started = True

    async def post(self, path: str, body: dict[str, Any], status: int = 200) -> Any:
        async with self.http.post(f"{self.server.url}{path}", json=body) as response:
            answer = await response.json(content_type=None)
            assert response.status == status, answer
            return answer

    async def bot(self, method: str, **params: Any) -> Any:
        url = f"{self.server.url}/bot{self.world.token}/{method}"
        async with self.http.post(url, json=params) as response:
            body = await response.json()
            return body["result"] if body["ok"] else body

    async def updates(self, wait: int = 0) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self.bot("getUpdates", offset=self.offset, timeout=wait)
        if found:
            self.offset = found[-1]["update_id"] + 1
        return [u for u in found if "message" in u or "callback_query" in u]

    async def state(self) -> dict[str, Any]:
        async with self.http.get(f"{self.server.url}/play/state") as response:
            body: dict[str, Any] = await response.json()
            return body


async def test_the_page_and_its_files_are_served(site: Site) -> None:
    async with site.http.get(site.server.url + "/") as response:
        assert response.status == 200
        assert "playground" in await response.text()
    for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
        async with site.http.get(f"{site.server.url}/static/{name}") as response:
            assert response.status == 200 and response.content_type == kind
    for name in ("missing.js", "..%2F__init__.py", "__init__.py"):
        async with site.http.get(f"{site.server.url}/static/{name}") as response:
            assert response.status == 404


async def test_a_persons_text_reaches_the_bot_as_from_telegram(site: Site) -> None:
    state = await site.state()
    assert state["started"] == []
    sent = await site.post(
        "/play/send", {"user_id": CUSTOMER, "chat_id": CUSTOMER, "text": "/start o_link"}
    )
    (update,) = await site.updates()
    message = update["message"]
    assert message["text"] == "/start o_link"
    assert message["from"]["id"] == CUSTOMER and message["chat"]["type"] == "private"
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    state = await site.state()
    assert state["started"] == [CUSTOMER]
    assert [m["message_id"] for m in state["chats"][str(CUSTOMER)]] == [sent["message_id"]]
    # The agent writes in the group, replying to a message there.
    first = await site.post("/play/send", {"user_id": AGENT, "chat_id": GROUP, "text": "hi"})
    await site.post(
        "/play/send",
        {"user_id": AGENT, "chat_id": GROUP, "text": "again", "reply_to": first["message_id"]},
    )
    updates = await site.updates()
    assert updates[-1]["message"]["reply_to_message"]["text"] == "hi"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"user_id": 1, "chat_id": CUSTOMER, "text": "x"}, 400),  # not in the cast
        ({"user_id": AGENT, "chat_id": CUSTOMER, "text": "x"}, 400),  # someone else's chat
        ({"user_id": CUSTOMER, "chat_id": CUSTOMER, "text": "  "}, 400),  # nothing
        ({"user_id": CUSTOMER, "chat_id": CUSTOMER, "text": "x", "reply_to": 999}, 400),
    ],
)
async def test_what_a_person_cannot_send_is_refused(
    site: Site, body: dict[str, Any], status: int
) -> None:
    async with site.http.post(f"{site.server.url}/play/send", json=body) as response:
        assert response.status == status
    assert await site.updates() == []


async def upload(site: Site, kind: str, data: bytes, name: str, mime: str) -> Any:
    form = aiohttp.FormData()
    form.add_field("user_id", str(CUSTOMER))
    form.add_field("chat_id", str(CUSTOMER))
    form.add_field("kind", kind)
    form.add_field("caption", "screen")
    form.add_field("file", data, filename=name, content_type=mime)
    async with site.http.post(f"{site.server.url}/play/upload", data=form) as response:
        return response.status, await response.json(content_type=None)


async def test_an_image_goes_as_a_photo_or_as_a_document(site: Site) -> None:
    image = make_image(640, 480)
    status, photo = await upload(site, "photo", image, "screen.png", "image/png")
    assert status == 200
    sizes = photo["data"]["photo"]
    assert (sizes[-1]["width"], sizes[-1]["height"]) == (640, 480)
    assert photo["data"]["caption"] == "screen"
    async with site.http.get(f"{site.server.url}/play/files/{sizes[-1]['file_id']}") as response:
        assert response.content_type == "image/png" and await response.read() == image
    status, document = await upload(site, "document", image, "screen.png", "image/png")
    assert status == 200
    assert document["data"]["document"]["file_name"] == "screen.png"
    updates = await site.updates()
    assert ["photo" in u["message"] for u in updates] == [True, False]
    # Not an image: refused as a photo, with what to do instead.
    status, refused = await upload(site, "photo", b"%PDF-1.4", "a.pdf", "application/pdf")
    assert status == 400 and "document" in refused["error"]
    async with site.http.get(f"{site.server.url}/play/files/nope") as response:
        assert response.status == 404


async def test_a_pressed_button_shows_the_bots_answer(site: Site) -> None:
    keyboard = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}
    site.opened(CUSTOMER)
    sent = await site.bot("sendMessage", chat_id=CUSTOMER, text="Sure?", reply_markup=keyboard)

    async def bot_answers() -> None:
        found = await site.updates(wait=5)  # long polling, as a bot does
        query = found[0]["callback_query"]
        assert query["data"] == "yes" and query["from"]["id"] == CUSTOMER
        await site.bot(
            "answerCallbackQuery", callback_query_id=query["id"], text="Done", show_alert=True
        )

    answering = asyncio.create_task(bot_answers())
    pressed = await site.post(
        "/play/press",
        {"user_id": CUSTOMER, "chat_id": CUSTOMER, "message_id": sent["message_id"], "data": "yes"},
    )
    await answering
    assert pressed["answered"] is True
    assert pressed["answer"]["text"] == "Done" and pressed["answer"]["show_alert"] is True
    await site.post(
        "/play/press",
        {"user_id": CUSTOMER, "chat_id": CUSTOMER, "message_id": sent["message_id"], "data": "no"},
        status=400,
    )


async def test_a_press_the_bot_never_answers_shows_nothing(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tgemulator.playground.PRESS_ANSWER_SECONDS", 0.2)
    keyboard = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}
    site.opened(CUSTOMER)
    sent = await site.bot("sendMessage", chat_id=CUSTOMER, text="Sure?", reply_markup=keyboard)
    pressed = await site.post(
        "/play/press",
        {"user_id": CUSTOMER, "chat_id": CUSTOMER, "message_id": sent["message_id"], "data": "yes"},
    )
    assert pressed == {"answered": False}


async def test_the_snapshot_shows_edits_force_replies_and_violations(site: Site) -> None:
    prompt = await site.bot(
        "sendMessage",
        chat_id=GROUP,
        text="<b>Answer</b> me",
        parse_mode="HTML",
        reply_markup={"force_reply": True, "input_field_placeholder": "Text…"},
    )
    await site.bot(
        "editMessageText", chat_id=GROUP, message_id=prompt["message_id"], text="Answer me now"
    )
    await site.bot("sendMessage", chat_id=GROUP, text="<b>broken", parse_mode="HTML")
    state = await site.state()
    (shown,) = [m for m in state["chats"][str(GROUP)] if m["from_bot"]]
    assert shown["edited"] is True and shown["data"]["text"] == "Answer me now"
    assert shown["force_reply"]["input_field_placeholder"] == "Text…"
    assert len(state["violations"]) == 1 and "sendMessage" in state["violations"][0]
    site.world.take_violations()


async def test_events_stream_a_snapshot_on_every_change(site: Site) -> None:
    async with site.http.get(f"{site.server.url}/play/events") as response:
        assert response.content_type == "text/event-stream"

        async def next_snapshot() -> dict[str, Any]:
            while True:
                line = await asyncio.wait_for(response.content.readline(), 5)
                if line.startswith(b"data: "):
                    snapshot: dict[str, Any] = json.loads(line[6:])
                    return snapshot

        first = await next_snapshot()
        assert first["chats"][str(MANAGER)] == []
        assert first["cast"]["group_id"] == GROUP and first["cast"]["forum"] is False
        site.opened(MANAGER)
        await site.bot("sendMessage", chat_id=MANAGER, text="Digest")
        second = await next_snapshot()
        assert [m["data"]["text"] for m in second["chats"][str(MANAGER)]] == ["Digest"]


async def test_the_clock_moves_forward_through_its_file(site: Site, tmp_path: Path) -> None:
    clock = site.playground.clock
    assert clock is not None
    moved = await site.post("/play/clock", {"move": "hour"})
    assert moved["moved_seconds"] == 3600
    assert (tmp_path / "clock").read_text() == "3600"
    await site.post("/play/clock", {"move": "day"})
    assert (tmp_path / "clock").read_text() == str(3600 + 86400)
    await site.post("/play/clock", {"move": "monday"})
    local = clock.now().astimezone(ZoneInfo("Europe/Moscow"))
    assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)
    assert timedelta(0) < clock.now() - datetime.now(UTC) - timedelta(days=1) <= timedelta(days=8)
    await site.post("/play/clock", {"move": "back"}, status=400)
    # A restarted playground goes on from the offset written before.
    assert ClockControl(tmp_path / "clock").offset == clock.offset
    assert (await site.state())["clock"]["offset_seconds"] == clock.offset.total_seconds()


async def test_the_forum_switch_is_handed_to_its_owner(site: Site) -> None:
    await site.post("/play/forum", {"forum": True})
    assert site.switched == [True]
    assert (await site.state())["cast"]["forum"] is True


async def test_several_images_go_as_one_album(site: Site) -> None:
    form = aiohttp.FormData()
    for key, value in (("user_id", CUSTOMER), ("chat_id", CUSTOMER), ("kind", "photo")):
        form.add_field(key, str(value))
    for index in range(3):
        form.add_field("file", make_image(color=(index * 60, 0, 0)), filename=f"{index}.png")
    async with site.http.post(f"{site.server.url}/play/upload", data=form) as response:
        assert response.status == 200
        assert (await response.json())["album"] == 3
    updates = await site.updates()
    groups = {u["message"]["media_group_id"] for u in updates}
    assert len(updates) == 3 and len(groups) == 1


async def test_a_forum_switch_that_fails_says_why(site: Site) -> None:
    async def broken(forum: bool) -> None:
        raise RuntimeError("the bot did not start again")

    site.playground.forum_switch = broken
    answer = await site.post("/play/forum", {"forum": True}, status=503)
    assert answer == {"error": "the bot did not start again"}
