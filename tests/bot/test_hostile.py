"""Input nobody should send, sent anyway: every update answered or deliberately ignored.

Against the real dispatcher and the emulator (issue 13): kinds of messages the desk
does not take, commands it does not know, forged button data, numbers from other
scripts or beyond any column's range.
"""

from __future__ import annotations

import logging

import pytest
from aiogram_dialog.utils import encode_reply_callback

from tests.harness import Harness
from tgemulator import StoredMessage, User
from tgemulator.hostile import OTHER_CONTENT
from tgkit.callbacks import MenuAction, MenuCallback


def contains(fragment: str):  # type: ignore[no-untyped-def]
    return lambda m: fragment in (m.text or "")


async def greeted(
    h: Harness, name: str = "Анна", language: str = "ru"
) -> tuple[User, StoredMessage]:
    person = h.people.user(name, language_code=language)
    await h.people.command(person, "start")
    menu = await h.people.wait_for_message(person, lambda m: bool(m.buttons), timeout=10)
    return person, menu


# The same kinds the fuzzing draws from.
OTHER_KINDS = OTHER_CONTENT


@pytest.mark.parametrize("content", OTHER_KINDS, ids=lambda c: next(iter(c)))
async def test_a_kind_the_desk_does_not_take_is_answered(
    harness: Harness, content: dict[str, object]
) -> None:
    person, menu = await greeted(harness)
    await harness.people.send_content(person, content)
    answer = await harness.people.wait_for_message(
        person, contains("Я принимаю текст, фотографии и файлы"), after=menu
    )
    assert "/new" in (answer.text or "")


async def test_an_unknown_command_is_answered_in_the_persons_language(harness: Harness) -> None:
    person, menu = await greeted(harness, "Ann", "en")
    await harness.people.command(person, "frobnicate")
    await harness.people.wait_for_message(person, contains("There is no such command"), after=menu)
    # An agents' command from a customer is just as unknown here.
    await harness.people.command(person, "queue")
    shown = [m.text or "" for m in harness.people.bot_messages(person)]
    await harness.people.wait_for(
        lambda: (
            sum(
                "There is no such command" in t
                for t in [m.text or "" for m in harness.people.bot_messages(person)]
            )
            == 2
        ),
        what="a second answer",
    )
    assert not any("Очередь" in t or "queue" in t.lower() for t in shown)


async def test_an_agents_command_in_a_private_chat_points_to_the_group(harness: Harness) -> None:
    kate = harness.agent_user
    await harness.people.command(kate, "start")
    first = await harness.people.wait_for_message(kate, lambda m: True, timeout=10)
    await harness.people.command(kate, "queue")
    await harness.people.wait_for_message(
        kate, contains("Эта команда работает в группе поддержки"), after=first
    )


FORGED = [
    "x",
    "lang:de",
    "x" * 64,
    "bo:tk:1001",  # the agents' card button, pressed in a private chat
    "bo:zz:1",
    "bs:abc",
    "tk:v:99999999999999999999",
    "tk:zz:5",
    "tr:1001:99999999999999999999",
    "mp:99999999999999999999",
    "t:v:²",
]


@pytest.mark.parametrize("data", FORGED)
async def test_every_forged_press_in_a_private_chat_is_answered(
    harness: Harness, data: str
) -> None:
    person, menu = await greeted(harness)
    press = await harness.people.press_forged(person, menu, data)
    answer = await press.answer(timeout=5)
    assert answer.get("text") in (None, "Эта кнопка больше не действует.")


@pytest.mark.parametrize(
    "data", ["x", "tk:v:1001", "bo:tk:99999999999999999999", "bo:zz:1", "bs:abc", "ba:1:x"]
)
async def test_every_forged_press_in_the_group_is_answered(harness: Harness, data: str) -> None:
    await harness.people.send(harness.agent_user, "Всем привет", chat=harness.backoffice)
    # A message of the bot's in the group to press on: the answer to /queue.
    await harness.people.command(harness.agent_user, "queue", chat=harness.backoffice)
    queue = await harness.people.wait_for_message(harness.backoffice, lambda m: True, timeout=10)
    press = await harness.people.press_forged(harness.agent_user, queue, data)
    await press.answer(timeout=5)


