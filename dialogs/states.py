"""The states of every customer dialog, one StatesGroup per dialog."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class IntakeSG(StatesGroup):
    kind = State()
    topic = State()
    description = State()
    screenshots = State()
    details = State()
    summary = State()
    cancel = State()  # "delete the draft?" — a draft is not thrown away by one tap
    sent = State()  # the last look of the summary message; the dialog is already closed
    cancelled = State()
