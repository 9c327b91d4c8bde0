"""The customers' callback data: within Telegram's 64 bytes, and old buttons still understood."""

from __future__ import annotations

import pytest
from aiogram.filters.callback_data import CallbackData

from desk.model import NUMBER_MAX
from tgkit.callbacks import (
    LanguageCallback,
    LegacyTicketCallback,
    MenuAction,
    MenuCallback,
    MyPageCallback,
    RatingCallback,
    TicketAction,
    TicketCallback,
)

BIGGEST = NUMBER_MAX  # request numbers and offsets from buttons never exceed it


@pytest.mark.parametrize(
    "data",
    [
        *(MenuCallback(action=a) for a in MenuAction),
        *(TicketCallback(action=a, number=BIGGEST) for a in TicketAction),
        RatingCallback(number=BIGGEST, stars=5),
        MyPageCallback(offset=BIGGEST),
        LanguageCallback(locale="en"),
    ],
)
def test_callback_data_fits_telegrams_limit(data: CallbackData) -> None:
    packed = data.pack()
    assert len(packed.encode()) <= 64, packed


@pytest.mark.parametrize(
    ("old", "today"),
    [
        ("t:r:1042:4", RatingCallback(number=1042, stars=4)),
        ("t:v:1042:0", TicketCallback(action=TicketAction.VIEW, number=1042)),
        ("t:ok:1042:0", TicketCallback(action=TicketAction.CONFIRM, number=1042)),
        ("t:no:1042:0", TicketCallback(action=TicketAction.DISAGREE, number=1042)),
        ("t:no:1042:1", TicketCallback(action=TicketAction.REOPEN_WITH_PENDING, number=1042)),
        ("t:wd:1042:0", TicketCallback(action=TicketAction.WITHDRAW, number=1042)),
        ("t:wd:1042:1", TicketCallback(action=TicketAction.WITHDRAW_CONFIRMED, number=1042)),
        ("t:add:1042:0", TicketCallback(action=TicketAction.ADD_INFO, number=1042)),
        ("t:add:1042:1", TicketCallback(action=TicketAction.ADD_PENDING, number=1042)),
        ("t:zz:1042:0", None),
    ],
)
def test_buttons_sent_before_the_split_read_as_todays(
    old: str, today: TicketCallback | RatingCallback | None
) -> None:
    assert LegacyTicketCallback.unpack(old).modern() == today
