"""Which errors are a passing fault of a server (worth another try), not a bug."""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout


def transient(error: BaseException) -> bool:
    """A lost Redis or database connection, or a pool that stayed full too long."""
    if isinstance(
        error,
        RedisConnectionError | RedisTimeoutError | PoolTimeout | OperationalError | InterfaceError,
    ):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def describe(error: BaseException) -> str:
    """One line for the log: the error's type and the first words of its message."""
    return f"{type(error).__name__}: {' '.join(str(error).split())[:200]}"
