"""An in-process Telegram Bot API emulator for tests (see README in the package docstring).

Start it with `EmulatorServer(...).start()` or the `emulator` pytest fixture
(tests/emulator/pytest_fixtures.py); act as people with `People`.
"""

from .client import CallbackPress, People, button_texts, command_entities, make_image
from .limits import Clock, FaultPlan, RateLimits
from .schema import SchemaMissingError, load_schema
from .server import EmulatorServer
from .state import (
    ApiError,
    Chat,
    StoredMessage,
    Topic,
    User,
    Violation,
    World,
)

__all__ = [
    "ApiError",
    "CallbackPress",
    "Chat",
    "Clock",
    "EmulatorServer",
    "FaultPlan",
    "People",
    "RateLimits",
    "SchemaMissingError",
    "StoredMessage",
    "Topic",
    "User",
    "Violation",
    "World",
    "button_texts",
    "command_entities",
    "load_schema",
    "make_image",
]
