"""pytest fixtures for the emulator; the only module of the package that imports pytest.

Use it from a conftest: `from tgemulator.pytest_plugin import emulator`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from .running import RunningEmulator, run_emulator


def assert_no_violations(running: RunningEmulator) -> None:
    report = running.violations_report()
    if report is not None:
        pytest.fail(report, pytrace=False)


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    """A Telegram emulator on a free 127.0.0.1 port; fails the test on any violation."""
    async with run_emulator() as running:
        yield running
    assert_no_violations(running)


__all__ = ["RunningEmulator", "assert_no_violations", "emulator", "run_emulator"]
