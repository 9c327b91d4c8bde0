"""An in-process Telegram Bot API emulator for tests.

Start it with `run_emulator()` / `EmulatorServer(...).start()`, the `emulator` pytest
fixture (tgemulator/pytest_plugin.py) or alone with `python -m tgemulator`; act as people
with `People`. Every call is checked against the Bot API schema in tgemulator/schema/.
"""

from .client import CallbackPress, People, button_texts, command_entities, make_image
from .limits import Clock, FaultPlan, RateLimits
from .running import RunningEmulator, run_emulator
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
    "RunningEmulator",
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
    "run_emulator",
]
