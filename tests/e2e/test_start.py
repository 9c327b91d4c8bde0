"""A person opens the bot: /start is answered with a keyboard, in both delivery modes."""

from __future__ import annotations

from .conftest import DeskProcess


async def test_start_shows_an_inline_keyboard(desk_process: DeskProcess) -> None:
    people = desk_process.people
    ann = people.user("Ann", username="ann_test", language_code="ru")

    await people.command(ann, "start")
    answer = await people.wait_for_message(ann, lambda m: bool(m.buttons), timeout=15)

    assert answer.text
    assert len(answer.buttons) >= 2
    # The emulator fixture also fails the test at teardown on any violation.
    assert [str(v) for v in desk_process.world.violations] == []
