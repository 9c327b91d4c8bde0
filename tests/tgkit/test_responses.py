"""aiogram's parsed answer types are built once, not once per Bot API call."""

from __future__ import annotations

import gc
import weakref

from aiogram.methods import Response, SendMessage

from tgkit.responses import keep_response_types


def test_response_types_survive_garbage_collection() -> None:
    assert keep_response_types() > 100  # every Bot API method
    # Held only weakly here: without the module's own reference pydantic's weak cache
    # would let the class go, and aiogram would build it again for the next answer.
    built = weakref.ref(Response[SendMessage.__returning__])  # type: ignore[name-defined]
    gc.collect()
    assert built() is not None
