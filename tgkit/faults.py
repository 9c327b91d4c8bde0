"""Which errors are a passing fault of a server (worth another try), not a bug."""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

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
