"""aiogram's parsed answer types are built once, not once per Bot API call."""

from __future__ import annotations

import gc

from aiogram.methods import Response, SendMessage

from tgkit.responses import keep_response_types


def test_response_types_survive_garbage_collection() -> None:
    assert keep_response_types() > 100  # every Bot API method
    first = id(Response[SendMessage.__returning__])  # type: ignore[name-defined]
    gc.collect()
    assert id(Response[SendMessage.__returning__]) == first  # type: ignore[name-defined]
