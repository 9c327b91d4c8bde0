"""pytest fixtures: import them into a conftest (`from tests.emulator.pytest_fixtures import *`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio

from .client import People
from .server import EmulatorServer
from .state import Violation, World


@dataclass
class RunningEmulator:
    server: EmulatorServer
    violations_allowed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def world(self) -> World:
        return self.server.world

    @property
    def people(self) -> People:
        return self.server.people

    @property
    def token(self) -> str:
        return self.world.token

    def api_url(self, method: str) -> str:
        return f"{self.url}/bot{self.token}/{method}"

    def take_violations(self) -> list[Violation]:
        """Read and clear the recorded violations (for tests that provoke them)."""
        return self.world.take_violations()

    def allow_violations(self) -> None:
        """Opt out of the zero-violations check at teardown."""
        self.violations_allowed = True


@asynccontextmanager
async def run_emulator(
    world: World | None = None, **server_options: Any
) -> AsyncIterator[RunningEmulator]:
    server = EmulatorServer(world, **server_options)
    await server.start()
    try:
        yield RunningEmulator(server)
    finally:
        await server.stop()


def assert_no_violations(running: RunningEmulator) -> None:
    if running.violations_allowed or not running.world.violations:
        return
    listed = "\n  ".join(str(v) for v in running.world.violations)
    pytest.fail(
        f"the bot broke Telegram's rules {len(running.world.violations)} time(s):\n  {listed}",
        pytrace=False,
    )


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    """A Telegram emulator on a free 127.0.0.1 port; fails the test on any violation."""
    async with run_emulator() as running:
        yield running
    assert_no_violations(running)


__all__ = ["RunningEmulator", "assert_no_violations", "emulator", "run_emulator"]
