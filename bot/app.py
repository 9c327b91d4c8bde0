"""The composition root: builds the desk, the Dispatcher and the web app, and serves them.

Long polling when ``WEBHOOK_URL`` is empty, webhook mode otherwise; the web app
(``/health``, ``/metrics`` and, in webhook mode, the webhook) runs in both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis
from sqlalchemy import text

import backoffice
import backoffice.commands
import backoffice.delivery
import dialogs
import handlers
from bot import errors
from bot.middlewares import ActorMiddleware, DedupeMiddleware
from bot.outbox import Deliverer, Delivery, OutboxSender
from bot.scheduler import Scheduler
from bot.settings import Settings
from bot.version import __version__
from desk.model import Audience
from desk.service import Desk, DeskConfig
from handlers import notifications
from locales import LOCALES, Texts
from storage.db import SessionFactory, create_engine, create_session_factory
from storage.migrate import upgrade
from tgkit.limiter import Limiter, LimiterMiddleware
from tgkit.retry import RetryMiddleware

log = logging.getLogger(__name__)

READY = web.AppKey("ready", asyncio.Event)
SESSIONS = web.AppKey("sessions", SessionFactory)
MODE = web.AppKey("mode", str)


def fsm_storage(settings: Settings) -> BaseStorage:
    if settings.redis_url:
        # with_destiny keeps aiogram-dialog's stacks apart from plain FSM state.
        return RedisStorage.from_url(
            settings.redis_url, key_builder=DefaultKeyBuilder(with_destiny=True)
        )
    return MemoryStorage()


def build_dispatcher(
    settings: Settings, desk: Desk, sessions: SessionFactory, storage: BaseStorage
) -> Dispatcher:
    dispatcher = Dispatcher(storage=storage, settings=settings, desk=desk)
    dispatcher.update.outer_middleware(DedupeMiddleware(sessions))
    actor = ActorMiddleware(desk, settings)
    dispatcher.message.outer_middleware(actor)
    dispatcher.callback_query.outer_middleware(actor)
    dispatcher.include_router(errors.router())
    backoffice.setup(dispatcher)
    dispatcher.include_router(handlers.router())
    # After the plain handlers: aiogram-dialog's own routers come last.
    dialogs.setup(dispatcher)
    return dispatcher


def deliverers() -> dict[Audience, Deliverer]:
    return {
        Audience.CUSTOMER: notifications.deliver,
        Audience.BACKOFFICE: backoffice.delivery.deliver,
    }


def build_bot(settings: Settings, redis: Redis | None = None, *, guarded: bool = True) -> Bot:
    """``guarded``: retry and pace every call (off only for tests of the bare calls)."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    if guarded:
        # Retry outermost, so every attempt is paced; with Redis replicas share the limits.
        session.middleware(RetryMiddleware())
        session.middleware(LimiterMiddleware(Limiter(redis)))
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


async def health(request: web.Request) -> web.Response:
    ready = request.app[READY].is_set()
    database = True
    try:
        async with request.app[SESSIONS]() as session:
            await session.execute(text("SELECT 1"))
    except Exception:  # any failure means "not healthy"; the reason goes to the log
        log.exception("health check: database unreachable")
        database = False
    ok = ready and database
    body = {
        "status": "ok" if ok else "starting" if database else "database unreachable",
        "version": __version__,
        "mode": request.app[MODE],
    }
    return web.json_response(body, status=200 if ok else 503)


async def metrics(_request: web.Request) -> web.Response:
    response = web.Response(body=generate_latest())
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return response


def build_web_app(settings: Settings, sessions: SessionFactory) -> web.Application:
    app = web.Application()
    app[READY] = asyncio.Event()
    app[SESSIONS] = sessions
    app[MODE] = "webhook" if settings.webhook_mode else "polling"
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    return app


async def serve(settings: Settings) -> int:
    await upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    desk = Desk(
        sessions,
        DeskConfig(
            calendar=settings.calendar(),
            backoffice_chat_id=settings.backoffice_chat_id,
            auto_close_business_days=settings.auto_close_business_days,
        ),
    )
    storage = fsm_storage(settings)
    dispatcher = build_dispatcher(settings, desk, sessions, storage)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    bot = build_bot(settings, redis)
    app = build_web_app(settings, sessions)
    sender = OutboxSender(
        Delivery(bot, sessions, desk, default_locale=settings.default_locale), deliverers()
    )
    scheduler = Scheduler(
        desk, interval=settings.scheduler_interval, redis=redis, sessions=sessions
    )

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    if settings.webhook_mode:
        secret = settings.webhook_secret.get_secret_value() or None
        path = urlsplit(settings.webhook_url).path or "/webhook"
        SimpleRequestHandler(dispatcher, bot, secret_token=secret).register(app, path=path)

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.http_host, settings.http_port).start()
    log.info("ctv-desk %s listening on %s:%s", __version__, settings.http_host, settings.http_port)

    polling: asyncio.Task[None] | None = None
    try:
        me = await bot.get_me()
        log.info("bot @%s (%s) in %s mode", me.username, me.id, app[MODE])
        await set_commands(bot, settings.backoffice_chat_id)
        allowed = dispatcher.resolve_used_update_types()
        if settings.webhook_mode:
            await dispatcher.emit_startup(bot=bot)
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
        app[READY].set()
        await stop.wait()
        log.info("stopping")
    finally:
        await scheduler.stop()
        await sender.stop()
        if redis is not None:
            await redis.aclose()
        if polling is not None:
            with contextlib.suppress(RuntimeError):
                await dispatcher.stop_polling()
            with contextlib.suppress(asyncio.CancelledError):
                await polling
        elif settings.webhook_mode:
            await dispatcher.emit_shutdown(bot=bot)
        await runner.cleanup()
        await bot.session.close()
        await storage.close()
        await engine.dispose()
    return 0
