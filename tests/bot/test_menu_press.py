"""The greeting's "New request" opens the intake below it and leaves the greeting's menu alone."""

from __future__ import annotations

from locales import Texts
from tests.harness import Harness

RU = Texts("ru")
NEW = RU("start.new_request")
MY = RU("start.my_requests")
INCIDENT = RU("intake.buttons.incident")


def calls_since(harness: Harness, first: int) -> list[str]:
    return [call.method for call in harness.world.calls[first:] if call.method != "getUpdates"]


async def test_the_greeting_keeps_its_menu_and_the_press_costs_two_calls(
    harness: Harness,
) -> None:
    people = harness.people
    person = people.user("Анна", language_code="ru")
    await people.command(person, "start")
    greeting = await people.wait_for_message(person, lambda m: bool(m.buttons))
    first = len(harness.world.calls)
    press = await people.press(person, greeting, text=NEW)
    window = await people.wait_for_message(
        person, lambda m: INCIDENT in [b["text"] for b in m.buttons], after=greeting
    )
    await press.answer()
    assert sorted(calls_since(harness, first)) == ["answerCallbackQuery", "sendMessage"]
    kept = harness.world.find_message(greeting.chat_id, greeting.message_id)
    assert kept is not None and [b["text"] for b in kept.buttons] == [NEW, MY]

    # Pressed again with the draft open: the draft is shown anew, and only the
    # newest window of it keeps live buttons.
    first = len(harness.world.calls)
    press = await people.press(person, greeting, text=NEW)
    again = await people.wait_for_message(
        person, lambda m: INCIDENT in [b["text"] for b in m.buttons], after=window
    )
    await press.answer()
    assert sorted(calls_since(harness, first)) == [
        "answerCallbackQuery",
        "editMessageReplyMarkup",
        "sendMessage",
    ]
    old = harness.world.find_message(window.chat_id, window.message_id)
    assert old is not None and old.buttons == []
    assert again.message_id > window.message_id
    kept = harness.world.find_message(greeting.chat_id, greeting.message_id)
    assert kept is not None and [b["text"] for b in kept.buttons] == [NEW, MY]
