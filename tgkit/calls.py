"""Counts every Bot API call attempt by method and result (``ctv_tg_calls_total``).

Registered innermost on the bot's session (after the retry and the limiter), so
each attempt that reaches Telegram counts: a 429 shows as ``429`` even when the
retry then succeeds. Results: ``ok``, ``429``, ``4xx`` codes as Telegram gave
them (``400``, ``403``…), ``5xx``, ``network``.
"""

from __future__ import annotations

import functools

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from prometheus_client import Counter

CALLS = Counter(
    "ctv_tg_calls_total", "Bot API call attempts by method and result", ["method", "result"]
)

_CODES: tuple[tuple[type[TelegramAPIError], str], ...] = (
    (TelegramRetryAfter, "429"),
    (TelegramEntityTooLarge, "413"),
    (TelegramBadRequest, "400"),
    (TelegramUnauthorizedError, "401"),
    (TelegramForbiddenError, "403"),
    (TelegramNotFound, "404"),
    (TelegramConflictError, "409"),
    (TelegramServerError, "5xx"),
    (TelegramNetworkError, "network"),
)


def result_of(error: BaseException) -> str:
    for kind, label in _CODES:
        if isinstance(error, kind):
            return label
    return "error"


class CallMetrics(BaseRequestMiddleware):
    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        try:
            response = await make_request(bot, method)
        except Exception as error:
            _calls(name, result_of(error)).inc()
            raise
        _calls(name, "ok").inc()
        return response


@functools.cache
def _calls(method: str, result: str) -> Counter:
    """The counter's child: ``labels()`` looks it up under a lock on every call."""
    return CALLS.labels(method, result)
