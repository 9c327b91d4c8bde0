"""Operations end to end: webhook secret, readiness, metrics, logs, modules, the cabinet webhook.

One desk process in webhook mode with JSON logs at DEBUG, a module installed
from a test package's entry point (it records the request events and answers
/ping), a module whose setup fails, and the cabinet webhook pointed at a
server in the test that fails the first delivery.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from plugins.cabinet_webhook import SIGNATURE, TIMESTAMP, verify
from tgemulator import RunningEmulator

from .conftest import free_port, quick_intake, shows, start_desk, stop_desk

WAIT = 20.0

RECORDER = '''
"""A module as an administrator would write it: records events, answers /ping, and
carelessly logs the settings it can read (the desk must mask them)."""
import json
import logging
import os

from aiogram.filters import Command


def setup(context):
    path = os.environ["CTV_TEST_EVENTS"]
    names = ("BOT_TOKEN", "WEBHOOK_SECRET", "API_KEYS", "LINK_SECRET", "CABINET_WEBHOOK_SECRET")
    logging.getLogger("careless").info(
        "careless module: %s", " ".join(f"{n}={os.environ[n]}" for n in names)
    )

    async def record(event):
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(event.as_json()) + "\\n")

    async def ping(message):
        await message.answer("pong from " + context.name)

    context.subscribe(record)
    context.router.message.register(ping, Command("ping"))
'''

BROKEN = """
def setup(context):
    context.subscribe(lambda event: None)  # never wired in: setup fails below
    raise RuntimeError("this module is broken on purpose")
"""


def install_test_package(root: Path) -> None:
    """A distribution with two entry points, found on PYTHONPATH like an installed one."""
    (root / "ctv_test_recorder.py").write_text(RECORDER, encoding="utf-8")
    (root / "ctv_test_broken.py").write_text(BROKEN, encoding="utf-8")
    info = root / "ctv_test_modules-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: ctv-test-modules\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[ctv_desk.plugins]\nrecorder = ctv_test_recorder\nbroken = ctv_test_broken\n",
        encoding="utf-8",
    )


class Cabinet:
    """The personal cabinet's end of the webhook: the first delivery fails with 500."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.port = free_port()
        self.received: list[dict[str, Any]] = []
        self.attempts = 0
        self.bad_signatures = 0
        self.two_received = asyncio.Event()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/desk-events"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/desk-events", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.attempts += 1
        signature = request.headers.get(SIGNATURE, "")
        if not verify(self.secret, request.headers.get(TIMESTAMP, ""), body, signature):
            self.bad_signatures += 1
            return web.Response(status=401)
        if self.attempts == 1:
            return web.Response(status=500, text="not now")
        self.received.append({"headers": dict(request.headers), "body": json.loads(body)})
        if len(self.received) >= 2:
            self.two_received.set()
        return web.Response(status=204)


def metric(body: str, name: str, **labels: str) -> float:
    """The sample's value (0 when absent); labels must match exactly those given."""
    total = 0.0
    for line in body.splitlines():
        found = re.match(rf"^{name}(?:\{{(.*)\}})? (\S+)$", line)
        if not found:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', found.group(1) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(found.group(2))
    return total


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text()


