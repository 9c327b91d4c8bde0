"""The invisible ending aiogram-dialog reads as a press is dropped, entities cut to fit."""

from __future__ import annotations

import datetime

from aiogram.types import Chat, Message, MessageEntity

from dialogs.typed import without_code


def message(text: str, entities: list[MessageEntity] | None = None) -> Message:
    return Message(
        message_id=1,
        date=datetime.datetime(2026, 12, 7, tzinfo=datetime.UTC),
        chat=Chat(id=1, type="private"),
        text=text,
        entities=entities,
    )


def test_the_ending_goes_and_the_entities_are_cut_to_the_text() -> None:
    bold = MessageEntity(type="bold", offset=0, length=5)  # "🙂ab" is 4 UTF-16 units
    hidden = MessageEntity(type="italic", offset=4, length=1)
    cleaned = without_code(message("🙂ab\u200c\u200d\u2060", [bold, hidden]))
    assert cleaned.text == "🙂ab"
    assert cleaned.entities == [MessageEntity(type="bold", offset=0, length=4)]


def test_a_text_of_nothing_else_is_no_text() -> None:
    cleaned = without_code(message("\u200d\u200c"))
    assert cleaned.text is None and cleaned.entities is None
    assert cleaned.message_id == 1
