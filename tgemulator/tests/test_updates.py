"""getUpdates and webhook delivery behave as Telegram's do."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from tgemulator import RunningEmulator

from .conftest import ApiCaller
from .test_aiogram import free_port


async def serve_hook(
    hook: Callable[[web.Request], Awaitable[web.Response]],
) -> tuple[web.AppRunner, int]:
    """A bot's webhook endpoint at ``/hook`` on a free port; the caller cleans it up."""
    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port


async def test_offset_confirms_and_unconfirmed_updates_are_resent(
    emulator: RunningEmulator, api: ApiCaller
) -> None:
    ann = emulator.people.user("Ann")
    for text in ("one", "two", "three"):
        await emulator.people.send(ann, text)
    first = (await api("getUpdates"))["result"]
    assert [u["message"]["text"] for u in first] == ["one", "two", "three"]
    again = (await api("getUpdates", limit=2))["result"]
    assert [u["update_id"] for u in again] == [u["update_id"] for u in first[:2]]
    rest = (await api("getUpdates", offset=first[1]["update_id"] + 1))["result"]
    assert [u["message"]["text"] for u in rest] == ["three"]
    assert (await api("getUpdates", offset=first[2]["update_id"] + 1))["result"] == []
    await emulator.people.send(ann, "four")
    latest = (await api("getUpdates"))["result"]
    assert [u["message"]["text"] for u in latest] == ["four"]
    assert latest[0]["update_id"] == first[2]["update_id"] + 1


async def test_negative_offset_keeps_the_last_ones(
    emulator: RunningEmulator, api: ApiCaller
) -> None:
    ann = emulator.people.user("Ann")
    for text in ("a", "b", "c"):
        await emulator.people.send(ann, text)
    assert [u["message"]["text"] for u in (await api("getUpdates", offset=-1))["result"]] == ["c"]


async def test_long_poll_waits_for_an_update(emulator: RunningEmulator, api: ApiCaller) -> None:
    ann = emulator.people.user("Ann")
    poll = asyncio.create_task(api("getUpdates", timeout=10))
    await asyncio.sleep(0)
    assert not poll.done()
    await emulator.people.send(ann, "wake up")
    answer = await asyncio.wait_for(poll, 2)
    assert [u["message"]["text"] for u in answer["result"]] == ["wake up"]


async def test_long_poll_times_out_empty(emulator: RunningEmulator, api: ApiCaller) -> None:
    answer = await api("getUpdates", timeout=0)
    assert answer == {"ok": True, "result": []}


async def test_allowed_updates_filter_at_creation(
    emulator: RunningEmulator, api: ApiCaller
) -> None:
    people = emulator.people
    group = people.group("Staff")
    # By default chat_member updates are not sent, my_chat_member ones are.
    kinds = [next(k for k in u if k != "update_id") for u in (await api("getUpdates"))["result"]]
    assert kinds == ["my_chat_member"]
    await api("getUpdates", offset=-1, allowed_updates=["chat_member", "message"])
    await api("getUpdates", offset=emulator.world._next_update_id)
    await people.join(group, people.user("Kate"))
    ann = people.user("Ann")
    await people.send(ann, "hi")
    press_target = await people.send(ann, "again")
    assert press_target.text == "again"
    await people.block(ann)
    kinds = [next(k for k in u if k != "update_id") for u in (await api("getUpdates"))["result"]]
    assert kinds == ["chat_member", "message", "message", "message"]


async def test_get_updates_while_webhook_is_set_is_a_conflict(
    emulator: RunningEmulator, api: ApiCaller
) -> None:
    assert (await api("setWebhook", url="http://127.0.0.1:9/hook"))["result"] is True
    answer = await api("getUpdates")
    assert answer == {
        "ok": False,
        "error_code": 409,
        "description": "Conflict: can't use getUpdates method while webhook is active; use "
        "deleteWebhook to delete the webhook first",
    }
    info = (await api("getWebhookInfo"))["result"]
    assert info["url"] == "http://127.0.0.1:9/hook"
    assert (await api("deleteWebhook", drop_pending_updates=True))["result"] is True
    assert (await api("getUpdates"))["result"] == []
    assert emulator.take_violations() == []


