from tests.emulator.pytest_fixtures import emulator
from tests.harness import harness

__all__ = ["emulator", "harness"]
