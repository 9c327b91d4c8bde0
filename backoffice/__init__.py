"""The agents' group: cards or forum topics, buttons, reply relay, notes, queue, digests."""

from __future__ import annotations

from aiogram import Dispatcher


def setup(dispatcher: Dispatcher) -> None:
    """Register the backoffice routers (group chat only) on the dispatcher."""