async def test_webhook_is_retried_until_the_bot_accepts(
    emulator: RunningEmulator, api: ApiCaller
) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []
    failures = 2

    async def hook(request: web.Request) -> web.Response:
        nonlocal failures
        body = await request.json()
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), body))
        if failures:
            failures -= 1
            return web.Response(status=500)
        # Telegram runs a method given as the webhook answer.
        return web.json_response(
            {"method": "sendMessage", "chat_id": body["message"]["chat"]["id"], "text": "pong"}
        )

    runner, port = await serve_hook(hook)
    try:
        await api("setWebhook", url=f"http://127.0.0.1:{port}/hook", secret_token="s3cr-et_")
        ann = emulator.people.user("Ann")
        await emulator.people.send(ann, "ping")
        reply = await emulator.people.wait_for_message(ann)
        assert reply.text == "pong"
        assert len(received) == 3
        assert {secret for secret, _ in received} == {"s3cr-et_"}
        assert len({body["update_id"] for _, body in received}) == 1
        info = (await api("getWebhookInfo"))["result"]
        assert info["pending_update_count"] == 0
        assert "500" in info["last_error_message"]
    finally:
        await api("deleteWebhook")
        await runner.cleanup()


async def test_webhook_delivers_chats_in_parallel_and_each_chat_in_order(
    emulator: RunningEmulator, api: ApiCaller
) -> None:
    """As Telegram's Bot API server does: up to max_connections requests at once, one
    update in flight per chat, and a chat whose update fails does not hold the others."""
    in_flight: dict[int, int] = {}
    most_at_once = 0
    seen: dict[int, list[str]] = {}
    three_at_once = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        nonlocal most_at_once
        body = await request.json()
        chat = body["message"]["chat"]["id"]
        text = body["message"]["text"]
        if text == "broken":
            return web.Response(status=500)
        in_flight[chat] = in_flight.get(chat, 0) + 1
        try:
            assert in_flight[chat] == 1, "two updates of one chat in flight"
            most_at_once = max(most_at_once, sum(in_flight.values()))
            if most_at_once >= 3:
                three_at_once.set()
            # Held until three chats are in flight together (or a second has passed).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(three_at_once.wait(), 1.0)
            seen.setdefault(chat, []).append(text)
        finally:
            in_flight[chat] -= 1
        return web.Response()

    runner, port = await serve_hook(hook)
    try:
        await api("setWebhook", url=f"http://127.0.0.1:{port}/hook", max_connections=3)
        people = [emulator.people.user(name) for name in ("Ann", "Bob", "Cid", "Dan")]
        stuck = emulator.people.user("Eve")
        await emulator.people.send(stuck, "broken")
        for number in range(1, 4):
            for person in people:
                await emulator.people.send(person, f"{person.first_name} {number}")
        await emulator.people.wait_for(
            lambda: sum(map(len, seen.values())) == 12, what="every update delivered"
        )
        assert most_at_once == 3  # parallel, and never past max_connections
        for person in people:
            assert seen[person.id] == [f"{person.first_name} {n}" for n in (1, 2, 3)]
        # The failing update stays pending and is tried again, alone.
        await emulator.people.wait_for(
            lambda: sum(1 for _, r in emulator.server.webhook_attempts if r != "ok") >= 3,
            what="the failing update tried again",
        )
        assert [u["message"]["text"] for u in emulator.world.updates] == ["broken"]
    finally:
        await api("deleteWebhook", drop_pending_updates=True)
        await runner.cleanup()


async def test_webhook_connection_failure_is_retried(
    emulator: RunningEmulator, api: ApiCaller
) -> None:
    port = free_port()
    await api("setWebhook", url=f"http://127.0.0.1:{port}/hook")
    ann = emulator.people.user("Ann")
    await emulator.people.send(ann, "anyone?")
    await emulator.people.wait_for(
        lambda: len(emulator.server.webhook_attempts) >= 2, what="two failed attempts"
    )
    attempts = emulator.server.webhook_attempts
    assert all(result.startswith("Connection failed") for _, result in attempts)
    assert len(emulator.world.updates) == 1
    await api("deleteWebhook")


async def test_bad_secret_token(emulator: RunningEmulator, api: ApiCaller) -> None:
    answer = await api("setWebhook", url="http://127.0.0.1:9/hook", secret_token="no spaces")
    assert answer["description"] == "Bad Request: secret token contains unallowed characters"
    emulator.take_violations()
