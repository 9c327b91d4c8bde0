from tests.harness import harness
from tgemulator.pytest_plugin import emulator

__all__ = ["emulator", "harness"]
