"""HTTP face of the emulator: the Bot API, file downloads, webhook delivery, control API."""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import email.policy
import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import aiohttp
from aiohttp import web

from .botapi import BotApi
from .client import People, make_image
from .limits import FaultDecision, FaultPlan
from .schema import UploadedFile
from .state import ApiError, StoredMessage, WebhookConfig, World

log = logging.getLogger(__name__)
ALLOWED_HOSTS = ("127.0.0.1", "localhost")
MAX_BODY = 60 * 1024 * 1024


class BodyError(Exception):
    pass


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.method != "POST" or not request.can_read_body:
        return raw, files
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise BodyError("can't parse JSON body") from None
        if not isinstance(body, dict):
            raise BodyError("JSON body must be an object")
        raw.update(body)
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = UploadedFile(
                    key, value.filename, value.content_type, value.file.read()
                )
            else:
                raw[key] = value
    return raw, files


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a multipart body (a webhook reply) into fields and files."""
    header = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + body)
    fields: dict[str, Any] = {}
    files: dict[str, UploadedFile] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename:
            files[name] = UploadedFile(name, filename, part.get_content_type(), data)
        else:
            fields[name] = data.decode("utf-8")
    return fields, files


def message_json(message: StoredMessage) -> dict[str, Any]:
    return {
        "chat_id": message.chat_id,
        "message_id": message.message_id,
        "from_bot": message.from_bot,
        "thread_id": message.thread_id,
        "deleted": message.deleted,
        "data": message.data,
        "history": message.history,
    }


def _delivery_queue(update: dict[str, Any]) -> int:
    """The chat an update belongs to: its updates are delivered one at a time, in order."""
    for key, value in update.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        for holder in (value, value.get("message")):
            if isinstance(holder, dict) and isinstance(holder.get("chat"), dict):
                return int(holder["chat"]["id"])
        sender = value.get("from") or value.get("user")
        if isinstance(sender, dict):
            return int(sender["id"])
    return 0


class EmulatorServer:
    def __init__(
        self,
        world: World | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_retry_delay: float = 0.05,
        webhook_max_retry_delay: float = 1.0,
        webhook_timeout: float = 10.0,
        extensions: list[Callable[[web.Application], None]] | None = None,
    ) -> None:
        if host not in ALLOWED_HOSTS:
            raise ValueError(f"the emulator only listens on {ALLOWED_HOSTS}, not {host!r}")
        self.world = world or World()
        self.api = BotApi(self.world)
        self.people = People(self.world)
        self.host = host
        self.port = port
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_max_retry_delay = webhook_max_retry_delay
        self.webhook_timeout = webhook_timeout
        self.webhook_attempts: list[tuple[int, str]] = []
        # More routes on the same app and port (the playground page).
        self.extensions = list(extensions or [])
        self._runner: web.AppRunner | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/bot{token}/{method}", self.handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self.handle_file)
        self._add_control_routes(app)
        for extend in self.extensions:
            extend(app)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]
        self._session = aiohttp.ClientSession()
        self._webhook_task = asyncio.create_task(self._webhook_loop())

    async def stop(self) -> None:
        self.world.closing = True
        self.world.notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- Bot API -----------------------------------------------------------------------

    def _fault_response(self, request: web.Request, decision: FaultDecision) -> web.Response:
        if decision.kind == "drop":
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)
        if decision.kind == "flood":
            retry_after = decision.retry_after
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {retry_after}",
                    "parameters": {"retry_after": retry_after},
                },
                status=429,
            )
        if decision.kind == "error502":
            return web.Response(
                status=502,
                text="<html><head><title>502 Bad Gateway</title></head></html>",
                content_type="text/html",
            )
        return web.json_response(
            {"ok": False, "error_code": 500, "description": "Internal Server Error"}, status=500
        )

    async def handle_api(self, request: web.Request) -> web.Response:
        world = self.world
        method = request.match_info["method"]
        decision = world.faults.decide(world.schema.canonical_method(method) or method)
        if decision.kind == "delay" and not decision.after_effect:
            await asyncio.sleep(decision.delay)
        if decision.kind == "flood":  # flood control refuses before doing anything
            return self._fault_response(request, decision)
        failing = decision.kind in ("error500", "error502", "drop")
        if failing and not decision.after_effect:
            return self._fault_response(request, decision)
        try:
            raw, files = await read_params(request)
        except BodyError as error:
            description = f"Bad Request: {error}"
            world.record_violation(method, description, {})
            return web.json_response(
                {"ok": False, "error_code": 400, "description": description}, status=400
            )
        response = await self.execute(request.match_info["token"], method, raw, files)
        if failing:
            return self._fault_response(request, decision)
        if decision.kind == "delay" and decision.after_effect:
            await asyncio.sleep(decision.delay)
        return response

    async def execute(
        self, token: str, method: str, raw: dict[str, Any], files: dict[str, UploadedFile]
    ) -> web.Response:
        try:
            result = await self.api.call(token, method, raw, files)
        except ApiError as error:
            body: dict[str, Any] = {
                "ok": False,
                "error_code": error.code,
                "description": error.description,
            }
            if error.retry_after is not None:
                body["parameters"] = {"retry_after": error.retry_after}
            return web.json_response(body, status=error.code)
        return web.json_response({"ok": True, "result": result})

    async def handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.world.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        stored = self.world.files_by_path.get(request.match_info["path"])
        if stored is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        content_type = "image/jpeg" if stored.kind == "photo" else stored.mime_type
        return web.Response(
            body=stored.data, content_type=content_type or "application/octet-stream"
        )

    # --- webhook delivery ------------------------------------------------------------------

    async def _webhook_loop(self) -> None:
        """Deliver pending updates the way Telegram's Bot API server does.

        Up to the webhook's ``max_connections`` requests at once, one update in
        flight per chat, each chat's updates in order: different chats are
        delivered in parallel, and an update that fails (an error status, a
        refused or broken connection, a timeout) is re-sent after a growing delay
        while other chats go on. A bot under a burst therefore sees many updates
        arriving together, as it would from Telegram, not one after another.
        """
        world = self.world
        busy: set[int] = set()  # chats with an update in flight
        retry_at: dict[int, float] = {}  # update_id -> when a failed update may go again
        delays: dict[int, float] = {}  # update_id -> its next delay after a failure
        tasks: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()
        try:
            while not world.closing:
                hook = world.webhook
                if hook is None or not world.updates:
                    await world.wait_change(None)
                    continue
                now = loop.time()
                soonest: float | None = None
                blocked: set[int] = set()  # chats whose earlier update waits or is in flight
                for update in world.updates:
                    if len(busy) >= hook.max_connections:
                        break
                    chat = _delivery_queue(update)
                    if chat in busy or chat in blocked:
                        continue
                    update_id = update["update_id"]
                    due = retry_at.get(update_id)
                    if due is not None and due > now:
                        blocked.add(chat)
                        soonest = due if soonest is None else min(soonest, due)
                        continue
                    busy.add(chat)
                    task = loop.create_task(
                        self._deliver(hook, update, chat, busy, retry_at, delays)
                    )
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                timeout = None if soonest is None else max(soonest - now, 0.001)
                await world.wait_change(timeout)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _deliver(
        self,
        hook: WebhookConfig,
        update: dict[str, Any],
        chat: int,
        busy: set[int],
        retry_at: dict[int, float],
        delays: dict[int, float],
    ) -> None:
        world = self.world
        update_id = update["update_id"]
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        error: str | None = None
        reply: tuple[str, bytes] | None = None
        assert self._session is not None
        try:
            try:
                async with self._session.post(
                    hook.url,
                    data=json.dumps(update),
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
                ) as response:
                    body = await response.read()
                    if 200 <= response.status < 300:
                        reply = (response.headers.get("Content-Type", ""), body)
                    else:
                        error = (
                            f"Wrong response from the webhook: {response.status} {response.reason}"
                        )
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                error = f"Connection failed: {type(exc).__name__}"
            self.webhook_attempts.append((update_id, error or "ok"))
            if error is not None:
                hook.last_error_date = world.now()
                hook.last_error_message = error
                delay = delays.get(update_id, self.webhook_retry_delay)
                retry_at[update_id] = asyncio.get_running_loop().time() + delay
                delays[update_id] = min(delay * 2, self.webhook_max_retry_delay)
                return
            retry_at.pop(update_id, None)
            delays.pop(update_id, None)
            # The list may have been replaced or cleared meanwhile (drop_pending_updates).
            with contextlib.suppress(ValueError):
                world.updates.remove(update)
            world.delivered_updates.append(update)
        finally:
            busy.discard(chat)
            world.notify()
        if reply is not None:
            await self._run_webhook_reply(*reply)

    async def _run_webhook_reply(self, content_type: str, body: bytes) -> None:
        """A bot may answer a webhook with a method call; Telegram executes it."""
        if not body.strip():
            return
        files: dict[str, UploadedFile] = {}
        if content_type.startswith("multipart/form-data"):
            fields, files = parse_multipart(content_type, body)
        else:
            try:
                fields = json.loads(body)
            except ValueError:
                return
            if not isinstance(fields, dict):
                return
        method = fields.pop("method", None)
        if not method:
            return
        await self.execute(self.world.token, str(method), fields, files)

    # --- control API (the people's side over HTTP, for a bot in another process) -------

    def _add_control_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/_emulator/state", self.c_state)
        r.add_post("/_emulator/users", self.c_user)
        r.add_post("/_emulator/groups", self.c_group)
        r.add_post("/_emulator/members", self.c_member)
        r.add_post("/_emulator/topics", self.c_topic)
        r.add_post("/_emulator/messages", self.c_message)
        r.add_post("/_emulator/photos", self.c_photo)
        r.add_post("/_emulator/press", self.c_press)
        r.add_post("/_emulator/block", self.c_block)
        r.add_get("/_emulator/chats/{chat_id}/messages", self.c_messages)
        r.add_get("/_emulator/chats/{chat_id}/wait", self.c_wait)
        r.add_get("/_emulator/callbacks/{callback_id}", self.c_callback)
        r.add_get("/_emulator/violations", self.c_violations)
        r.add_delete("/_emulator/violations", self.c_violations)
        r.add_post("/_emulator/limits", self.c_limits)
        r.add_post("/_emulator/faults", self.c_faults)

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        body = await request.json()
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="JSON object expected")
        return body

    @staticmethod
    def _fail(error: Exception) -> web.Response:
        return web.json_response({"error": str(error)}, status=400)

    async def c_state(self, request: web.Request) -> web.Response:
        world = self.world
        return web.json_response(
            {
                "bot": world.bot.to_api(),
                "token": world.token,
                "users": [u.to_api() for u in world.users.values() if not u.is_bot],
                "chats": [c.to_api() for c in world.chats.values()],
                "pending_updates": len(world.updates),
                "webhook": world.webhook.url if world.webhook else None,
            }
        )

    async def c_user(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        user = self.people.user(
            body.get("first_name", "Alice"),
            username=body.get("username"),
            last_name=body.get("last_name"),
            language_code=body.get("language_code", "en"),
            user_id=body.get("user_id"),
        )
        return web.json_response(user.to_api())

    async def c_group(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            chat = self.people.group(
                body.get("title", "Test group"),
                owner=body.get("owner_id"),
                supergroup=body.get("supergroup", True),
                forum=body.get("forum", False),
                chat_id=body.get("chat_id"),
                bot_status=body.get("bot_status", "administrator"),
            )
        except (KeyError, ValueError) as error:
            return self._fail(error)
        return web.json_response(chat.to_api())

    async def c_member(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            await self.people.join(
                body["chat_id"], body["user_id"], status=body.get("status", "member")
            )
        except (KeyError, ValueError) as error:
            return self._fail(error)
        return web.json_response({"ok": True})

    async def c_topic(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            topic = await self.people.create_topic(
                body["chat_id"], body["name"], user=body["user_id"]
            )
        except (KeyError, ValueError) as error:
            return self._fail(error)
        return web.json_response(topic.to_api())

    async def c_message(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            message = await self.people.send(
                body["user_id"],
                body["text"],
                chat=body.get("chat_id"),
                thread=body.get("thread_id"),
                reply_to=body.get("reply_to"),
            )
        except (KeyError, ValueError) as error:
            return self._fail(error)
        return web.json_response(message_json(message))

    async def c_photo(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            message = await self.people.send_photo(
                body["user_id"],
                make_image(body.get("width", 64), body.get("height", 48)),
                caption=body.get("caption"),
                chat=body.get("chat_id"),
                thread=body.get("thread_id"),
            )
        except (KeyError, ValueError) as error:
            return self._fail(error)
        return web.json_response(message_json(message))

    async def c_press(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            message = self.world.find_message(body["chat_id"], body["message_id"])
            if message is None:
                raise ValueError("message not found")
            press = await self.people.press(
                body["user_id"], message, text=body.get("text"), data=body.get("data")
            )
        except (KeyError, ValueError) as error:
            return self._fail(error)
        return web.json_response({"callback_query_id": press.id})

    async def c_block(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            if body.get("blocked", True):
                await self.people.block(body["user_id"])
            else:
                await self.people.unblock(body["user_id"])
        except KeyError as error:
            return self._fail(error)
        return web.json_response({"ok": True})

    def _thread_query(self, request: web.Request) -> tuple[int, int | None, bool | None]:
        chat_id = int(request.match_info["chat_id"])
        thread = request.query.get("thread_id")
        from_bot = request.query.get("from_bot")
        return (
            chat_id,
            int(thread) if thread else None,
            None if from_bot is None else from_bot.lower() in ("1", "true"),
        )

    async def c_messages(self, request: web.Request) -> web.Response:
        chat_id, thread_id, from_bot = self._thread_query(request)
        found = self.people.messages(chat_id, thread=thread_id, from_bot=from_bot)
        return web.json_response([message_json(m) for m in found])

    async def c_wait(self, request: web.Request) -> web.Response:
        """Long-poll for the next bot message after `after` (a message id)."""
        chat_id, thread_id, _ = self._thread_query(request)
        try:
            message = await self.people.wait_for_message(
                chat_id,
                thread=thread_id,
                after=int(request.query.get("after", "0")),
                timeout=float(request.query.get("timeout", "10")),
            )
        except TimeoutError as error:
            return web.json_response({"error": str(error)}, status=408)
        return web.json_response(message_json(message))

    async def c_callback(self, request: web.Request) -> web.Response:
        record = self.world.callbacks.get(request.match_info["callback_id"])
        if record is None:
            return web.json_response({"error": "unknown callback"}, status=404)
        return web.json_response({"answered": record.answered, "answer": record.answer})

    async def c_violations(self, request: web.Request) -> web.Response:
        if request.method == "DELETE":
            taken = self.world.take_violations()
        else:
            taken = list(self.world.violations)
        return web.json_response([str(v) for v in taken])

    async def c_limits(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        limits = self.world.limits
        for key in ("enabled", "per_chat_per_second", "per_chat_burst", "per_group_per_minute"):
            if key in body:
                setattr(limits, key, body[key])
        if "global_per_second" in body:
            limits.global_per_second = body["global_per_second"]
        if "clock_speed" in body:
            self.world.clock.speed = float(body["clock_speed"])
        self.world.limiter.reset()
        shown = {k: v for k, v in asdict(limits).items() if k != "methods"}
        return web.json_response(shown)

    async def c_faults(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if not body:
            self.world.faults.configure(None)
            return web.json_response({"faults": None})
        plan = FaultPlan(
            seed=int(body.get("seed", 0)),
            error_rate=float(body.get("error_rate", 0)),
            drop_rate=float(body.get("drop_rate", 0)),
            delay_rate=float(body.get("delay_rate", 0)),
            after_effect_rate=float(body.get("after_effect_rate", 0)),
            flood_rate=float(body.get("flood_rate", 0)),
            flood_retry_after=int(body.get("flood_retry_after", 1)),
        )
        self.world.faults.configure(plan)
        return web.json_response({"faults": asdict(plan) | {"methods": None, "exclude": None}})
