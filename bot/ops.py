"""The operator's side of the web app: ``/health``, ``/ready``, ``/metrics``.

- ``/health``: the process is alive and serving HTTP (always 200 while it
  runs): version, mode, whether start-up finished, the backoffice's state, the
  modules loaded and those that failed to start (with why).
- ``/ready``: 200 only when every check passes, 503 naming the failing ones
  otherwise: started, the database answers, its migrations are the code's
  head, Redis answers (when configured), the backoffice group was reachable at
  the last attempt. Docker's HEALTHCHECK and a load balancer ask this one. An
  unreachable backoffice makes the desk "not ready" although customers are
  still served: the operator has to act (the issue asks for it).
- ``/metrics``: Prometheus text. Process counters live next to their code
  (``tgkit.updates``, ``tgkit.calls``, ``tgkit.outbox``, ``tgkit.limiter``,
  ``tgkit.retry``); the figures of the shared database (outbox depth and the
  age of its oldest row, open requests by status and priority, SLA breaches)
  are read at each scrape (``storage.gauges``).

Every call under ``/api`` is counted by route and status and logged in one line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from redis.asyncio import Redis
from sqlalchemy import text

from bot.plugins import Plugins
from bot.settings import Settings
from bot.startup import BackofficeState
from bot.version import __version__
from storage import gauges
from storage.db import SessionFactory
from storage.migrate import head_revision

log = logging.getLogger(__name__)

READY = web.AppKey("ready", asyncio.Event)
BACKOFFICE = web.AppKey("backoffice", BackofficeState)
SESSIONS = web.AppKey("sessions", SessionFactory)
MODE = web.AppKey("mode", str)
REDIS = web.AppKey("redis", Redis)
HEAD = web.AppKey("head", str)
PLUGINS = web.AppKey("plugins", Plugins)

CHECK_SECONDS = 3.0

OUTBOX_DEPTH = Gauge("ctv_outbox_depth", "Notifications waiting in the outbox")
OUTBOX_OLDEST = Gauge(
    "ctv_outbox_oldest_age_seconds", "Age of the oldest waiting notification (0 when none)"
)
OPEN_REQUESTS = Gauge(
    "ctv_open_requests", "Requests not closed, by status and priority", ["status", "priority"]
)
SLA_BREACHES = Gauge(
    "ctv_sla_breached_requests", "Requests that missed an SLA target, by target", ["target"]
)
API_CALLS = Counter(
    "ctv_api_requests_total", "HTTP API calls by route and status", ["route", "status"]
)
API_SECONDS = Histogram("ctv_api_request_seconds", "Time to answer an HTTP API call", ["route"])

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def health(request: web.Request) -> web.Response:
    app = request.app
    group = app[BACKOFFICE]
    body: dict[str, object] = {
        "status": "ok" if app[READY].is_set() else "starting",
        "version": __version__,
        "mode": app[MODE],
        # Reported, not fatal: customers are still served while agents fix the group.
        "backoffice": {None: "unchecked", True: "ok", False: "unreachable"}[group.reachable],
    }
    if group.reachable is False:
        body["backoffice_problem"] = group.problem
    if PLUGINS in app:
        body["plugins"] = app[PLUGINS].loaded
        if app[PLUGINS].failed:
            body["plugins_failed"] = app[PLUGINS].failed
    return web.json_response(body)


async def _database(app: web.Application) -> str:
    async with app[SESSIONS]() as session:
        await session.execute(text("SELECT 1"))
        current = await gauges.schema_revision(session)
    if current != app[HEAD]:
        return f"migrations at {current}, the code needs {app[HEAD]}"
    return "ok"


async def _redis(app: web.Application) -> str:
    if REDIS not in app:
        return "not configured"
    await app[REDIS].ping()
    return "ok"


async def _checked(check: Callable[[web.Application], Awaitable[str]], app: web.Application) -> str:
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            return await check(app)
    except Exception as error:  # any failure means "not ready"; the reason is the answer
        log.warning("readiness check %s failed: %s", check.__name__.strip("_"), error)
        return f"unreachable: {type(error).__name__}"


async def ready(request: web.Request) -> web.Response:
    app = request.app
    group = app[BACKOFFICE]
    checks = {
        "started": "ok" if app[READY].is_set() else "starting",
        "database": await _checked(_database, app),
        "redis": await _checked(_redis, app),
        "backoffice": {None: "unchecked", True: "ok", False: f"unreachable: {group.problem}"}[
            group.reachable
        ],
    }
    ok = all(value in ("ok", "not configured") for value in checks.values())
    body = {"status": "ready" if ok else "not ready", "version": __version__, "checks": checks}
    return web.json_response(body, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    try:
        async with asyncio.timeout(CHECK_SECONDS), request.app[SESSIONS]() as session:
            found = await gauges.figures(session)
    except Exception:  # the process's own counters are still worth a scrape
        log.warning("metrics: the database figures could not be read", exc_info=True)
    else:
        OUTBOX_DEPTH.set(found.outbox_pending)
        oldest = found.outbox_oldest
        OUTBOX_OLDEST.set((datetime.now(UTC) - oldest).total_seconds() if oldest else 0)
        OPEN_REQUESTS.clear()
        for (status, priority), count in found.open_requests.items():
            OPEN_REQUESTS.labels(status, f"P{priority}").set(count)
        for alert, count in found.breaches.items():
            SLA_BREACHES.labels(alert.removesuffix("_breached")).set(count)
    response = web.Response(body=generate_latest())
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return response


@web.middleware
async def api_calls(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Counts and logs every call under ``/api`` by its route (not its path: no ids)."""
    if not request.path.startswith("/api"):
        return await handler(request)
    info = request.match_info.route.resource
    route = info.canonical if info is not None else "unmatched"
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as error:
        status = error.status
        raise
    finally:
        seconds = time.perf_counter() - started
        API_CALLS.labels(route, str(status)).inc()
        API_SECONDS.labels(route).observe(seconds)
        log.info(
            "api %s %s -> %s in %.0f ms",
            request.method,
            route,
            status,
            seconds * 1000,
            extra={"method": request.method, "route": route, "status": status},
        )


def build_web_app(
    settings: Settings, sessions: SessionFactory, redis: Redis | None = None
) -> web.Application:
    app = web.Application(middlewares=[api_calls])
    app[READY] = asyncio.Event()
    app[BACKOFFICE] = BackofficeState(settings.backoffice_chat_id)
    app[SESSIONS] = sessions
    app[MODE] = "webhook" if settings.webhook_mode else "polling"
    app[HEAD] = head_revision()
    if redis is not None:
        app[REDIS] = redis
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)
    return app
