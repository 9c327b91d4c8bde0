"""A Lua script run once for every batch of concurrent calls, not once per call.

Some of an update's Redis commands are the same small step for every update: its
mark taken and set done, the chat's turn taken and given back. In a burst a
hundred updates take those steps at about the same time, and each command costs
the client more than the server (packing, a future, a parsed reply: about 1.7 %
of the desk's time a command per update, py-spy, ``bench/intake``). Run as one
script for all the calls that came while the last one was on its way
(``desk.batching.Combiner``: a lone call goes at once, nothing waits for a
timer), those steps cost a command a batch instead of a command an update.

A script written for this gets, for each call ``i`` (1-based) of a batch of
``n``, its keys at ``KEYS[(i-1)*k+1 .. i*k]`` and its arguments at
``ARGV[1+(i-1)*a+1 .. 1+i*a]`` (``k`` keys and ``a`` arguments a call, the same
for every call; ``ARGV[1]`` is ``n``), and returns a table of ``n`` replies, one a
call, in order. Each call is atomic on its own, as its single command was; a
batch adds no guarantee between calls. An error (a lost connection) fails every
call of the batch with the same exception, as it would have failed each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis

from desk.batching import Combiner

Call = tuple[tuple[str, ...], tuple[Any, ...]]


class BatchedScript:
    def __init__(self, redis: Redis, body: str, *, limit: int = 500) -> None:
        self._script = redis.register_script(body)
        self._calls: Combiner[Call, Any] = Combiner(self._run, limit=limit)

    async def __call__(self, keys: tuple[str, ...], args: tuple[Any, ...]) -> Any:
        """This call's reply, once the batch it went in has run."""
        return await self._calls.submit((keys, args))

    async def _run(self, calls: Sequence[Call]) -> list[Any]:
        keys = [key for call_keys, _ in calls for key in call_keys]
        args: list[Any] = [len(calls)]
        for _, call_args in calls:
            args += call_args
        replies = await self._script(keys=keys, args=args)
        if not isinstance(replies, list) or len(replies) != len(calls):
            raise RuntimeError(f"a batched script answered {replies!r} to {len(calls)} calls")
        return replies
