"""Every callback_data the bot builds fits Telegram's 64 bytes, with the largest realistic values.

Each keyboard of the customer's chat and of the backoffice is built for the
longest ids the database can hold (64-bit keys, request numbers, offsets) in
every status, and every button of it is measured: a keyboard Telegram refuses
would be a request nobody can act on.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Iterator
from datetime import UTC

import pytest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from backoffice import callbacks as backoffice_callbacks
from backoffice import cards
from desk.model import NUMBER_MAX, Status
from handlers import keyboards
from locales import LOCALES, Texts
from storage.models import Agent
from tests.backoffice.test_cards import NOW, make_ticket
from tgkit import callbacks as bot_callbacks
from tgkit.menu import main_menu

LIMIT = 64
BIGGEST = NUMBER_MAX  # request numbers and ids from buttons never exceed it
LONGEST_INT = -(2**63)  # the longest integer text of a signed 64-bit value
TEXTS = Texts("ru")


def classes() -> list[type[CallbackData]]:
    found = []
    for module in (bot_callbacks, backoffice_callbacks):
        found += [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, CallbackData)
            and value is not CallbackData
        ]
    return found


def _longest(field_type: object) -> object:
    if typing.get_origin(field_type) is typing.Annotated:
        # tgkit.callbacks.Id: 0..NUMBER_MAX, whose longest value is the largest.
        assert typing.get_args(field_type)[0] is int, field_type
        return NUMBER_MAX
    if isinstance(field_type, type) and issubclass(field_type, enum.Enum):
        return max(field_type, key=lambda member: len(str(member.value)))
    if field_type is int:
        return LONGEST_INT
    if field_type is str:
        return max(LOCALES, key=len)  # the only str field: a locale of the bot
    raise AssertionError(f"no longest value for {field_type!r}")


@pytest.mark.parametrize("cls", classes(), ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_each_kind_packs_within_64_bytes(cls: type[CallbackData]) -> None:
    hints = typing.get_type_hints(cls, include_extras=True)
    values = {name: _longest(hints[name]) for name in cls.model_fields}
    packed = cls(**values).pack()
    assert len(packed.encode()) <= LIMIT, packed
    assert cls.unpack(packed) == cls(**values)


def _data(markup: InlineKeyboardMarkup | None) -> Iterator[str]:
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            if button.callback_data is not None:
                yield button.callback_data


def built_keyboards() -> Iterator[tuple[str, InlineKeyboardMarkup | None]]:
    n = BIGGEST
    yield "main_menu", main_menu(TEXTS)
    yield "resolution", keyboards.resolution(TEXTS, n)
    yield "rating", keyboards.rating(TEXTS, n)
    yield "view", keyboards.view(TEXTS, n)
    yield "reopen_or_new", keyboards.reopen_or_new(TEXTS, n)
    yield "confirm_withdraw", keyboards.confirm_withdraw(TEXTS, n)
    for status in Status:
        ticket = make_ticket(
            id=n, number=n, status=status.value, assignee_id=None, customer_id=n, rating=None
        )
        yield f"ticket_actions[{status}]", keyboards.ticket_actions(TEXTS, ticket)
        yield f"card[{status}]", cards.card_keyboard(ticket, TEXTS)
        yield f"priority[{status}]", cards.priority_keyboard(ticket, TEXTS)
        yield f"close[{status}]", cards.close_keyboard(ticket, TEXTS)
        agents = [Agent(id=n - i, name="Агент", telegram_user_id=n) for i in range(3)]
        yield f"agents[{status}]", cards.agents_keyboard(ticket, agents, TEXTS)
    big = [make_ticket(id=n, number=n, updated_at=NOW)]
    yield (
        "ticket_list",
        keyboards.ticket_list(TEXTS, big, offset=n - 10, has_more=True, page=10, tz=UTC),
    )
    yield "choose_ticket", keyboards.choose_ticket(TEXTS, big)
    yield "split", cards.split_keyboard(n, TEXTS)
    for scope in backoffice_callbacks.QueueScope:
        yield f"queue[{scope}]", cards.queue_keyboard(scope, n - 20, True, TEXTS)
    language = InlineKeyboardMarkup(inline_keyboard=[])
    for locale in LOCALES:
        language.inline_keyboard.append([])
        language.inline_keyboard[-1].append(
            InlineKeyboardBuilder()
            .button(text=locale, callback_data=bot_callbacks.LanguageCallback(locale=locale))
            .as_markup()
            .inline_keyboard[0][0]
        )
    yield "language", language


KEYBOARDS = list(built_keyboards())


@pytest.mark.parametrize(("name", "markup"), KEYBOARDS, ids=[name for name, _ in KEYBOARDS])
def test_every_built_button_fits(name: str, markup: InlineKeyboardMarkup | None) -> None:
    data = list(_data(markup))
    assert data or name.startswith(("ticket_actions", "card[")), name
    for packed in data:
        assert len(packed.encode()) <= LIMIT, (name, packed)
