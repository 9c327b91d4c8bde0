"""The baseline of bench.intake: a bare aiogram bot that answers every message with its text.

    BOT_TOKEN=… TELEGRAM_API_URL=http://127.0.0.1:… python -m bench.echo_bot

Long polling unless WEBHOOK_URL is set; then it serves the webhook on HTTP_HOST:HTTP_PORT
at the URL's path. Nothing else: no storage, no middlewares — what aiogram itself costs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web


async def echo(message: Message) -> None:
    await message.answer(message.text or "?")


async def serve() -> None:
    token = os.environ["BOT_TOKEN"]
    api = os.environ["TELEGRAM_API_URL"]
    webhook_url = os.environ.get("WEBHOOK_URL", "")
    secret = os.environ.get("WEBHOOK_SECRET") or None
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api)))
    router = Router()
    router.message.register(echo)
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if not webhook_url:
        await bot.delete_webhook()
        polling = asyncio.create_task(
            dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False)
        )
        await stop.wait()
        with contextlib.suppress(RuntimeError):
            await dispatcher.stop_polling()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
    else:
        app = web.Application()
        path = urlsplit(webhook_url).path or "/webhook"
        SimpleRequestHandler(dispatcher, bot, secret_token=secret).register(app, path=path)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        host = os.environ.get("HTTP_HOST", "127.0.0.1")
        await web.TCPSite(runner, host, int(os.environ["HTTP_PORT"])).start()
        await bot.set_webhook(webhook_url, secret_token=secret)
        await stop.wait()
        await runner.cleanup()
    await bot.session.close()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(serve())


if __name__ == "__main__":
    main()
