"""Concurrent Redis commands share round trips, and each caller still gets its own answer."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import BlockingConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tgkit.autopipe import AutoPipelineRedis


def shared() -> float:
    return REGISTRY.get_sample_value("ctv_redis_shared_commands_total") or 0.0


def trips() -> float:
    return REGISTRY.get_sample_value("ctv_redis_trips_total") or 0.0


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[AutoPipelineRedis]:
    pool = BlockingConnectionPool.from_url(redis_url, max_connections=4, timeout=5)
    redis = AutoPipelineRedis(connection_pool=pool)
    yield redis
    await redis.aclose()
    await pool.disconnect()


async def test_commands_issued_together_share_a_few_trips(client: AutoPipelineRedis) -> None:
    before_shared, before_trips = shared(), trips()
    await asyncio.gather(*(client.set(f"k{i}", i) for i in range(200)))
    values = await asyncio.gather(*(client.get(f"k{i}") for i in range(200)))
    assert values == [str(i).encode() for i in range(200)]
    # 400 commands; with four connections and no sharing that would be 400 trips.
    assert shared() - before_shared >= 390
    assert trips() - before_trips <= 20


async def test_a_lone_command_is_sent_at_once(client: AutoPipelineRedis) -> None:
    before = trips()
    async with asyncio.timeout(1):
        assert await client.set("alone", 1)
        assert await client.get("alone") == b"1"
    assert trips() == before  # no shared trip: a command of its own


async def test_a_commands_own_error_reaches_only_its_caller(client: AutoPipelineRedis) -> None:
    await client.hset("a-hash", "field", "1")
    results = await asyncio.gather(
        client.set("fine", 1),
        client.get("a-hash"),  # WRONGTYPE
        client.incr("counter"),
        return_exceptions=True,
    )
    assert results[0] is True
    assert isinstance(results[1], ResponseError)
    assert results[2] == 1


async def test_scripts_redis_forgot_are_loaded_again_and_replies_keep_their_shape(
    client: AutoPipelineRedis,
) -> None:
    double = client.register_script("return tonumber(ARGV[1]) * 2")
    await client.zadd("scores", {"a": 1.5, "b": 2.5})
    await client.script_flush()  # a restarted Redis: EVALSHA answers NOSCRIPT
    results = await asyncio.gather(
        *(double(args=[i]) for i in range(20)),
        client.zrangebyscore("scores", "-inf", "+inf", withscores=True),
    )
    assert results[:20] == [2 * i for i in range(20)]
    assert results[20] == [(b"a", 1.5), (b"b", 2.5)]


async def test_a_lost_connection_fails_each_command_of_the_trip() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nobody listens there once closed
    pool = BlockingConnectionPool.from_url(f"redis://127.0.0.1:{port}/0", max_connections=2)
    redis = AutoPipelineRedis(connection_pool=pool)
    try:
        results = await asyncio.gather(
            *(redis.get(f"k{i}") for i in range(10)), return_exceptions=True
        )
        assert all(isinstance(result, RedisConnectionError) for result in results)
    finally:
        await redis.aclose()


async def test_a_blocking_command_holds_up_no_other(client: AutoPipelineRedis) -> None:
    waiting = asyncio.create_task(client.blpop(["nothing-here"], timeout=1))
    await asyncio.sleep(0.05)
    async with asyncio.timeout(0.5):
        await asyncio.gather(*(client.set(f"s{i}", i) for i in range(10)))
    assert await waiting is None


async def test_a_redis_that_never_replies_fails_each_way_of_asking_within_the_reply_timeout() -> (
    None
):
    """A server that takes the connection and the commands and never answers (a hung
    Redis): a lone command, commands sharing a trip and an explicit pipeline all fail
    with redis-py's TimeoutError, as its per-read socket timeout made them before."""
    swallowed: list[bytes] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(65536):
            swallowed.append(chunk)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pool = BlockingConnectionPool(host="127.0.0.1", port=port, max_connections=8, timeout=5)
    redis = AutoPipelineRedis(connection_pool=pool, reply_timeout=0.3)
    loop = asyncio.get_running_loop()
    try:
        for ask in (
            lambda: redis.get("lone"),
            lambda: asyncio.gather(redis.get("a"), redis.set("b", 1), redis.incr("c")),
            lambda: redis.pipeline(transaction=True).set("d", 1).get("d").execute(),
        ):
            started = loop.time()
            with pytest.raises(RedisTimeoutError, match=r"no reply from Redis within 0\.3 s"):
                await asyncio.wait_for(ask(), 5)
            assert 0.25 < loop.time() - started < 2.0
        assert swallowed  # the commands did reach the server
    finally:
        await redis.aclose()
        await pool.disconnect()
        server.close()
        await server.wait_closed()


async def test_replies_are_read_by_hiredis(client: AutoPipelineRedis) -> None:
    """The project installs redis-py with hiredis (pyproject.toml): replies parsed in C."""
    from redis._parsers import _AsyncHiredisParser

    await client.ping()
    connection = await client.connection_pool.get_connection()
    try:
        assert isinstance(connection._parser, _AsyncHiredisParser)
    finally:
        await client.connection_pool.release(connection)
