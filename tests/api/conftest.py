"""The cabinet's API served by a real aiohttp server on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import api
from desk.service import Desk
from tests.harness import harness
from tgemulator.pytest_plugin import emulator

__all__ = ["emulator", "harness"]

KEY = "cabinet-key-1"
OTHER_KEY = "cabinet-key-2"
LINK_SECRET = "cabinet-shared-secret"
BOT_USERNAME = "ctv_test_bot"
HEADERS = {"X-API-Key": KEY}

ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


async def bot_username() -> str | None:
    return BOT_USERNAME


@pytest.fixture
async def make_client(desk: Desk) -> AsyncIterator[ClientFactory]:
    clients: list[TestClient[Any, Any]] = []

    async def make(**options: Any) -> TestClient[Any, Any]:
        config = api.ApiConfig(
            keys=frozenset({KEY, OTHER_KEY}),
            rate_per_minute=options.pop("rate_per_minute", 10_000),
            link_secret=options.pop("link_secret", LINK_SECRET),
            **options,
        )
        # Mounted as the desk's web app mounts it, beside routes of its own.
        app = web.Application()
        api.setup(app, desk, config, bot_username, version="test")
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def client(make_client: ClientFactory) -> TestClient[Any, Any]:
    return await make_client()
