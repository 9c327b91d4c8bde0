"""The composition root: builds the desk, the Dispatcher and the web app, and serves them.

Long polling when ``WEBHOOK_URL`` is empty (a webhook left from an earlier run
is deleted), webhook mode otherwise (``setWebhook`` with the secret and the
update types the routers use; a request without the secret is answered 401
and not handled). The web app (``/health``, ``/ready``, ``/metrics`` of
``bot.ops`` and, in webhook mode, the webhook) runs in both. Modules
(plugins, ``bot.plugins``) are loaded before the first update.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiogram import Bot, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.methods import TelegramMethod
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat, Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from prometheus_client import Counter
from pydantic import ValidationError
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

import api
import backoffice
import backoffice.commands
import dialogs
import handlers
from bot import heap, ops
from bot.clock import desk_clock
from bot.logs import Redactor
from bot.plugins import load_plugins
from bot.scheduler import Scheduler
from bot.settings import Settings
from bot.startup import StartupError, check_backoffice, connect
from bot.version import __version__
from delivery import deliverers
from desk.service import Desk, DeskConfig
from desk.tariffs import TariffsFileError, read_tariffs
from locales import LOCALES, Texts
from storage.db import create_engine, create_session_factory
from storage.migrate import upgrade
from tgkit import errors
from tgkit.autopipe import AutoPipelineRedis
from tgkit.calls import CallMetrics
from tgkit.flow import FlowDispatcher, UpdateFlow
from tgkit.limiter import Limiter, LimiterMiddleware, Limits
from tgkit.loop import BackgroundLoop
from tgkit.middlewares import (
    ActorCache,
    ActorMiddleware,
    BlockedMarks,
    ErrorLanguage,
    MemoryBlocked,
    RedisBlocked,
)
from tgkit.outbox import Delivery, OutboxSender
from tgkit.responses import keep_response_types
from tgkit.retry import RetryMiddleware
from tgkit.session import JsonSession
from tgkit.updates import (
    MemorySeen,
    Orphans,
    RedisSeen,
    SeenUpdates,
    UpdateGuard,
    note_commit,
    note_event,
)

log = logging.getLogger(__name__)


# How long an update waits for a free Redis or database connection before it
# counts as failed (and is retried): far longer than a burst takes to drain.
POOL_TIMEOUT = 30
# A Redis that stopped answering (not refusing) fails a command after this long.
REDIS_SOCKET_TIMEOUT = 2.0
# SIGTERM to exit must stay under 10 s (R10); in-flight updates get most of it.
DRAIN_SECONDS = 6.0
# Updates a webhook replica accepts, in multiples of those it handles at once. More
# queued here gain nothing once Telegram's requests wait for room (the same CPU per
# answer with 3 and with 1: bench.intake --against, 4 rounds), and a stop's drain must
# finish what was accepted: at Telegram's 30 sends a second, 3 × 100 updates took
# longer than the drain's 6 s, and the rest went to the next process.
WEBHOOK_BACKLOG = 1
# How long a webhook request waits for room before it is answered 503. Telegram
# sends no more than the webhook's max_connections requests at once, so while they
# wait it sends nothing else: the burst stays queued at Telegram, re-sent by nobody.
# Well under the time Telegram (and the emulator: 10 s) gives a webhook to answer.
WEBHOOK_HOLD_SECONDS = 4.0
WEBHOOK_DEFERRED = Counter(
    "ctv_webhook_deferred_total",
    "Webhook updates answered 503 to be re-sent later (busy, or not started yet)",
)
WEBHOOK_REFUSED = Counter(
    "ctv_webhook_refused_total", "Webhook requests without the right secret token (401)"
)


def redis_client(settings: Settings) -> Redis:
    """One client per process, its pool sized to the updates handled at once.

    redis-py's default pool raises "Too many connections" when it is empty; a
    burst must queue instead, so the pool blocks for up to ``POOL_TIMEOUT``.
    """
    # redis-py's own retries back off for seconds per command; while Redis is down
    # every update and every send would wait that long before its fallback or its
    # polite answer. One quick retry covers a dropped connection; the update's own
    # retry (tgkit.updates) covers a restart.
    retry = Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=1)
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        # Each update holds at most a couple of connections at once (state, lock).
        max_connections=2 * settings.updates_at_once + 16,
        timeout=POOL_TIMEOUT,
        retry=retry,
        socket_connect_timeout=REDIS_SOCKET_TIMEOUT,
        # Replies are bounded per trip by the client (tgkit.autopipe), not per reply.
        socket_timeout=None,
    )
    return AutoPipelineRedis(connection_pool=pool, retry=retry, reply_timeout=REDIS_SOCKET_TIMEOUT)


def fsm_storage(settings: Settings, redis: Redis | None) -> BaseStorage:
    if redis is not None:
        # with_destiny keeps aiogram-dialog's stacks apart from plain FSM state.
        return RedisStorage(redis, key_builder=DefaultKeyBuilder(with_destiny=True))
    return MemoryStorage()


def database_pool(settings: Settings) -> dict[str, int]:
    """Engine pool options: enough connections for the updates at once, then queue."""
    if settings.database_url.startswith("sqlite"):
        # One writer at a time anyway; the busy timeout queues writers.
        return {}
    size = min(settings.updates_at_once, 20)
    return {"pool_size": size, "max_overflow": 10, "pool_timeout": POOL_TIMEOUT}


def build_dispatcher(
    settings: Settings,
    desk: Desk,
    storage: BaseStorage,
    seen: SeenUpdates | None = None,
    blocked: BlockedMarks | None = None,
    modules: Router | None = None,
) -> FlowDispatcher:
    """``modules``: the router the plugins' routers go into, ahead of the desk's own."""
    dispatcher = FlowDispatcher(
        flow=UpdateFlow(settings.updates_at_once),
        guard=UpdateGuard(seen or MemorySeen()),
        storage=storage,
        settings=settings,
        desk=desk,
        version=__version__,
    )
    dispatcher.errors.outer_middleware(errors.LastResort())
    # A desk commit makes an update unsafe to run again (tgkit.updates).
    desk.outbox_listeners.append(note_commit)
    # The request numbers an update changed, for its log line.
    desk.event_listeners.append(note_event)
    cache = ActorCache(blocked or MemoryBlocked())
    desk.blocked_listeners.append(cache.blocked.add)
    actor = ActorMiddleware(desk, settings, cache)
    dispatcher.message.outer_middleware(actor)
    dispatcher.callback_query.outer_middleware(actor)
    dispatcher.edited_message.outer_middleware(actor)
    # Inside LastResort, so that its apology too is in the person's language.
    dispatcher.errors.outer_middleware(ErrorLanguage(actor))
    if modules is not None:
        dispatcher.include_router(modules)
    # The backoffice first: its error handler answers the desk's refusals in the
    # agents' group before the private chats' error router sees them.
    backoffice.setup(dispatcher)
    dispatcher.include_router(errors.router())
    dispatcher.include_router(handlers.router())
    # After the plain handlers: aiogram-dialog's own routers.
    dialogs.setup(dispatcher)
    # Last: whatever nothing above took still gets an answer.
    dispatcher.include_router(handlers.leftovers_router())
    return dispatcher


def build_bot(settings: Settings, redis: Redis | None = None, *, guarded: bool = True) -> Bot:
    """``guarded``: retry and pace every call (off only for tests of the bare calls)."""
    keep_response_types()
    session = JsonSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    if guarded:
        # Retry outermost, so every attempt is paced; with Redis replicas share the limits.
        session.middleware(RetryMiddleware())
        limits = Limits(
            chat_per_second=settings.telegram_chat_per_second,
            group_count=settings.telegram_group_per_minute,
            global_count=settings.telegram_max_per_second,
        )
        session.middleware(LimiterMiddleware(Limiter(redis, limits)))
    # Innermost: every attempt that reaches Telegram is counted.
    session.middleware(CallMetrics())
    return Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


async def set_commands(bot: Bot, backoffice_chat_id: int | None = None) -> None:
    """The command menus: customers' in private chats, agents' in the backoffice group."""
    if backoffice_chat_id is not None:
        group = BotCommandScopeChat(chat_id=backoffice_chat_id)
        for locale in LOCALES:
            language = None if locale == LOCALES[0] else locale
            await bot.set_my_commands(
                backoffice.commands.menu(Texts(locale)), scope=group, language_code=language
            )
    scope = BotCommandScopeAllPrivateChats()
    for locale in LOCALES:
        texts = Texts(locale)
        commands = [
            BotCommand(command=c, description=texts(f"commands.{c}"))
            for c in ("new", "my", "lang", "help")
        ]
        # The first locale is the default for every other language too.
        language = None if locale == LOCALES[0] else locale
        await bot.set_my_commands(commands, scope=scope, language_code=language)


class WebhookHandler(SimpleRequestHandler):
    """Takes an update only when it can be finished; otherwise Telegram keeps it.

    aiogram answers the webhook before handling the update, so whatever this
    process accepted is its to finish: a burst must not pile up more than a
    stop's drain can work off. Past ``WEBHOOK_BACKLOG`` × ``UPDATES_AT_ONCE``
    updates waiting, the request waits (up to ``WEBHOOK_HOLD_SECONDS``) until an
    update ends: Telegram's requests at once are bounded (``max_connections``), so
    held requests hold the burst at Telegram. Answering 503 at once instead made
    Telegram re-send: 9,570 refused requests for 4,000 updates in a 1,000-customer
    burst (``bench/intake``, webhook), each costing both sides a request. A request
    that waited that long, and any while stopping, is answered 503 and Telegram
    re-sends the update later (to another replica when there is one).

    Also until ``started`` is set (the dispatcher's startup has run): the web app
    listens before that, for its health checks, and a replica joining others behind
    one webhook URL gets their updates at once. Handled before the startup, an
    update loaded aiogram-dialog's registry of dialogs, which the startup then loaded
    again and stopped the process with "StatesGroup 'IntakeSG' is used in multiple
    dialogs" (tests/e2e/test_replicas.py, once in a run of the whole suite).
    """

    def __init__(self, *args: Any, started: asyncio.Event, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._started = started

    async def handle(self, request: web.Request) -> web.Response:
        bot = await self.resolve_bot(request)
        if not self.verify_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), bot):
            # Checked before anything else: a stranger learns nothing, not even "busy".
            WEBHOOK_REFUSED.inc()
            log.warning("webhook request without the right secret token from %s", request.remote)
            return web.Response(status=401, text="Unauthorized")
        if not self._started.is_set():
            WEBHOOK_DEFERRED.inc()
            return web.Response(status=503, text="starting, send it again")
        dispatcher = self.dispatcher
        if isinstance(dispatcher, FlowDispatcher):
            flow = dispatcher.flow
            if flow.closing:
                return web.Response(status=503, text="stopping")
            if not await flow.room_below(WEBHOOK_BACKLOG * flow.limit, WEBHOOK_HOLD_SECONDS):
                if flow.closing:
                    return web.Response(status=503, text="stopping")
                WEBHOOK_DEFERRED.inc()
                return web.Response(status=503, text="busy, send it again")
        return await super().handle(request)

    async def _handle_request_background(self, bot: Bot, request: web.Request) -> web.Response:
        """aiogram's, with the update parsed by pydantic straight from the body's text
        (the library loads the JSON, then validates the objects: about twice the work),
        and that text journaled as it came (``FlowDispatcher.arrived_as``)."""
        body = await request.text()
        try:
            update = Update.model_validate_json(body, context={"bot": bot})
        except ValidationError:
            return await super()._handle_request_background(bot, request)
        if isinstance(self.dispatcher, FlowDispatcher):
            self.dispatcher.arrived_as(update.update_id, body)
        task = asyncio.create_task(self._feed(bot, update))
        self._background_feed_update_tasks.add(task)
        task.add_done_callback(self._background_feed_update_tasks.discard)
        return web.json_response({}, dumps=bot.session.json_dumps)

    async def _feed(self, bot: Bot, update: Update) -> None:
        try:
            result = await self.dispatcher.feed_update(bot, update, **self.data)
        except Exception:  # the update's own guard and error handlers came first
            log.exception("update %s failed", update.update_id)
            return
        if isinstance(result, TelegramMethod):
            await self.dispatcher.silent_call_request(bot=bot, result=result)


async def confirm_offset(bot: Bot, last_update_id: int) -> None:
    """Tell Telegram every update up to ``last_update_id`` was handled.

    aiogram confirms a batch with its next getUpdates, which a stopping process
    never sends: without this, the next start would get the last batch again.
    """
    try:
        await bot.get_updates(offset=last_update_id + 1, limit=1, timeout=0)
    except Exception:  # the updates' dedupe keeps a redelivery harmless anyway
        log.warning("could not confirm handled updates to Telegram", exc_info=True)


def cabinet_api(settings: Settings) -> api.ApiConfig:
    return api.ApiConfig(
        keys=settings.api_keys,
        rate_per_minute=settings.api_rate_limit,
        max_body_bytes=settings.api_max_body_mb * 1024 * 1024,
        link_secret=settings.link_secret.get_secret_value(),
    )


async def serve(settings: Settings, redactor: Redactor | None = None) -> int:
    try:
        tariffs = read_tariffs(Path(settings.tariffs_file)) if settings.tariffs_file else None
    except TariffsFileError as error:
        raise StartupError(str(error), 2) from None
    await upgrade(settings.database_url)
    engine = create_engine(settings.database_url, **database_pool(settings))
    sessions = create_session_factory(engine)
    clock = desk_clock(settings.clock_offset_file)
    desk = Desk(
        sessions,
        DeskConfig(
            calendar=settings.calendar(),
            backoffice_chat_id=settings.backoffice_chat_id,
            auto_close_business_days=settings.auto_close_business_days,
            digest_recipients=settings.digest_recipients,
            digest_schedule=settings.digest_schedule(),
        ),
        clock=clock,
    )
    if tariffs is not None:
        await desk.apply_tariffs(tariffs)
    redis = redis_client(settings) if settings.redis_url else None
    storage = fsm_storage(settings, redis)
    seen: SeenUpdates = RedisSeen(redis) if redis is not None else MemorySeen()
    blocked: BlockedMarks = RedisBlocked(redis) if redis is not None else MemoryBlocked()
    modules = Router(name="modules")
    dispatcher = build_dispatcher(settings, desk, storage, seen, blocked, modules)
    bot = build_bot(settings, redis)
    app = ops.build_web_app(settings, sessions, redis)
    routes = deliverers()
    plugins = await load_plugins(
        settings.plugins,
        dispatcher=dispatcher,
        modules=modules,
        desk=desk,
        deliverers=routes,
        redactor=redactor,
    )
    app[ops.PLUGINS] = plugins

    async def bot_username() -> str | None:
        return (await bot.me()).username

    api.setup(app, desk, cabinet_api(settings), bot_username, version=__version__, redis=redis)
    sender = OutboxSender(
        Delivery(
            bot,
            sessions,
            desk,
            default_locale=settings.default_locale,
            backoffice=app[ops.BACKOFFICE].mark,
        ),
        routes,
        # Outbox rows are due at the desk's time, so the sender reads the same clock.
        clock=clock,
    )
    scheduler = Scheduler(
        desk, interval=settings.scheduler_interval, redis=redis, sessions=sessions
    )
    if isinstance(seen, RedisSeen):
        dispatcher.journal = seen
    # Updates a killed replica (or this process before a kill -9) had taken but not finished.
    orphans = (
        BackgroundLoop("orphan-updates", Orphans(seen, dispatcher, bot).adopt, interval=2.0)
        if isinstance(seen, RedisSeen)
        else None
    )

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    started = asyncio.Event()
    if settings.webhook_mode:
        secret = settings.webhook_secret.get_secret_value() or None
        path = urlsplit(settings.webhook_url).path or "/webhook"
        handler = WebhookHandler(dispatcher, bot, secret_token=secret, started=started)
        handler.register(app, path=path)

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.http_host, settings.http_port).start()
    log.info(
        "ctv-desk %s listening on %s:%s (plugins: %s)",
        __version__,
        settings.http_host,
        settings.http_port,
        ", ".join(plugins.loaded) or "none",
    )

    polling: asyncio.Task[None] | None = None
    try:
        me = await connect(bot, settings.telegram_api_url, within=settings.startup_retry_seconds)
        log.info("bot @%s (%s) in %s mode", me.username, me.id, app[ops.MODE])
        reachable = await check_backoffice(bot, app[ops.BACKOFFICE])
        await set_commands(bot, settings.backoffice_chat_id if reachable else None)
        allowed = dispatcher.resolve_used_update_types()
        if settings.webhook_mode:
            await dispatcher.emit_startup(bot=bot)
            started.set()
            await bot.set_webhook(
                settings.webhook_url,
                secret_token=settings.webhook_secret.get_secret_value() or None,
                allowed_updates=allowed,
            )
        else:
            await bot.delete_webhook()
            polling = asyncio.create_task(
                dispatcher.start_polling(
                    bot, allowed_updates=allowed, handle_signals=False, close_bot_session=False
                )
            )
        sender.start()
        scheduler.start()
        if orphans is not None:
            orphans.start()
        # Last before ready: what is alive now lives as long as the process.
        heap.settle()
        app[ops.READY].set()
        await stop.wait()
        log.info("stopping")
    finally:
        # R10: updates replace containers, so a stop must lose nothing. First take no
        # new update, then finish those in flight, then stop the background work.
        if orphans is not None:
            await orphans.stop()
        if polling is not None:
            with contextlib.suppress(RuntimeError):
                await dispatcher.stop_polling()
            with contextlib.suppress(asyncio.CancelledError):
                await polling
        drained = await dispatcher.flow.close(within=DRAIN_SECONDS)
        if polling is not None and drained and dispatcher.flow.last_update_id:
            await confirm_offset(bot, dispatcher.flow.last_update_id)
        await scheduler.stop()
        await sender.stop()
        if settings.webhook_mode:
            await dispatcher.emit_shutdown(bot=bot)
        await runner.cleanup()
        await plugins.close()
        await bot.session.close()
        await storage.close()
        if isinstance(seen, RedisSeen):
            await seen.close()
        if redis is not None:
            await redis.aclose()
        await engine.dispose()
    return 0
