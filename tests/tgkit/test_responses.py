"""aiogram's parsed answer types are built once, not once per Bot API call."""

from __future__ import annotations

import gc
import inspect
import weakref

from aiogram import methods
from aiogram.methods import Response, TelegramMethod

from tgkit.responses import keep_response_types


def test_response_types_survive_garbage_collection() -> None:
    assert keep_response_types() > 100  # every Bot API method
    # Held only weakly here: pydantic's cache of parametrised models is weak, so
    # without the module's own references most of these would be collected and
    # aiogram would build them again for the next answer.
    kinds = [
        cls
        for _, cls in inspect.getmembers(methods, inspect.isclass)
        if issubclass(cls, TelegramMethod) and cls is not TelegramMethod
    ]
    built = [weakref.ref(Response[cls.__returning__]) for cls in kinds]  # type: ignore[name-defined]
    gc.collect()
    assert [ref for ref in built if ref() is None] == []
