"""One lock per key (a chat), made when first asked for and forgotten when nobody waits.

The update flow and the limiter both let one coroutine per chat go at a time, in
the order they asked (asyncio locks wake waiters first come, first served); with
a million customers over a month, a lock kept per chat ever seen would only grow.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Hashable
from dataclasses import dataclass, field


@dataclass
class _Entry:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class KeyedLocks:
    def __init__(self) -> None:
        self._entries: dict[Hashable, _Entry] = {}

    def __len__(self) -> int:
        """Keys someone holds or waits for."""
        return len(self._entries)

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable | None) -> AsyncIterator[None]:
        """Hold ``key``'s lock for the block; ``None`` holds nothing."""
        if key is None:
            yield
            return
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._entries[key]
