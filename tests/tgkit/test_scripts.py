"""A script run once for a batch of concurrent calls: each call still gets its own reply."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from tgkit.scripts import BatchedScript

RUNS = "test:batched:runs"

# Replies each call's key and argument, and counts the script's runs.
ECHO = f"""
redis.call('INCR', '{RUNS}')
local out = {{}}
for i = 1, tonumber(ARGV[1]) do
  out[i] = {{KEYS[i], ARGV[1 + i]}}
end
return out
"""


async def runs(redis: Redis) -> int:
    return int(await redis.get(RUNS) or 0)


async def test_concurrent_calls_share_a_run_and_each_gets_its_own_reply(redis: Redis) -> None:
    await redis.delete(RUNS)
    script = BatchedScript(redis, ECHO)
    replies = await asyncio.gather(*(script((f"key{n}",), (f"arg{n}",)) for n in range(50)))
    assert replies == [[f"key{n}".encode(), f"arg{n}".encode()] for n in range(50)]
    # All made before the batch's writer got its turn: one run for the fifty.
    assert await runs(redis) == 1


async def test_a_lone_call_runs_at_once(redis: Redis) -> None:
    await redis.delete(RUNS)
    script = BatchedScript(redis, ECHO)
    async with asyncio.timeout(1):
        assert await script(("alone",), (7,)) == [b"alone", b"7"]
    assert await runs(redis) == 1


async def test_a_batch_that_fails_fails_each_of_its_calls(redis: Redis) -> None:
    script = BatchedScript(redis, "return redis.error_reply('no such luck')")
    results = await asyncio.gather(
        *(script((f"key{n}",), ()) for n in range(5)), return_exceptions=True
    )
    assert all(isinstance(result, ResponseError) for result in results)


async def test_a_script_that_answers_for_fewer_calls_fails_them_all(redis: Redis) -> None:
    script = BatchedScript(redis, "return {1}")
    results = await asyncio.gather(
        *(script((f"key{n}",), ()) for n in range(5)), return_exceptions=True
    )
    assert all(isinstance(result, RuntimeError) for result in results)
