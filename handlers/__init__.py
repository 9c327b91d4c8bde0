"""Customer-facing routers for private chats (thin: they parse and render, the desk decides)."""

from aiogram import F, Router
from aiogram.enums import ChatType

from handlers import start


def router() -> Router:
    parent = Router(name=__name__)
    parent.message.filter(F.chat.type == ChatType.PRIVATE)
    parent.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    parent.include_router(start.router)
    return parent
