"""A Redis client whose concurrent commands share round trips (auto-pipelining).

An update touches Redis about ten times (its mark and journal entry, the chat's
turn, the FSM state, the dialog's stack and context, the send limiter), and
redis-py spends most of each command's cost on the trip, not on the command:
taking a pooled connection under a timeout, a syscall each way, a wake-up. In a
burst a hundred updates are under way at once, and their commands are
independent of each other, so the commands issued while one trip is on the wire
go together in the next one, as one pipeline (not a transaction: each command
stands alone, exactly as it would have). A lone command is sent as it always
was; nothing waits for a timer.

A reply that does not come is bounded per trip, not per reply: redis-py's own
``socket_timeout`` arms a timer for every reply it reads, about a third of a
command's cost here (14 against 20 µs a command in a burst, measured alone), so
the client is made with ``reply_timeout`` instead and the pool without a socket
timeout. A trip, a command of its own or an explicit pipeline that outlasts it
fails with redis-py's ``TimeoutError``, as a socket timeout would have, and its
connection is dropped (redis-py does so when a read is cancelled).

What a caller sees does not change: each gets its own reply, or its own error
(a wrong type, a script Redis does not know yet, which redis-py's scripts then
load and run again). A lost connection fails every command of its trip, each
of which would have failed on its own; redis-py's one retry applies to the
trip. Commands that wait on the server (``BLPOP`` and the like) or change the
connection's state never share a trip. Explicit pipelines and transactions
(``client.pipeline()``) are not affected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from desk.batching import Combiner

TRIPS = Counter("ctv_redis_trips_total", "Round trips to Redis that carried commands shared")
SHARED = Counter("ctv_redis_shared_commands_total", "Commands that shared a round trip")

# Commands that block the connection, or whose effect lives in the connection
# rather than in the data: they keep a trip of their own.
ALONE = frozenset(
    {
        "BLPOP",
        "BRPOP",
        "BLMOVE",
        "BRPOPLPUSH",
        "BZPOPMIN",
        "BZPOPMAX",
        "BLMPOP",
        "BZMPOP",
        "XREAD",
        "XREADGROUP",
        "WAIT",
        "WAITAOF",
        "WATCH",
        "UNWATCH",
        "MULTI",
        "EXEC",
        "DISCARD",
        "SELECT",
        "SUBSCRIBE",
        "PSUBSCRIBE",
        "SSUBSCRIBE",
        "MONITOR",
        "CLIENT",
        "HELLO",
        "AUTH",
        "RESET",
        "QUIT",
    }
)

Command = tuple[tuple[Any, ...], dict[str, Any]]


class AutoPipelineRedis(Redis):
    """``redis.asyncio.Redis`` with concurrent commands sent together (see the module)."""

    def __init__(
        self, *args: Any, batch: int = 256, reply_timeout: float | None = None, **kwargs: Any
    ) -> None:
        """``reply_timeout``: seconds a trip may wait for its replies (see the module)."""
        super().__init__(*args, **kwargs)
        self._trips: Combiner[Command, Any] = Combiner(self._trip, limit=batch)
        self._reply_timeout = reply_timeout

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        name = str(args[0]).upper() if args else ""
        if self.connection is not None or name.split(" ")[0] in ALONE:
            return await self._bounded(super().execute_command(*args, **options))  # type: ignore[no-untyped-call]
        result = await self._trips.submit((args, options))
        if isinstance(result, Exception):
            raise result
        return result

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        pipe = super().pipeline(transaction, shard_hint)
        if self._reply_timeout is not None:
            execute = pipe.execute

            async def bounded(raise_on_error: bool = True) -> list[Any]:
                replies: list[Any] = await self._bounded(execute(raise_on_error))
                return replies

            pipe.execute = bounded  # type: ignore[method-assign]
        return pipe

    async def _trip(self, commands: Sequence[Command]) -> list[Any]:
        if len(commands) == 1:
            args, options = commands[0]
            try:
                return [await self._bounded(super().execute_command(*args, **options))]  # type: ignore[no-untyped-call]
            except Exception as error:
                # Only this command's own error: a lost connection is everyone's.
                if isinstance(error, RedisConnectionError | RedisTimeoutError):
                    raise
                return [error]
        TRIPS.inc()
        SHARED.inc(len(commands))
        async with self.pipeline(transaction=False) as pipe:
            for args, options in commands:
                pipe.execute_command(*args, **options)
            # Each command's own error comes back in its place, not raised.
            replies: list[Any] = await pipe.execute(raise_on_error=False)
        return replies

    async def _bounded(self, call: Awaitable[Any]) -> Any:
        if self._reply_timeout is None:
            return await call
        try:
            async with asyncio.timeout(self._reply_timeout):
                return await call
        except TimeoutError as error:
            raise RedisTimeoutError(
                f"no reply from Redis within {self._reply_timeout:g} s"
            ) from error
