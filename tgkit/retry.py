"""Retrying the bot's direct Bot API calls when Telegram or the network fails for a moment.

A request middleware (``bot.session.middleware(RetryMiddleware())``) repeats a call that
failed with

- 429: after Telegram's ``retry_after``;
- a connection that could not be opened (refused, DNS): the request never left;
- 5xx (``TelegramServerError``), a proxy's HTML error page (aiogram's
  ``ClientDecodeError``), a timeout or a connection lost mid-call
  (``TelegramNetworkError``): with exponential backoff and full jitter;

until ``RetryPolicy.total`` seconds have passed since the first attempt; then the last
error is raised as it came. Other 4xx (and 413, which aiogram files under network
errors) are the caller's to handle and are never repeated. ``getUpdates`` is left to
aiogram's polling loop, which has its own backoff, and ``getMe`` to the start-up
check (``bot.startup``), which logs every attempt for the operator.

Duplicates. The first two kinds prove Telegram did not act on the request. The third
does not: Telegram may have sent the message and the answer been lost on the way back,
and the Bot API has no idempotency key to ask. Repeating is harmless for calls that
set state (``editMessageText`` again with the same text is "message is not modified",
which every caller here already reads as done; ``deleteMessage`` again is "not found").
For calls that create something (``send*``, ``copyMessage(s)``, ``forwardMessage(s)``,
``create*``) it may show the message twice. The choice:

- direct calls from handlers, dialogs and the backoffice are answers to a person who
  is waiting; a rare duplicate is tolerable, a lost answer is not. They are repeated on
  every transient error (at least once);
- a caller that records what it sent and has its own retry (the outbox sender, which
  keeps the message ids of cards and replies and retries whole rows under a lease) may
  prefer to see the ambiguous error itself: inside ``with at_most_once():`` a creating
  call is repeated only on errors that prove it was not processed (429, connection
  not opened), and anything else is raised at once for the caller to decide.

Every repeat counts in ``ctv_tg_retries_total`` by reason; calls given up after being
retried (or whose 429 asks for longer than the budget) count in
``ctv_tg_retry_exhausted_total``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp import ClientConnectorError
from prometheus_client import Counter

if TYPE_CHECKING:
    from aiogram import Bot

__all__ = ["Failure", "RetryMiddleware", "RetryPolicy", "at_most_once", "classify", "creates"]

log = logging.getLogger(__name__)

RETRIES = Counter("ctv_tg_retries_total", "Bot API calls repeated after a failure", ["reason"])
EXHAUSTED = Counter(
    "ctv_tg_retry_exhausted_total", "Bot API calls given up: the retry budget ran out", ["reason"]
)
STALE_ANSWERS = Counter(
    "ctv_tg_stale_callback_answers_total", "Button presses Telegram found too old to answer"
)

_at_most_once: ContextVar[bool] = ContextVar("tgkit_at_most_once", default=False)


@contextlib.contextmanager
def at_most_once() -> Iterator[None]:
    """Creating calls inside the block are repeated only when provably not processed."""
    token = _at_most_once.set(True)
    try:
        yield
    finally:
        _at_most_once.reset(token)


_CREATING_PREFIXES = ("send", "copyMessage", "forwardMessage", "create")


LEFT_TO_CALLER = frozenset({"getUpdates", "getMe"})
STALE_QUERY = ("query is too old", "query id is invalid")


def creates(api_method: str) -> bool:
    """Whether doing the call twice makes two of something."""
    return api_method != "sendChatAction" and api_method.startswith(_CREATING_PREFIXES)


@dataclass(frozen=True)
class Failure:
    reason: str  # the metric label
    unprocessed: bool  # Telegram certainly did not act on the request
    retry_after: float | None = None


def classify(error: BaseException) -> Failure | None:
    """What a failed call says about retrying; ``None``: not to be retried."""
    if isinstance(error, TelegramRetryAfter):
        return Failure("429", unprocessed=True, retry_after=float(error.retry_after))
    if isinstance(error, TelegramEntityTooLarge):
        return None
    if isinstance(error, TelegramNetworkError):
        cause = error.__cause__
        if isinstance(cause, ClientConnectorError):
            return Failure("connect", unprocessed=True)
        if isinstance(cause, TimeoutError):
            return Failure("timeout", unprocessed=False)
        return Failure("network", unprocessed=False)
    if isinstance(error, TelegramServerError):
        return Failure("5xx", unprocessed=False)
    if isinstance(error, ClientDecodeError):
        return Failure("decode", unprocessed=False)
    return None


@dataclass(frozen=True)
class RetryPolicy:
    # No attempt starts and no wait ends later than this after the first attempt; an
    # attempt already running is bounded by the session's own timeout.
    total: float = 30.0
    base: float = 0.5
    cap: float = 8.0
    # Spread of the wait after a 429, so callers told the same retry_after do not
    # all come back in the same instant.
    retry_after_jitter: float = 0.25

    def backoff(self, attempt: int, roll: float) -> float:
        """Full jitter: uniform in [0, min(cap, base × 2^attempt)]."""
        return roll * min(self.cap, self.base * 2.0**attempt)


class RetryMiddleware(BaseRequestMiddleware):
    """Register first (outermost) so the limiter's middleware paces every attempt."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        roll: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._roll = roll

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        api_method = method.__api_method__
        if api_method in LEFT_TO_CALLER:
            return await make_request(bot, method)
        if api_method == "answerCallbackQuery":
            return await self._answer(make_request, bot, method)
        return await self._retrying(make_request, bot, method, api_method)

    async def _answer(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """A button's answer that came too late is moot, never a failed update.

        Telegram refuses to answer a callback query after about 15 seconds; in a
        burst the desk may reach a press later than that. The press is still
        handled (the dialog moves on, the request is filed): only the little
        toast is lost, so the refusal must not end the handler.
        """
        try:
            return await self._retrying(make_request, bot, method, "answerCallbackQuery")
        except TelegramBadRequest as error:
            if not any(words in error.message.lower() for words in STALE_QUERY):
                raise
            STALE_ANSWERS.inc()
            log.info("a button press was answered too late for Telegram: %s", error.message)
            # aiogram's middleware chain carries the method's result, whatever
            # its annotation says; answerCallbackQuery's result is True.
            return cast("Response[TelegramType]", True)

    async def _retrying(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
        api_method: str,
    ) -> Response[TelegramType]:
        strict = _at_most_once.get() and creates(api_method)
        deadline = self._clock() + self.policy.total
        attempt = 0
        while True:
            try:
                return await make_request(bot, method)
            except Exception as error:
                failure = classify(error)
                if failure is None or (strict and not failure.unprocessed):
                    raise
                delay = self._delay(failure, attempt)
                if self._clock() + delay > deadline:
                    EXHAUSTED.labels(failure.reason).inc()
                    log.warning(
                        "%s failed after %d attempt(s), giving up: %s",
                        api_method,
                        attempt + 1,
                        error,
                    )
                    raise
                RETRIES.labels(failure.reason).inc()
                log.info("%s failed (%s), retrying in %.2fs", api_method, failure.reason, delay)
            await self._sleep(delay)
            attempt += 1

    def _delay(self, failure: Failure, attempt: int) -> float:
        if failure.retry_after is not None:
            return failure.retry_after + self._roll() * self.policy.retry_after_jitter
        return self.policy.backoff(attempt, self._roll())
