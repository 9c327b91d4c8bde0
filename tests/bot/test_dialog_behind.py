"""A step sent but not saved (Redis went away between the two): the customer's press on
the newest window still gets a visible answer."""

from __future__ import annotations

import asyncio
import copy

from aiogram.fsm.storage.memory import MemoryStorage

from locales import Texts
from tests.harness import Harness
from tgemulator import StoredMessage

RU = Texts("ru")


def shows(text: str):  # type: ignore[no-untyped-def]
    return lambda message: text in (message.text or "")


async def saved_with(storage: MemoryStorage, window: StoredMessage) -> None:
    """Until the dialog's stack is saved with ``window`` as its message (the update that
    sent it is over)."""
    for _ in range(100):
        stacks = [
            record.data
            for key, record in storage.storage.items()
            if key.destiny.startswith("aiogd:stack:")
        ]
        if any(data.get("last_message_id") == window.message_id for data in stacks):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the dialog never saved message {window.message_id} as its window")


async def test_a_press_on_a_window_ahead_of_the_saved_dialog_shows_its_step_anew(
    harness: Harness,
) -> None:
    people = harness.people
    person = people.user("Анна", language_code="ru")
    storage = harness.dispatcher.storage
    assert isinstance(storage, MemoryStorage)
    await people.command(person, "new")
    window = await people.wait_for_message(person, lambda message: bool(message.buttons))
    await people.press(person, window, text=RU("intake.buttons.incident"))
    await people.wait_for_message(person, shows("Шаг 2 из 5"))
    await people.send(person, "Не приходят SMS")
    description = await people.wait_for_message(person, shows("Шаг 3 из 5"), after=window)
    await saved_with(storage, description)
    saved = copy.deepcopy(storage.storage)  # the dialog as saved at the description step
    await people.send(person, "Коды подтверждения не приходят с утра, пробовали два номера.")
    ahead: StoredMessage = await people.wait_for_message(
        person, shows("Шаг 4 из 5"), after=description
    )
    await saved_with(storage, ahead)
    storage.storage.clear()
    storage.storage.update(saved)  # the screenshots step was sent, its save lost
    before = len(people.bot_messages(person))
    await people.press(person, ahead, text=RU("intake.buttons.skip"))
    # Anew, below the window pressed: not an edit of the description window up the chat.
    shown = await people.wait_for_message(person, shows("Шаг 3 из 5"), after=ahead)
    assert len(people.bot_messages(person)) == before + 1
    await people.send(person, "Коды подтверждения не приходят с утра, пробовали два номера.")
    await people.wait_for_message(person, shows("Шаг 4 из 5"), after=shown)  # and on from there
