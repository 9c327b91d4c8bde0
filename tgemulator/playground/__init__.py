"""The playground: a web page on the emulator that shows chats as Telegram would and acts
for the people in them.

Everything the page does goes through the people's side (`People`): a message typed on
the page is a message a person sent, a pressed button is a callback query. The bot
cannot tell the page from Telegram; the page only watches the emulated world. The cast
(who is a customer, an agent, a manager; which group is the backoffice) comes from
whoever starts the playground (``ctv-desk demo``), so the emulator stays ignorant of any
particular bot.

Routes (added to the emulator's own aiohttp app, on its port):

* ``GET /`` and ``/static/*``: the page (plain HTML, CSS and a script; no build step);
* ``GET /play/state``: the cast, every cast chat's messages, topics, violations, clock;
* ``GET /play/events``: the same snapshot as server-sent events, on every change;
* ``POST /play/send`` ``{user_id, chat_id, text, reply_to?, thread_id?}``;
* ``POST /play/upload`` (multipart: ``user_id, chat_id, kind=photo|document, file,
  caption?, reply_to?, thread_id?``; 2-10 ``file`` parts as photos make an album);
* ``POST /play/press`` ``{user_id, chat_id, message_id, data}``: waits for the bot's
  answerCallbackQuery and returns it (the toast or alert to show);
* ``POST /play/clock`` ``{move: hour|day|monday}`` and ``POST /play/forum``
  ``{forum: bool}`` when the starter provides them;
* ``GET /play/files/{file_id}``: a photo or document's bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from ..client import People
from ..state import World

__all__ = ["Cast", "ClockControl", "Persona", "Playground"]

ROLES = ("customer", "agent", "manager")
STATIC_TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript"}
# How long the page waits for the bot's answer to a button before showing nothing.
PRESS_ANSWER_SECONDS = 10.0
# Changes arriving together are sent as one snapshot.
COALESCE_SECONDS = 0.05
KEEPALIVE_SECONDS = 15.0
MAX_UPLOAD = 20 * 1024 * 1024


@dataclass(frozen=True)
class Persona:
    user_id: int
    name: str
    role: str  # customer, agent, manager
    language: str
    # What the page shows under the name: the organisation and its tariff, the job.
    note: str = ""
    # Sent as "/start <start>" the first time the person opens the chat (a cabinet link).
    start: str | None = None


@dataclass(frozen=True)
class Cast:
    personas: tuple[Persona, ...]
    group_id: int
    group_title: str = "Backoffice"

    def __post_init__(self) -> None:
        for persona in self.personas:
            if persona.role not in ROLES:
                raise ValueError(f"unknown role {persona.role!r}")


@dataclass
class ClockControl:
    """Moves the bot's time forward by writing an offset (seconds) to a file it reads.

    Only forward: the bot's records and deadlines never see time run backwards.
    """

    path: Path
    timezone: str = "Europe/Moscow"
    offset: timedelta = field(default_factory=timedelta)

    def __post_init__(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.offset = timedelta(seconds=float(self.path.read_text(encoding="utf-8") or 0))

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def move(self, how: str) -> timedelta:
        now = self.now()
        if how == "hour":
            step = timedelta(hours=1)
        elif how == "day":
            step = timedelta(days=1)
        elif how == "monday":
            local = now.astimezone(ZoneInfo(self.timezone))
            days = (7 - local.weekday()) % 7
            target = local.replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days)
            if target <= local:
                target += timedelta(days=7)
            # Whole seconds, rounded up: the file holds seconds, and 09:00 must be reached.
            step = timedelta(seconds=math.ceil((target - local).total_seconds()))
        else:
            raise ValueError(f"unknown move {how!r}: hour, day or monday")
        self.offset += step
        # Written whole, then renamed: the reader never sees half a number.
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(f"{self.offset.total_seconds():.0f}", encoding="utf-8")
        os.replace(partial, self.path)
        return step

    def to_json(self) -> dict[str, Any]:
        return {
            "now": self.now().isoformat(),
            "timezone": self.timezone,
            "offset_seconds": self.offset.total_seconds(),
        }


ForumSwitch = Callable[[bool], Awaitable[None]]


class Playground:
    def __init__(
        self,
        world: World,
        cast: Cast,
        *,
        clock: ClockControl | None = None,
        forum_switch: ForumSwitch | None = None,
    ) -> None:
        self.world = world
        self.people = People(world)
        self.cast = cast
        self.clock = clock
        self.forum_switch = forum_switch
        self._by_id = {p.user_id: p for p in cast.personas}

    def install(self, app: web.Application) -> None:
        """Add the page's routes to the emulator's app (`EmulatorServer(extensions=...)`)."""
        r = app.router
        r.add_get("/", self.index)
        r.add_get("/static/{name}", self.static)
        r.add_get("/play/state", self.state)
        r.add_get("/play/events", self.events)
        r.add_post("/play/send", self.send)
        r.add_post("/play/upload", self.upload)
        r.add_post("/play/press", self.press)
        r.add_post("/play/clock", self.move_clock)
        r.add_post("/play/forum", self.switch_forum)
        r.add_get("/play/files/{file_id}", self.file)

    # --- the page ------------------------------------------------------------------------

    @staticmethod
    def _asset(name: str) -> bytes | None:
        if "/" in name or name.startswith("."):
            return None
        item = resources.files(__package__).joinpath("static", name)
        return item.read_bytes() if item.is_file() else None

    async def index(self, request: web.Request) -> web.Response:
        body = self._asset("index.html")
        assert body is not None
        return web.Response(body=body, content_type="text/html", charset="utf-8")

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = self._asset(name)
        kind = STATIC_TYPES.get(Path(name).suffix)
        if body is None or kind is None:
            raise web.HTTPNotFound()
        return web.Response(body=body, content_type=kind, charset="utf-8")

    async def file(self, request: web.Request) -> web.Response:
        stored = self.world.files.get(request.match_info["file_id"])
        if stored is None:
            raise web.HTTPNotFound()
        kind = "image/jpeg" if stored.kind == "photo" else stored.mime_type
        if stored.kind == "photo" and stored.data[:8] == b"\x89PNG\r\n\x1a\n":
            kind = "image/png"
        return web.Response(body=stored.data, content_type=kind or "application/octet-stream")

    # --- what the page shows -------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        world = self.world
        chats: dict[str, list[dict[str, Any]]] = {}
        for persona in self.cast.personas:
            chats[str(persona.user_id)] = [
                self._message(m) for m in world.chat_messages(persona.user_id)
            ]
        group = world.chats.get(self.cast.group_id)
        chats[str(self.cast.group_id)] = [
            self._message(m) for m in world.chat_messages(self.cast.group_id)
        ]
        return {
            "cast": {
                "personas": [asdict(p) for p in self.cast.personas],
                "group_id": self.cast.group_id,
                "group_title": group.title if group else self.cast.group_title,
                "forum": bool(group and group.is_forum),
                "forum_switch": self.forum_switch is not None,
            },
            "bot": world.bot.to_api(),
            "started": [
                p.user_id
                for p in self.cast.personas
                if (chat := world.chats.get(p.user_id)) is not None and chat.started
            ],
            "chats": chats,
            "topics": [
                topic.to_api() | {"closed": topic.closed}
                for topic in (group.topics.values() if group else [])
                if not topic.deleted
            ],
            "violations": [str(v) for v in world.violations],
            "clock": self.clock.to_json() if self.clock else None,
        }

    @staticmethod
    def _message(message: Any) -> dict[str, Any]:
        return {
            "message_id": message.message_id,
            "thread_id": message.thread_id,
            "from_bot": message.from_bot,
            "edited": bool(message.history) or "edit_date" in message.data,
            "force_reply": message.force_reply,
            "data": message.data,
        }

    async def state(self, request: web.Request) -> web.Response:
        return web.json_response(self.snapshot())

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: a snapshot now and after every change of the world."""
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        world = self.world
        last = ""
        try:
            while not world.closing:
                body = json.dumps(self.snapshot(), ensure_ascii=False)
                if body != last:
                    await response.write(f"data: {body}\n\n".encode())
                    last = body
                if not await world.wait_change(KEEPALIVE_SECONDS):
                    await response.write(b": keepalive\n\n")
                    continue
                await asyncio.sleep(COALESCE_SECONDS)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return response

    # --- what the page does --------------------------------------------------------------

    @staticmethod
    def _fail(text: str, status: int = 400) -> web.Response:
        return web.json_response({"error": text}, status=status)

    def _persona(self, user_id: Any) -> Persona:
        try:
            return self._by_id[int(user_id)]
        except (KeyError, TypeError, ValueError):
            raise web.HTTPBadRequest(text="unknown person") from None

    def _target(self, persona: Persona, chat_id: Any) -> int:
        """The chat a persona may write in: its own private chat or the group."""
        try:
            chat = int(chat_id)
        except (TypeError, ValueError):
            raise web.HTTPBadRequest(text="chat_id expected") from None
        if chat not in (persona.user_id, self.cast.group_id):
            raise web.HTTPBadRequest(text="a person writes in their own chat or the group")
        if chat == persona.user_id:
            # Telegram opens the private chat on the person's first message.
            self.world.private_chat(self.world.users[persona.user_id])
        return chat

    @staticmethod
    def _optional_int(value: Any) -> int | None:
        if value in (None, "", "null"):
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise web.HTTPBadRequest(text=f"a number expected, not {value!r}") from None

    async def _json(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="JSON expected") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="JSON object expected")
        return body

    async def send(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        persona = self._persona(body.get("user_id"))
        chat = self._target(persona, body.get("chat_id"))
        text = str(body.get("text") or "").strip()
        if not text:
            return self._fail("nothing to send")
        try:
            message = await self.people.send(
                persona.user_id,
                text,
                chat=chat,
                thread=self._optional_int(body.get("thread_id")),
                reply_to=self._optional_int(body.get("reply_to")),
            )
        except ValueError as error:
            return self._fail(str(error))
        return web.json_response(self._message(message))

    async def upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        persona = self._persona(form.get("user_id"))
        chat = self._target(persona, form.get("chat_id"))
        uploads = [f for f in form.getall("file", []) if isinstance(f, web.FileField)]
        if not uploads:
            return self._fail("a file expected")
        if len(uploads) > 10:
            return self._fail("at most 10 files at once, as in Telegram")
        contents = [f.file.read() for f in uploads]
        if not all(contents) or sum(map(len, contents)) > MAX_UPLOAD:
            return self._fail("a file is empty, or the files are larger than 20 MB together")
        upload, data = uploads[0], contents[0]
        caption = str(form.get("caption") or "").strip() or None
        thread = self._optional_int(form.get("thread_id"))
        reply_to = self._optional_int(form.get("reply_to"))
        try:
            if len(uploads) > 1:
                if form.get("kind") == "document":
                    return self._fail(
                        "several files go as photos (an album); send files one by one"
                    )
                album = await self.people.send_album(
                    persona.user_id,
                    contents,
                    caption=caption,
                    chat=chat,
                    thread=thread,
                    reply_to=reply_to,
                )
                return web.json_response(self._message(album[0]) | {"album": len(album)})
            if form.get("kind") == "document":
                message = await self.people.send_document(
                    persona.user_id,
                    data,
                    upload.filename or "file",
                    mime_type=upload.content_type or "application/octet-stream",
                    caption=caption,
                    chat=chat,
                    thread=thread,
                    reply_to=reply_to,
                )
            else:
                message = await self.people.send_photo(
                    persona.user_id,
                    data,
                    caption=caption,
                    chat=chat,
                    thread=thread,
                    reply_to=reply_to,
                )
        except ValueError as error:
            return self._fail(str(error))
        except OSError:  # Pillow cannot read it: Telegram refuses such a photo too
            return self._fail("this file is not an image; send it as a document")
        return web.json_response(self._message(message))

    async def press(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        persona = self._persona(body.get("user_id"))
        chat = self._target(persona, body.get("chat_id"))
        message = self.world.find_message(chat, self._optional_int(body.get("message_id")) or 0)
        if message is None:
            return self._fail("the message is gone")
        try:
            press = await self.people.press(persona.user_id, message, data=str(body.get("data")))
        except ValueError as error:
            return self._fail(str(error))
        try:
            answer = await press.answer(timeout=PRESS_ANSWER_SECONDS)
        except TimeoutError:
            return web.json_response({"answered": False})
        return web.json_response({"answered": True, "answer": answer})

    async def move_clock(self, request: web.Request) -> web.Response:
        if self.clock is None:
            return self._fail("this playground has no clock control", 404)
        body = await self._json(request)
        try:
            step = self.clock.move(str(body.get("move")))
        except ValueError as error:
            return self._fail(str(error))
        self.world.notify()
        return web.json_response(self.clock.to_json() | {"moved_seconds": step.total_seconds()})

    async def switch_forum(self, request: web.Request) -> web.Response:
        if self.forum_switch is None:
            return self._fail("this playground cannot switch the group", 404)
        body = await self._json(request)
        try:
            await self.forum_switch(bool(body.get("forum")))
        except RuntimeError as error:  # the owner could not carry it out (a bot restart)
            return self._fail(str(error), 503)
        self.world.notify()
        return web.json_response({"forum": bool(body.get("forum"))})
