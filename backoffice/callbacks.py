"""Every CallbackData of the agents' group, in one place.

The button says what the agent wants; the desk decides whether it may happen
(the handler re-reads the request). Telegram limits callback data to 64 bytes;
``tests/bot/test_callback_sizes.py`` packs the longest value of each class to keep it so.
"""

from __future__ import annotations

import enum

from aiogram.filters.callback_data import CallbackData

from desk.model import CloseReason, Priority
from tgkit.callbacks import Id


class CardAction(enum.StrEnum):
    """A button on a request's card."""

    TAKE = "tk"
    ASSIGN = "as"  # opens the agent picker
    PRIORITY = "pr"  # opens the priority picker
    ASK = "ask"  # asks for the question, then waits for the customer (R5)
    RESOLVE = "rs"  # asks for the answer when the desk needs one (R6)
    CLOSE = "cl"  # opens the close-reason picker
    REOPEN = "ro"  # asks for the reason
    BACK = "bk"  # leaves a picker: the card's own buttons again


class CardCallback(CallbackData, prefix="bo"):
    action: CardAction
    number: Id


class AssignCallback(CallbackData, prefix="ba"):
    number: Id
    agent_id: Id


class PriorityCallback(CallbackData, prefix="bp"):
    number: Id
    priority: Priority


class CloseCallback(CallbackData, prefix="bc"):
    number: Id
    reason: CloseReason


class SplitCallback(CallbackData, prefix="bs"):
    """R3: a relayed customer message becomes a request of its own."""

    message_id: Id  # the desk's stored message, not Telegram's


class QueueScope(enum.StrEnum):
    ALL = "a"
    MINE = "m"


class QueueCallback(CallbackData, prefix="bq"):
    scope: QueueScope
    offset: Id
