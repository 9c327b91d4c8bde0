"""A started emulator as tests and benchmarks hold it; free of pytest so tools can use it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

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

    def violations_report(self) -> str | None:
        """What the bot did wrong, or None when nothing (or violations are allowed)."""
        violations = self.world.violations
        if self.violations_allowed or not violations:
            return None
        listed = "\n  ".join(str(v) for v in violations)
        return f"the bot broke Telegram's rules {len(violations)} time(s):\n  {listed}"


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


__all__ = ["RunningEmulator", "run_emulator"]
