"""An update that fails before its person's language is looked up still gets their language."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Dispatcher
from aiogram.types import TelegramObject

from locales import Texts
from tgemulator import RunningEmulator
from tgkit import errors

from .conftest import BotFactory


async def redis_is_down(_handler: Any, _event: TelegramObject, _data: dict[str, Any]) -> Any:
    raise ConnectionError("Redis went away")  # before any inner middleware ran


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_an_early_failure_is_answered_in_the_persons_language(
    emulator: RunningEmulator, make_bot: BotFactory, language: str
) -> None:
    bot = make_bot()
    dispatcher = Dispatcher()
    dispatcher.update.outer_middleware(redis_is_down)
    dispatcher.include_router(errors.router())
    person = emulator.people.user("Ann", language_code=language)
    await emulator.people.send(person, "hello")
    for update in await bot.get_updates():
        await dispatcher.feed_update(bot, update)
    [answer] = emulator.people.bot_messages(person)
    assert answer.text == Texts(language)("errors.generic")


async def dialog_error_middleware(
    _handler: Any, _event: TelegramObject, data: dict[str, Any]
) -> Any:
    # What aiogram-dialog's error middleware does when its storage is away.
    raise KeyError("aiogd_context")


async def test_an_error_whose_answer_fails_still_gets_the_apology(
    emulator: RunningEmulator, make_bot: BotFactory
) -> None:
    bot = make_bot()
    dispatcher = Dispatcher()
    dispatcher.update.outer_middleware(redis_is_down)
    dispatcher.errors.outer_middleware(errors.LastResort())
    dispatcher.errors.middleware(dialog_error_middleware)
    dispatcher.include_router(errors.router())
    person = emulator.people.user("Ann", language_code="en")
    await emulator.people.send(person, "hello")
    for update in await bot.get_updates():
        await dispatcher.feed_update(bot, update)
    [answer] = emulator.people.bot_messages(person)
    assert answer.text == Texts("en")("errors.generic")
