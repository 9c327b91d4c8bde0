from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import aiohttp
import pytest_asyncio

from tgemulator import RunningEmulator
from tgemulator.pytest_plugin import emulator

__all__ = ["emulator"]

ApiCaller = Callable[..., Coroutine[Any, Any, dict[str, Any]]]


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest_asyncio.fixture
async def api(emulator: RunningEmulator, http: aiohttp.ClientSession) -> ApiCaller:
    """Call a Bot API method with a JSON body and return Telegram's whole answer."""

    async def call(method: str, **params: Any) -> dict[str, Any]:
        async with http.post(emulator.api_url(method), json=params) as response:
            body: dict[str, Any] = await response.json()
            assert body.get("error_code", 200) == response.status
            return body

    return call
