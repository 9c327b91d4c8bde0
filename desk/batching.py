"""Write-combining: concurrent requests for the same kind of write share one transaction.

A transaction has a fixed price (with aiosqlite every begin, statement, fetch
and commit is a trip to the connection's thread and back), so a burst of
small writes is cheaper written together. The batching is natural, not timed:
a request that finds no batch being written starts one at once (a lone
request never waits for a tick); requests that arrive while a batch is being
written queue, and the next batch takes all of them, up to ``limit``.

The batch is written by a task of its own, not by one of the callers: a
caller that is cancelled stops waiting, and the others' write goes on. A
failure of the batch is every caller's failure, with the same exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Combiner(Generic[Item, Result]):
    """Gathers concurrent ``submit`` calls into calls of ``write`` with many items.

    ``write`` gets the items of a batch and returns one result per item, in
    their order. Bound to the event loop it is first used in; a later loop
    (tests, ``asyncio.run`` twice) starts afresh.
    """

    def __init__(
        self,
        write: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]],
        *,
        limit: int = 200,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._write = write
        self._limit = limit
        self._queue: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # A writer of a loop that is gone would never run again: its queue
            # would wait forever.
            self._loop, self._queue, self._writer = loop, [], None
        future: asyncio.Future[Result] = loop.create_future()
        self._queue.append((item, future))
        if self._writer is None:
            self._writer = loop.create_task(self._drain())
        # Cancelling the caller cancels only its future; the writer skips it.
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                taken = self._queue[: self._limit]
                del self._queue[: self._limit]
                batch = [(item, future) for item, future in taken if not future.done()]
                if batch:
                    await self._write_batch(batch)
        except BaseException as error:
            # Only the writer itself being stopped (the loop shutting down) gets
            # here: whoever still waits must hear of it, not hang.
            _fail([future for _, future in self._queue], error)
            self._queue.clear()
            raise
        finally:
            # No await between the empty queue and this: a request arriving now
            # finds no writer and starts one.
            if self._writer is asyncio.current_task():
                self._writer = None

    async def _write_batch(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        futures = [future for _, future in batch]
        try:
            results = await self._write([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{len(results)} results for {len(batch)} items")
        except Exception as error:
            _fail(futures, error)
            return
        except BaseException as error:
            _fail(futures, error)
            raise
        for future, result in zip(futures, results, strict=True):
            if not future.done():
                future.set_result(result)


def _fail(futures: Sequence[asyncio.Future[Result]], error: BaseException) -> None:
    for future in futures:
        if future.done():
            continue
        if isinstance(error, asyncio.CancelledError):
            # The asyncio way of saying so: its waiter raises CancelledError.
            future.cancel()
        else:
            future.set_exception(error)