def fake_update(update_id: int, user_id: int) -> dict[str, Any]:
    person = {"id": user_id, "is_bot": False, "first_name": "Mallory"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Mallory"},
            "from": person,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def test_operations_end_to_end(emulator: RunningEmulator, tmp_path: Path) -> None:
    modules = tmp_path / "modules"
    modules.mkdir()
    install_test_package(modules)
    events_path = tmp_path / "events.jsonl"
    cabinet = Cabinet(secrets.token_hex(16))
    await cabinet.start()
    api_key = "key-" + secrets.token_hex(12)
    link_secret = "link-" + secrets.token_hex(12)
    desk = await start_desk(
        emulator,
        "webhook",
        tmp_path,
        extra_env={
            "PYTHONPATH": str(modules),
            "CTV_TEST_EVENTS": str(events_path),
            "CABINET_WEBHOOK_URL": cabinet.url,
            "CABINET_WEBHOOK_SECRET": cabinet.secret,
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "DEBUG",
            "API_KEYS": api_key,
            "LINK_SECRET": link_secret,
        },
    )
    people = desk.people
    try:
        # Readiness and liveness.
        status, body = await get(f"{desk.http_url}/ready")
        assert status == 200, body
        ready = json.loads(body)
        assert ready["checks"] == {
            "started": "ok",
            "database": "ok",
            "redis": "not configured",
            "backoffice": "ok",
        }
        status, body = await get(f"{desk.http_url}/health")
        assert status == 200
        health = json.loads(body)
        assert health["version"] == "0.2"
        assert health["plugins"] == ["cabinet_webhook", "recorder"]
        assert health["plugins_failed"] == {
            "broken": "RuntimeError: this module is broken on purpose"
        }

        # A webhook call without the right secret is refused and not handled.
        webhook = desk.env["WEBHOOK_URL"]
        async with aiohttp.ClientSession() as http:
            for headers in ({"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {}):
                async with http.post(
                    webhook, json=fake_update(777_000_001, 555_000_001), headers=headers
                ) as answer:
                    assert answer.status == 401

        _, before = await get(f"{desk.http_url}/metrics")
        assert metric(before, "ctv_webhook_refused_total") == 2
        assert metric(before, "ctv_open_requests") == 0

        # A scenario: the shortest intake, then the customer withdraws the request.
        ann = people.user("Ann", username="ann_ops", language_code="ru")
        registered = await quick_intake(people, ann, "Не открывается отчёт", wait=WAIT)
        number = re.search(r"CTV-(\d+)", registered.text or "")
        assert number is not None
        await people.wait_for_message(desk.backoffice, shows(number.group(0)), timeout=WAIT)

        _, after = await get(f"{desk.http_url}/metrics")
        handled = metric(after, "ctv_updates_total", outcome="handled")
        assert handled >= 6 + metric(before, "ctv_updates_total", outcome="handled")
        assert metric(after, "ctv_updates_total", type="callback_query", outcome="handled") >= 3
        assert metric(after, "ctv_update_seconds_count", type="message") >= 3
        assert metric(after, "ctv_open_requests", status="new", priority="P2") == 1
        sent = metric(after, "ctv_tg_calls_total", method="sendMessage", result="ok")
        assert sent > metric(before, "ctv_tg_calls_total", method="sendMessage", result="ok")
        assert "ctv_outbox_depth " in after
        assert "ctv_outbox_oldest_age_seconds " in after
        assert 'ctv_sla_breached_requests{target="resolution"} 0.0' in after

        # The module from the test package: its router answers, its listener hears.
        await people.command(ann, "ping")
        await people.wait_for_message(ann, shows("pong from recorder"), timeout=WAIT)
        await people.command(ann, "my")
        listing = await people.wait_for_message(ann, shows("Ваши заявки"), timeout=WAIT)
        entry = next(b["text"] for b in listing.buttons if number.group(0) in b["text"])
        await (await people.press(ann, listing, text=entry)).answer(timeout=WAIT)
        view = await people.wait_for_message(ann, shows("История"), timeout=WAIT)
        await (await people.press(ann, view, text="🗑 Отозвать")).answer(timeout=WAIT)
        confirm = await people.wait_for_message(ann, shows("Отозвать заявку"), timeout=WAIT)
        await (await people.press(ann, confirm, text="Да, отозвать")).answer(timeout=WAIT)
        await people.wait_for_message(ann, shows("закрыта по вашей просьбе"), timeout=WAIT)

        # The cabinet hears "created" (after one retry) and the status change, signed.
        async with asyncio.timeout(WAIT):
            await cabinet.two_received.wait()
        assert cabinet.bad_signatures == 0
        kinds = sorted(r["body"]["kind"] for r in cabinet.received)
        assert kinds == ["created", "status_changed"], cabinet.received
        assert cabinet.attempts == 3  # the first failed with 500 and was retried
        change = next(r["body"] for r in cabinet.received if r["body"]["kind"] != "created")
        assert change["number"] == int(number.group(1))
        assert (change["previous_status"], change["status"]) == ("new", "closed")
        assert change["delivery_id"] == change_headers(cabinet, "status_changed")

        _, last = await get(f"{desk.http_url}/metrics")
        assert metric(last, "ctv_open_requests") == 0
    finally:
        code = await stop_desk(desk)
        await cabinet.stop()
    assert code == 0

    recorded = [json.loads(line) for line in events_path.read_text().splitlines()]
    assert [e["kind"] for e in recorded] == ["created", "status_changed", "closed"]
    assert {e["number"] for e in recorded} == {int(number.group(1))}

    # Logs: JSON lines only, one per update with its outcome, no secret anywhere.
    log_text = desk.stderr_path.read_text(encoding="utf-8")
    lines = [json.loads(line) for line in log_text.splitlines()]
    assert len(lines) > 20
    for secret in (desk.env["BOT_TOKEN"], desk.env["WEBHOOK_SECRET"], api_key, link_secret):
        assert secret not in log_text
    assert cabinet.secret not in log_text
    careless = [line["message"] for line in lines if line["logger"] == "careless"]
    assert careless == [
        "careless module: BOT_TOKEN=*** WEBHOOK_SECRET=*** API_KEYS=*** LINK_SECRET=*** "
        "CABINET_WEBHOOK_SECRET=***"
    ]
    outcomes = [line for line in lines if "outcome" in line]
    assert all({"update_id", "update_type", "user_id", "requests"} <= set(o) for o in outcomes)
    assert any(
        o["outcome"] == "handled" and o["requests"] == [number.group(0)] and o["user_id"] == ann.id
        for o in outcomes
    )
    assert not any(o["update_id"] == 777_000_001 for o in outcomes)  # the refused one
    broken = [line for line in lines if "plugin broken failed to start" in line["message"]]
    assert len(broken) == 1 and "broken on purpose" in broken[0]["message"]
    assert any(line["message"] == "plugin recorder loaded" for line in lines)


def change_headers(cabinet: Cabinet, kind: str) -> str:
    found = next(r for r in cabinet.received if r["body"]["kind"] == kind)
    return str(found["headers"]["X-CTV-Delivery"])


async def test_polling_start_deletes_a_webhook_left_behind(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{emulator.url}/bot{emulator.token}/setWebhook",
            json={"url": "https://old.example.com/webhook"},
        ) as answer,
    ):
        assert (await answer.json())["ok"]
    assert emulator.world.webhook is not None
    # start_desk waits until the desk polls, which Telegram refuses while a webhook is set.
    desk = await start_desk(emulator, "polling", tmp_path)
    try:
        assert emulator.world.webhook is None
        ann = desk.people.user("Ann", language_code="ru")
        await desk.people.command(ann, "start")
        await desk.people.wait_for_message(ann, lambda m: bool(m.buttons), timeout=WAIT)
    finally:
        assert await stop_desk(desk) == 0
