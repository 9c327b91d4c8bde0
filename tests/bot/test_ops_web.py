"""``/health`` and ``/ready`` when something is wrong (a real database, no Telegram)."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from bot import ops
from bot.settings import Settings
from storage.db import create_engine, create_session_factory
from storage.migrate import head_revision, upgrade


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def settings(database_url: str) -> Settings:
    return Settings(
        bot_token="123:abc",
        backoffice_chat_id=-100,
        database_url=database_url,
        redis_url="redis://127.0.0.1:1/0",
    )


@pytest.fixture
async def serve_app() -> AsyncIterator[list[web.AppRunner]]:
    runners: list[web.AppRunner] = []
    yield runners
    for runner in runners:
        await runner.cleanup()


async def start(app: web.Application, runners: list[web.AppRunner]) -> str:
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    runners.append(runner)
    return f"http://127.0.0.1:{port}"


async def get(url: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, json.loads(await response.text())


async def test_ready_names_old_migrations_and_an_unreachable_redis(
    tmp_path: Path, serve_app: list[web.AppRunner]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'desk.sqlite3'}"
    await upgrade(url, "0003")  # a database one migration behind the code
    engine = create_engine(url)
    redis = Redis.from_url("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        app = ops.build_web_app(settings(url), create_session_factory(engine), redis)
        base = await start(app, serve_app)
        status, body = await get(f"{base}/ready")
        assert status == 503
        assert body["status"] == "not ready"
        checks = body["checks"]
        assert isinstance(checks, dict)
        assert checks["started"] == "starting"
        assert checks["database"] == f"migrations at 0003, the code needs {head_revision()}"
        assert str(checks["redis"]).startswith("unreachable: ")
        assert checks["backoffice"] == "unchecked"
        # Alive all the same.
        status, body = await get(f"{base}/health")
        assert status == 200 and body["status"] == "starting"

        # Once migrated, started and the group seen, only Redis is left.
        await upgrade(url)
        app[ops.READY].set()
        app[ops.BACKOFFICE].mark(True)
        status, body = await get(f"{base}/ready")
        assert status == 503
        assert body["checks"] == {
            "started": "ok",
            "database": "ok",
            "redis": checks["redis"],
            "backoffice": "ok",
        }
    finally:
        await redis.aclose()
        await engine.dispose()


async def test_ready_without_redis_configured(
    tmp_path: Path, serve_app: list[web.AppRunner]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'desk.sqlite3'}"
    await upgrade(url)
    engine = create_engine(url)
    try:
        app = ops.build_web_app(settings(url), create_session_factory(engine))
        app[ops.READY].set()
        app[ops.BACKOFFICE].mark(False, "chat not found")
        base = await start(app, serve_app)
        status, body = await get(f"{base}/ready")
        assert status == 503
        assert body["checks"] == {
            "started": "ok",
            "database": "ok",
            "redis": "not configured",
            "backoffice": "unreachable: chat not found",
        }
        app[ops.BACKOFFICE].mark(True)
        assert (await get(f"{base}/ready"))[0] == 200
    finally:
        await engine.dispose()


async def test_api_calls_are_counted_by_route_and_logged(
    tmp_path: Path, serve_app: list[web.AppRunner], caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'desk.sqlite3'}"
    engine = create_engine(url)
    try:
        app = ops.build_web_app(settings(url), create_session_factory(engine))

        async def show(request: web.Request) -> web.Response:
            if request.match_info["number"] == "0":
                raise web.HTTPNotFound()
            return web.json_response({"number": request.match_info["number"]})

        app.router.add_get("/api/v1/requests/{number}", show)
        base = await start(app, serve_app)
        route = "/api/v1/requests/{number}"

        def calls(status: str) -> float:
            labels = {"route": route, "status": status}
            return REGISTRY.get_sample_value("ctv_api_requests_total", labels) or 0.0

        before = (calls("200"), calls("404"))
        caplog.set_level("INFO", logger="bot.ops")
        async with aiohttp.ClientSession() as http:
            for number in ("1042", "1043", "0"):
                async with http.get(f"{base}/api/v1/requests/{number}") as response:
                    assert response.status == (404 if number == "0" else 200)
            async with http.get(f"{base}/health") as response:
                assert response.status == 200
        assert (calls("200"), calls("404")) == (before[0] + 2, before[1] + 1)
        lines = [r.getMessage() for r in caplog.records if r.name == "bot.ops"]
        assert [line.split(" in ")[0] for line in lines] == [
            f"api GET {route} -> 200",
            f"api GET {route} -> 200",
            f"api GET {route} -> 404",
        ]
    finally:
        await engine.dispose()
