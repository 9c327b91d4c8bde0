"""The retry middleware against the emulator's injected faults and flood limits."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field

import pytest
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from prometheus_client import REGISTRY

from tgemulator import RunningEmulator
from tgemulator.limits import FaultDecision, FaultInjector
from tgkit.retry import RetryMiddleware, RetryPolicy, at_most_once, creates

from .conftest import BotFactory

FAST = RetryPolicy(total=5.0, base=0.02, cap=0.1)


@dataclass
class ScriptedFaults(FaultInjector):
    """The emulator's fault injector, told exactly which calls fail and how."""

    script: list[FaultDecision] = field(default_factory=list)
    method: str = "sendMessage"

    def decide(self, method: str) -> FaultDecision:
        if method != self.method or not self.script:
            return FaultDecision("ok")
        decision = self.script.pop(0)
        self.log.append((method, decision.kind))
        return decision


def retries(reason: str) -> float:
    return REGISTRY.get_sample_value("ctv_tg_retries_total", {"reason": reason}) or 0.0


def sends(emulator: RunningEmulator) -> int:
    return sum(1 for call in emulator.world.calls if call.method == "sendMessage")


async def started_user(emulator: RunningEmulator, name: str = "Ann") -> int:
    person = emulator.people.user(name)
    await emulator.people.send(person, "hi")  # so that the bot may write to them
    return person.id


def test_creating_methods() -> None:
    assert creates("sendMessage") and creates("sendMediaGroup") and creates("copyMessages")
    assert creates("createForumTopic")
    assert not creates("sendChatAction")
    assert not creates("editMessageText") and not creates("deleteMessage")


async def test_502_page_drop_and_500_are_retried_until_the_message_goes(
    emulator: RunningEmulator, make_bot: BotFactory
) -> None:
    chat = await started_user(emulator)
    emulator.world.faults = ScriptedFaults(
        script=[FaultDecision("error502"), FaultDecision("drop"), FaultDecision("error500")]
    )
    before = {r: retries(r) for r in ("decode", "network", "5xx")}
    bot = make_bot(RetryMiddleware(FAST))
    message = await bot.send_message(chat, "hello")
    assert message.text == "hello"
    # Three failed attempts reached the emulator before the fourth went through; the
    # failures struck before the call took effect, so the customer sees one message.
    assert [kind for _, kind in emulator.world.faults.log] == ["error502", "drop", "error500"]
    assert [m.text for m in emulator.people.bot_messages(chat)] == ["hello"]
    assert {r: retries(r) - before[r] for r in before} == {"decode": 1, "network": 1, "5xx": 1}


async def test_429_waits_retry_after_and_then_goes(
    emulator: RunningEmulator, make_bot: BotFactory
) -> None:
    chat = await started_user(emulator)
    emulator.world.limits.enabled = True
    before = retries("429")
    bot = make_bot(RetryMiddleware(FAST))
    started = time.monotonic()
    for i in range(4):  # the emulator's burst is 3: the fourth is refused once
        await bot.send_message(chat, f"m{i}")
    assert time.monotonic() - started >= 1.0  # retry_after was 1
    assert [hit[2] for hit in emulator.world.limiter.hits] == [1]
    assert retries("429") - before == 1
    assert [m.text for m in emulator.people.bot_messages(chat)] == ["m0", "m1", "m2", "m3"]


async def test_400_is_not_retried(emulator: RunningEmulator, make_bot: BotFactory) -> None:
    bot = make_bot(RetryMiddleware(FAST))
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(123456, "nobody is here")
    assert sends(emulator) == 1


async def test_gives_up_within_the_total_time(
    emulator: RunningEmulator, make_bot: BotFactory
) -> None:
    chat = await started_user(emulator)
    emulator.world.faults = ScriptedFaults(script=[FaultDecision("error500")] * 1000)
    bot = make_bot(RetryMiddleware(RetryPolicy(total=1.0, base=0.05, cap=0.2)))
    started = time.monotonic()
    with pytest.raises(TelegramServerError):
        await bot.send_message(chat, "never")
    elapsed = time.monotonic() - started
    assert 0.5 < elapsed < 1.5
    assert sends(emulator) == 0  # every attempt failed before the emulator executed it
    assert len(emulator.world.faults.log) > 3


async def test_a_429_longer_than_the_budget_is_raised_at_once(
    emulator: RunningEmulator, make_bot: BotFactory
) -> None:
    chat = await started_user(emulator)
    emulator.world.limits.enabled = True
    emulator.world.limits.per_chat_per_second = 0.1  # the next token in 10 s
    bot = make_bot(RetryMiddleware(RetryPolicy(total=2.0)))
    for i in range(3):
        await bot.send_message(chat, f"m{i}")
    started = time.monotonic()
    with pytest.raises(TelegramRetryAfter) as refused:
        await bot.send_message(chat, "too soon")
    assert refused.value.retry_after == 10
    assert time.monotonic() - started < 0.5


async def test_a_lost_answer_shows_the_message_twice_unless_at_most_once(
    emulator: RunningEmulator, make_bot: BotFactory
) -> None:
    chat = await started_user(emulator)
    bot = make_bot(RetryMiddleware(FAST))
    # The emulator sends the message, then drops the connection: the bot cannot know.
    emulator.world.faults = ScriptedFaults(script=[FaultDecision("drop", after_effect=True)])
    await bot.send_message(chat, "answer")
    assert [m.text for m in emulator.people.bot_messages(chat)] == ["answer", "answer"]

    emulator.world.faults = ScriptedFaults(script=[FaultDecision("error502", after_effect=True)])
    with at_most_once(), pytest.raises(ClientDecodeError):
        await bot.send_message(chat, "recorded")
    assert [m.text for m in emulator.people.bot_messages(chat)][2:] == ["recorded"]

    # Edits are repeated even there: doing one twice changes nothing.
    emulator.world.faults = ScriptedFaults(
        script=[FaultDecision("error500")], method="editMessageText"
    )
    last = emulator.people.bot_messages(chat)[-1]
    with at_most_once():
        await bot.edit_message_text("edited", chat_id=chat, message_id=last.message_id)
    assert emulator.people.bot_messages(chat)[-1].text == "edited"


async def test_a_refused_connection_is_retried_even_at_most_once(
    emulator: RunningEmulator, make_bot: BotFactory
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    before = retries("connect")
    bot = make_bot(
        RetryMiddleware(RetryPolicy(total=0.5, base=0.05, cap=0.1)), url=f"http://127.0.0.1:{port}"
    )
    with at_most_once(), pytest.raises(TelegramNetworkError):
        await bot.send_message(1, "nowhere")
    assert retries("connect") - before >= 2


async def test_a_button_answered_too_late_is_not_a_failure(
    emulator: RunningEmulator, make_bot: BotFactory
) -> None:
    people = emulator.people
    ann = people.user("Ann")
    await people.command(ann, "start")  # a person who never wrote cannot be written to
    bare = make_bot()
    shown = await bare.send_message(
        ann.id,
        "Pick",
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Go", callback_data="go")]]
        ),
    )
    stored = emulator.world.find_message(ann.id, shown.message_id)
    press = await people.press(ann, stored, text="Go")
    emulator.world.clock.advance(emulator.world.CALLBACK_ANSWER_WINDOW + 1)
    with pytest.raises(TelegramBadRequest):  # bare, Telegram refuses the late answer
        await bare.answer_callback_query(press.id)
    guarded = make_bot(RetryMiddleware(FAST))
    assert await guarded.answer_callback_query(press.id) is True