@pytest.mark.parametrize(
    "args", ["t_99999999999999999999", "t_²", "t_١٢٣", "t_", "t_-5", "t_" + "9" * 200]
)
async def test_a_deep_link_with_a_number_nobody_has_says_not_found(
    harness: Harness, args: str
) -> None:
    person = harness.people.user("Анна", language_code="ru")
    await harness.people.command(person, "start", args)
    await harness.people.wait_for_message(person, contains("не найдена"), timeout=10)
    await harness.people.wait_for_message(person, lambda m: bool(m.buttons), timeout=10)


@pytest.mark.parametrize("args", ["99999999999999999999", "²", "CTV-٣", "CTV-0"])
async def test_ticket_and_find_with_numbers_nobody_has(harness: Harness, args: str) -> None:
    group = harness.backoffice
    await harness.people.command(harness.agent_user, "ticket", args, chat=group)
    first = await harness.people.wait_for_message(group, lambda m: True, timeout=10)
    await harness.people.command(harness.agent_user, "find", args, chat=group)
    await harness.people.wait_for_message(group, lambda m: True, after=first, timeout=10)
    problems = [m.text or "" for m in harness.people.bot_messages(group)]
    assert not any("пошло не так" in t for t in problems), problems


async def test_an_agents_sticker_reply_to_a_card_is_refused_to_the_agent(
    harness: Harness,
) -> None:
    from tests.bot.test_customer import file_request, start

    _, actor = await start(harness)
    number = await file_request(harness, actor)
    card = await harness.people.wait_for_message(
        harness.backoffice, lambda m: f"CTV-{number}" in (m.text or "") and bool(m.buttons)
    )
    await harness.people.send_content(
        harness.agent_user, OTHER_KINDS[0], chat=harness.backoffice, reply_to=card
    )
    await harness.people.wait_for_message(
        harness.backoffice, contains("Это не дойдёт до клиента"), after=card
    )


async def test_a_second_press_on_a_spent_message_is_still_answered(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    person, menu = await greeted(harness)
    await harness.people.command(person, "lang")
    choice = await harness.people.wait_for_message(person, lambda m: bool(m.buttons), after=menu)
    data = next(b["callback_data"] for b in choice.buttons if b["callback_data"] == "lang:ru")
    first = await harness.people.press(person, choice, data=data)
    await first.answer()
    # The same press again (a double tap, or an old client): the text is already there.
    second = await harness.people.press_forged(person, choice, data)
    await second.answer()
    flow = harness.dispatcher.flow  # type: ignore[attr-defined]
    await harness.people.wait_for(lambda: flow.active == 0, what="the press handled")
    assert not [r for r in caplog.records if "failed" in r.getMessage()]


def _typed_press(text: str, data: str) -> str:
    """What aiogram-dialog reads as a press of a reply keyboard's button ``data``."""
    return text + encode_reply_callback(data)


@pytest.mark.parametrize(
    "ending",
    [
        encode_reply_callback(MenuCallback(action=MenuAction.NEW).pack()),
        encode_reply_callback("bo:tk:1001"),
        "\u200d",  # one character: no whole byte
        "\u200c\u2060\u200d\u200d",  # bytes that are no UTF-8
    ],
    ids=["menu press", "card press", "odd", "not utf-8"],
)
async def test_a_text_ending_in_aiogram_dialogs_button_code_is_a_message(
    harness: Harness, ending: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The desk shows no reply keyboards: a text is never a press (dialogs/typed.py)."""
    caplog.set_level(logging.ERROR)
    person, menu = await greeted(harness)
    await harness.people.send(person, "Помогите" + ending)
    stranger = harness.people.user("Чужой", language_code="ru")
    await harness.people.join(harness.backoffice, stranger)
    await harness.people.send(stranger, "Привет" + ending, chat=harness.backoffice)
    answer = await harness.people.wait_for_message(person, lambda m: True, after=menu, timeout=10)
    assert "Что-то пошло не так" not in (answer.text or "")
    await harness.people.command(person, "help")
    await harness.people.wait_for_message(person, lambda m: True, after=answer, timeout=10)
    assert not [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    # No press of "New request" was made of the text: no intake window opened.
    assert not any("Шаг" in (m.text or "") for m in harness.people.bot_messages(person))
