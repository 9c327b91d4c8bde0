"""`python -m tgemulator` alone, driven through its control API."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from .test_aiogram import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


async def test_refuses_other_hosts() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tgemulator",
        "--host",
        "0.0.0.0",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert b"--host must be one of" in stderr


@pytest_asyncio.fixture
async def standalone() -> AsyncIterator[str]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tgemulator",
        "--port",
        str(port),
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 30)
    assert b"Telegram emulator on" in line, line
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 10)


async def test_control_api_round_trip(standalone: str) -> None:
    async with aiohttp.ClientSession() as http:

        async def control(method: str, path: str, **body: object) -> object:
            async with http.request(
                method, f"{standalone}/_emulator/{path}", json=body or None
            ) as response:
                assert response.status < 300, await response.text()
                return await response.json()

        state = await control("GET", "state")
        assert isinstance(state, dict)
        token = state["token"]
        user = await control("POST", "users", first_name="Ann", language_code="uk")
        assert isinstance(user, dict)
        await control("POST", "messages", user_id=user["id"], text="/start")
        async with http.post(f"{standalone}/bot{token}/getUpdates", json={}) as response:
            updates = (await response.json())["result"]
        assert updates[0]["message"]["text"] == "/start"

        waiting = asyncio.create_task(control("GET", f"chats/{user['id']}/wait?after=1&timeout=5"))
        markup = {"inline_keyboard": [[{"text": "Call", "callback_data": "call"}]]}
        async with http.post(
            f"{standalone}/bot{token}/sendMessage",
            json={"chat_id": user["id"], "text": "Hello", "reply_markup": markup},
        ) as response:
            sent = (await response.json())["result"]
        seen = await waiting
        assert isinstance(seen, dict)
        assert seen["data"]["text"] == "Hello"

        pressed = await control(
            "POST",
            "press",
            user_id=user["id"],
            chat_id=user["id"],
            message_id=sent["message_id"],
            text="Call",
        )
        assert isinstance(pressed, dict)
        async with http.post(
            f"{standalone}/bot{token}/answerCallbackQuery",
            json={"callback_query_id": pressed["callback_query_id"], "text": "ok"},
        ) as response:
            assert (await response.json())["ok"] is True
        answer = await control("GET", f"callbacks/{pressed['callback_query_id']}")
        assert answer == {
            "answered": True,
            "answer": {"text": "ok", "show_alert": False, "url": None, "cache_time": None},
        }
        listed = await control("GET", f"chats/{user['id']}/messages?from_bot=true")
        assert isinstance(listed, list)
        assert [m["data"]["text"] for m in listed] == ["Hello"]

        async with http.post(f"{standalone}/bot{token}/sendMessage", json={"chat_id": 1}) as r:
            assert r.status == 400
        assert await control("GET", "violations") == [
            "sendMessage: Bad Request: message text is empty (params: {'chat_id': 1})"
        ]
        await control("DELETE", "violations")
        assert await control("GET", "violations") == []

        limits = await control("POST", "limits", enabled=True, per_chat_burst=1)
        assert isinstance(limits, dict)
        assert limits["enabled"] is True
        faults = await control("POST", "faults", seed=5, error_rate=0.5)
        assert isinstance(faults, dict)
        assert faults["faults"]["seed"] == 5


@pytest.mark.parametrize("path", ["users", "groups"])
async def test_control_api_defaults(standalone: str, path: str) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{standalone}/_emulator/{path}", json={}) as response,
    ):
        assert response.status == 200
        body = await response.json()
    assert "id" in body
