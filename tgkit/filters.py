"""Filters that run in the event loop.

aiogram runs a filter that is neither a coroutine function nor a ``Filter``
(a plain ``F`` magic filter, a ``State`` given as a filter) through
``asyncio.to_thread``: a trip to a worker thread and back for every check of
every update, 2–3 per private update, about a tenth of the desk's time in a
burst (py-spy, bench.intake). Such a check is a few attribute reads; wrapped
here it runs in place. ``tests/bot/test_filters.py`` keeps every router of the
bot free of thread-bound filters.
"""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import TelegramObject
from magic_filter import MagicFilter


class Inline(Filter):
    """``Inline(F.chat.type == "private")``: the same check, in the event loop."""

    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: TelegramObject) -> Any:
        # What aiogram does with a bare magic filter (FilterObject), minus the thread.
        return self.magic.resolve(event)

    def __str__(self) -> str:
        return f"Inline({self.magic!r})"
