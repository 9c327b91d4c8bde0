"""Start-up checks against Telegram, each ending in one line for the operator.

- Telegram (or ``TELEGRAM_API_URL``) cannot be reached: every attempt is logged
  in one line, attempts back off exponentially for up to ``STARTUP_RETRY_SECONDS``
  (a minute by default), then the desk gives up with exit code 1.
- The token is rejected (401): exit code 2, like any other wrong setting.
- The backoffice group cannot be seen: the desk still starts and serves
  customers; the health endpoint says ``"backoffice": "unreachable"`` and the
  cards wait in the outbox until the group is reachable (the sender retries them).

Tracebacks go to the DEBUG log only: an operator reading the console needs the
cause and the setting to check, not aiohttp's call stack.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass

from aiogram import Bot
from aiogram.enums import ChatType
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import User

from tgkit.outbox import telegram_problem

log = logging.getLogger(__name__)

EXIT_UNREACHABLE = 1
EXIT_SETTINGS = 2
FIRST_DELAY = 1.0
MAX_DELAY = 15.0


class StartupError(Exception):
    """Why the desk cannot start, in one line, and the exit code to end with."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


async def connect(bot: Bot, api_url: str, *, within: float) -> User:
    """``getMe`` until Telegram answers, for at most ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    delay = FIRST_DELAY
    attempt = 0
    while True:
        attempt += 1
        try:
            return await bot.get_me()
        except TelegramUnauthorizedError:
            raise StartupError(
                "BOT_TOKEN was rejected by Telegram (401 Unauthorized); "
                "check BOT_TOKEN (the token @BotFather gave)",
                EXIT_SETTINGS,
            ) from None
        except (TelegramNetworkError, TelegramServerError, ClientDecodeError) as error:
            cause = _one_line(error)
            log.debug("getMe failed", exc_info=True)
        left = deadline - loop.time()
        if left <= 0:
            raise StartupError(
                f"Telegram cannot be reached at {api_url} ({cause}) after {attempt} attempts; "
                "check TELEGRAM_API_URL and the network",
                EXIT_UNREACHABLE,
            )
        # Jitter keeps several replicas that lost Telegram together from retrying in step.
        wait = min(delay * (0.5 + random.random() / 2), left)
        log.warning(
            "Telegram cannot be reached at %s (%s); attempt %d, retrying in %.1fs",
            api_url,
            cause,
            attempt,
            wait,
        )
        await asyncio.sleep(wait)
        delay = min(delay * 2, MAX_DELAY)


@dataclass
class BackofficeState:
    """Whether the agents' group could be reached at the last attempt (for /health)."""

    chat_id: int
    reachable: bool | None = None  # None: not checked yet
    problem: str = ""

    def mark(self, reachable: bool, problem: str = "") -> None:
        if reachable and self.reachable is False:
            log.info("backoffice chat %s is reachable again", self.chat_id)
        self.reachable = reachable
        self.problem = problem


def advice(chat_id: int, problem: str) -> str:
    return (
        f"backoffice chat {chat_id} is unreachable ({problem}): add the bot to the group, "
        "make it an administrator for forum topics, and check BACKOFFICE_CHAT_ID; "
        "customers are served meanwhile and cards wait in the outbox"
    )


async def check_backoffice(bot: Bot, state: BackofficeState) -> bool:
    """Can the bot see and write to the backoffice group? Logs one line when not."""
    try:
        chat = await bot.get_chat(state.chat_id)
        if chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
            problem = f"it is a {chat.type}, not a group"
        else:
            member = await bot.get_chat_member(state.chat_id, bot.id)
            problem = "" if member.status not in ("left", "kicked") else "the bot is not a member"
    except (TelegramBadRequest, TelegramForbiddenError) as error:
        problem = telegram_problem(error)
    except TelegramAPIError as error:
        # Telegram's own trouble is not the group's: the outbox will retry anyway.
        log.warning("backoffice chat %s could not be checked: %s", state.chat_id, error)
        return state.reachable is not False
    if problem:
        log.error("%s", advice(state.chat_id, problem))
        state.mark(False, problem)
        return False
    state.mark(True)
    return True


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}"[:300]
