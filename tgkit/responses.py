"""Keep aiogram's parametrised ``Response[...]`` models alive for the process's life.

aiogram builds ``Response[method.__returning__]`` to parse every Bot API answer.
pydantic caches parametrised generic models in a weak dictionary, so between
two calls the class is often collected and built again: a new pydantic model
class per answer, about 5 % of the desk's time in a burst (py-spy). Building each
one once and holding it keeps the cache warm.
"""

from __future__ import annotations

import inspect

from aiogram import methods
from aiogram.methods import Response, TelegramMethod

_KEPT: list[object] = []


def keep_response_types() -> int:
    """Build and hold ``Response[T]`` for every Bot API method; returns how many."""
    if _KEPT:
        return len(_KEPT)
    for _, cls in inspect.getmembers(methods, inspect.isclass):
        if issubclass(cls, TelegramMethod) and cls is not TelegramMethod:
            returning = getattr(cls, "__returning__", None)
            if returning is not None:
                _KEPT.append(Response[returning])  # type: ignore[valid-type]
    return len(_KEPT)
