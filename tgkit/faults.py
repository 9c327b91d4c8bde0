"""Which errors are a passing fault of a server (worth another try), not a bug."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from prometheus_client import Counter
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger(__name__)
T = TypeVar("T")

WAITED_WRITES = Counter(
    "ctv_writes_waited_total", "Writes after a Telegram call tried again after a database fault"
)

# PostgreSQL's words for a server going away or not there yet: admin shutdown, crash
# shutdown, "the database system is shutting down / starting up" (57P01-57P03), and
# every connection exception (class 08). The drivers report them as plain errors.
SERVER_AWAY = ("57P01", "57P02", "57P03")


def transient(error: BaseException) -> bool:
    """A lost Redis or database connection, or a pool that stayed full too long."""
    if isinstance(
        error,
        RedisConnectionError | RedisTimeoutError | PoolTimeout | OperationalError | InterfaceError,
    ):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    code = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return isinstance(code, str) and (code in SERVER_AWAY or code.startswith("08"))


def describe(error: BaseException) -> str:
    """One line for the log: the error's type and the first words of its message."""
    return f"{type(error).__name__}: {' '.join(str(error).split())[:200]}"


FIRST_BACKOFF = 0.25
MAX_BACKOFF = 2.0


async def until_written(
    write: Callable[[], Awaitable[T]], what: str, *, first: float = FIRST_BACKOFF
) -> T:
    """Run ``write`` until it lands, waiting out passing faults (a database restart).

    For what must follow something Telegram already did: the record of a card or a
    copy just sent, a delivery's outcome. Giving up would have the message sent
    again; so it waits as long as the outage lasts, or until the task is cancelled
    (the sender's stop). A bug is raised at once.
    """
    delay = first
    while True:
        try:
            return await write()
        except Exception as error:
            if not (transient(error) or isinstance(error, OSError)):
                raise
            WAITED_WRITES.inc()
            log.warning("%s waits for the database (%s)", what, describe(error))
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)
