"""The personal cabinet's HTTP API (R8), mounted at ``/api`` of the desk's web app.

``setup`` adds it as a sub-application, so its middleware (problem details)
and its limits stay inside ``/api`` and never touch the webhook or ``/health``.
The layer sits beside ``handlers``: it calls the desk's use cases and nothing
of the Telegram side.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from redis.asyncio import Redis

from api.guard import RateLimit
from api.openapi import document, page
from api.routes import ApiConfig, CabinetApi, problems
from desk.service import Desk

__all__ = ["ApiConfig", "build", "setup"]


def build(
    desk: Desk,
    config: ApiConfig,
    bot_username: Callable[[], Awaitable[str | None]],
    *,
    version: str,
    redis: Redis | None = None,
) -> web.Application:
    api = CabinetApi(desk, config, bot_username, RateLimit(config.rate_per_minute, redis))
    spec = document(version)
    readable = page(spec)

    async def openapi_json(_request: web.Request) -> web.Response:
        return web.json_response(spec)

    async def docs(_request: web.Request) -> web.Response:
        return web.Response(text=readable, content_type="text/html")

    # Bodies are read by the guard with their own limit, not aiohttp's 1 MiB.
    app = web.Application(middlewares=[problems], client_max_size=config.max_body_bytes)
    app.router.add_get("/openapi.json", openapi_json)
    app.router.add_get("/docs", docs)
    app.router.add_routes(api.routes())
    return app


def setup(
    app: web.Application,
    desk: Desk,
    config: ApiConfig,
    bot_username: Callable[[], Awaitable[str | None]],
    *,
    version: str,
    redis: Redis | None = None,
) -> None:
    """Mount the API at ``/api`` of the desk's web app."""
    app.add_subapp("/api", build(desk, config, bot_username, version=version, redis=redis))
