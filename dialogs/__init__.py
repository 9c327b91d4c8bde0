"""Customer dialogs built with aiogram-dialog (intake, reopen with a reason, rating)."""

from __future__ import annotations

from aiogram import Dispatcher


def setup(dispatcher: Dispatcher) -> None:
    """Register the dialogs and aiogram-dialog's machinery on the dispatcher."""
