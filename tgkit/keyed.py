"""One lock per key (a chat), made when first asked for and forgotten when nobody waits.

The update flow and the limiter both let one coroutine per chat go at a time, in
the order they asked (asyncio locks wake waiters first come, first served); with
a million customers over a month, a lock kept per chat ever seen would only grow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from dataclasses import dataclass, field
from types import TracebackType


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

    def hold(self, key: Hashable | None) -> _Hold:
        """``async with locks.hold(key)``: hold ``key``'s lock for the block; ``None``
        holds nothing."""
        return _Hold(self._entries, key)


class _Hold:
    """The context manager of ``KeyedLocks.hold``.

    A class rather than ``contextlib.asynccontextmanager``: every update and every
    send to Telegram passes through one, and the generator machinery cost several
    times the lock itself (py-spy, ``bench/intake``).
    """

    __slots__ = ("_entries", "_entry", "_key")

    def __init__(self, entries: dict[Hashable, _Entry], key: Hashable | None) -> None:
        self._entries = entries
        self._key = key
        self._entry: _Entry | None = None

    async def __aenter__(self) -> None:
        if self._key is None:
            return
        entry = self._entries.get(self._key)
        if entry is None:
            entry = self._entries[self._key] = _Entry()
        entry.users += 1
        try:
            await entry.lock.acquire()
        except BaseException:
            self._let_go(entry)
            raise
        self._entry = entry

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        entry, self._entry = self._entry, None
        if entry is not None:
            entry.lock.release()
            self._let_go(entry)

    def _let_go(self, entry: _Entry) -> None:
        entry.users -= 1
        if entry.users == 0:
            del self._entries[self._key]
