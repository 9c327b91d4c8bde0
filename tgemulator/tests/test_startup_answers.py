"""What a bot's start-up checks meet: a token Telegram does not know, chats it cannot see,
a Telegram that does not answer at all."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramUnauthorizedError

from tgemulator import Chat, RunningEmulator, run_emulator

from .conftest import ApiCaller

UNAUTHORIZED = {"ok": False, "error_code": 401, "description": "Unauthorized"}
CHAT_NOT_FOUND = {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
MISSING_CHAT = -1009999999999


def unknown_tokens(known: str) -> list[str]:
    bot_id, secret = known.split(":", 1)
    return [f"{bot_id}:wrong-secret", f"42:{secret}", "no-colon-at-all", f"{known}x"]


@pytest.mark.parametrize(
    ("http_method", "api_method", "params"),
    [
        ("GET", "getMe", {}),
        ("POST", "getMe", {}),
        ("POST", "sendMessage", {"chat_id": 1, "text": "x"}),
        # Even a call that is wrong in itself is refused for the token first.
        ("POST", "noSuchMethod", {"bogus": True}),
    ],
)
async def test_a_token_the_emulator_does_not_know_is_401(
    emulator: RunningEmulator,
    http: aiohttp.ClientSession,
    http_method: str,
    api_method: str,
    params: dict[str, Any],
) -> None:
    tokens = unknown_tokens(emulator.token)
    for token in tokens:
        url = f"{emulator.url}/bot{token}/{api_method}"
        body = params if http_method == "POST" else None
        async with http.request(http_method, url, json=body) as response:
            assert response.status == 401, token
            assert await response.json() == UNAUTHORIZED, token
    # A wrong token is recorded: tests that provoke it on purpose take them.
    assert [v.description for v in emulator.take_violations()] == ["Unauthorized"] * len(tokens)


async def test_the_known_token_is_accepted(emulator: RunningEmulator, api: ApiCaller) -> None:
    me = await api("getMe")
    assert me["ok"] is True
    assert me["result"]["id"] == int(emulator.token.split(":")[0])


async def test_aiogram_sees_a_wrong_token_as_unauthorized(emulator: RunningEmulator) -> None:
    server = TelegramAPIServer.from_base(emulator.url)
    bot = Bot("123456:not-the-token", session=AiohttpSession(api=server))
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await bot.get_me()
    finally:
        await bot.session.close()
    assert [v.description for v in emulator.take_violations()] == ["Unauthorized"]


def group(emulator: RunningEmulator, bot_status: str | None) -> Chat:
    owner = emulator.people.user("Owner")
    return emulator.people.group("Backoffice", owner=owner, bot_status=bot_status)


async def calls_about(api: ApiCaller, chat_id: int, user_id: int) -> dict[str, dict[str, Any]]:
    return {
        "getChat": await api("getChat", chat_id=chat_id),
        "getChatMember": await api("getChatMember", chat_id=chat_id, user_id=user_id),
        "getChatAdministrators": await api("getChatAdministrators", chat_id=chat_id),
    }


async def test_a_chat_id_nobody_has_is_chat_not_found(
    emulator: RunningEmulator, api: ApiCaller
) -> None:
    answers = await calls_about(api, MISSING_CHAT, emulator.world.bot.id)
    answers["sendMessage"] = await api("sendMessage", chat_id=MISSING_CHAT, text="x")
    assert answers == dict.fromkeys(answers, CHAT_NOT_FOUND)
    # Telegram answers it to correct bots too (a chat id from settings may be wrong).
    assert emulator.take_violations() == []


async def test_a_group_the_bot_was_never_in_is_chat_not_found(
    emulator: RunningEmulator, api: ApiCaller
) -> None:
    chat = group(emulator, bot_status=None)
    answers = await calls_about(api, chat.id, emulator.world.bot.id)
    answers["sendMessage"] = await api("sendMessage", chat_id=chat.id, text="x")
    assert answers == dict.fromkeys(answers, CHAT_NOT_FOUND)
    assert emulator.take_violations() == []


@pytest.mark.parametrize("status", ["left", "kicked"])
async def test_a_group_the_bot_is_no_longer_in(
    emulator: RunningEmulator, api: ApiCaller, status: str
) -> None:
    chat = group(emulator, bot_status="administrator")
    emulator.world.set_member(chat, emulator.world.bot, status)
    answers = await calls_about(api, chat.id, emulator.world.bot.id)
    assert answers == dict.fromkeys(answers, CHAT_NOT_FOUND)
    sent = await api("sendMessage", chat_id=chat.id, text="x")
    assert sent == {
        "ok": False,
        "error_code": 403,
        "description": "Forbidden: bot is not a member of the supergroup chat",
    }
    assert emulator.take_violations() == []


async def test_a_group_the_bot_is_in_answers(emulator: RunningEmulator, api: ApiCaller) -> None:
    chat = group(emulator, bot_status="administrator")
    answers = await calls_about(api, chat.id, emulator.world.bot.id)
    assert answers["getChat"]["result"]["id"] == chat.id
    assert answers["getChatMember"]["result"]["status"] == "administrator"
    assert emulator.world.bot.id in [
        member["user"]["id"] for member in answers["getChatAdministrators"]["result"]
    ]


async def test_a_stopped_emulator_is_an_unreachable_telegram() -> None:
    """Tests make Telegram unreachable with a closed port: the address of a stopped emulator."""
    async with run_emulator() as running:
        url = running.api_url("getMe")
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(url)
