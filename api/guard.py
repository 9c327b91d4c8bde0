"""What every call passes before it reaches the desk: its key, its rate, its size.

Keys come from ``API_KEYS`` in ``X-API-Key`` or ``Authorization: Bearer``;
they are compared in constant time and never stored or logged: a key is
known elsewhere (rate counters, idempotency keys) by a short hash, its scope.

The rate is a fixed one-minute window per key: ``API_RATE_LIMIT`` calls,
counted in Redis when the desk has it (shared by all replicas) and in the
process otherwise (then per replica).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from redis.asyncio import Redis

from api.problems import ApiProblem, invalid

WINDOW = 60


def scope_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def authenticate(request: web.Request, keys: Collection[str]) -> str:
    """The calling key's scope, or 401."""
    given = request.headers.get("X-API-Key")
    if given is None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            given = token.strip()
    if given:
        # Every key is compared, so the time taken says nothing about which matched.
        matched = [hmac.compare_digest(given.encode(), key.encode()) for key in keys]
        if any(matched):
            return scope_of(given)
    raise ApiProblem(
        401,
        "a valid key is required in X-API-Key or Authorization: Bearer",
        headers={"WWW-Authenticate": 'Bearer realm="ctv-desk"'},
    )


@dataclass
class RateLimit:
    per_minute: int
    redis: Redis | None = None
    clock: Callable[[], float] = time.time
    _windows: dict[str, tuple[int, int]] = field(default_factory=dict)

    async def check(self, scope: str) -> None:
        """429 with Retry-After when the key used up this minute's calls."""
        now = self.clock()
        window = int(now // WINDOW)
        if self.redis is not None:
            name = f"ctv:api:rate:{scope}:{window}"
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, WINDOW + 1)
                count = int((await pipe.execute())[0])
        else:
            seen_window, count = self._windows.get(scope, (window, 0))
            count = count + 1 if seen_window == window else 1
            self._windows[scope] = (window, count)
        if count > self.per_minute:
            retry = max(1, int((window + 1) * WINDOW - now) + 1)
            raise ApiProblem(
                429,
                f"more than {self.per_minute} calls a minute with this key",
                headers={"Retry-After": str(retry)},
            )


def too_large(limit: int) -> ApiProblem:
    return ApiProblem(413, f"the body is over {limit} bytes")


async def read_body(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass(frozen=True)
class Part:
    name: str
    filename: str | None
    content_type: str
    data: bytes


async def read_multipart(request: web.Request, limit: int) -> list[Part]:
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit)
    try:
        reader = await request.multipart()
        parts: list[Part] = []
        size = 0
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader):
                raise invalid("body", "nested multipart is not accepted", 400)
            chunks: list[bytes] = []
            while chunk := await part.read_chunk(1 << 16):
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                chunks.append(chunk)
            parts.append(
                Part(
                    part.name or "",
                    part.filename,
                    part.headers.get("Content-Type", "application/octet-stream"),
                    b"".join(chunks),
                )
            )
        return parts
    except (ValueError, AssertionError, RuntimeError, HttpProcessingError) as error:
        # aiohttp's reader raises these for a body that is not the multipart it claims.
        raise invalid("body", f"not valid multipart/form-data ({error})", 400) from None
