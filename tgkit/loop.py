"""One way to run a background loop: the outbox sender, the scheduler, the draft reminder.

A loop runs ``step`` once, then waits ``interval`` seconds (or as long as the
step asks, by returning a number) unless woken sooner, and again, until
stopped. A step that raises is logged with its traceback and the loop carries
on after the interval: one bad round must not stop the next ones.

The wait uses ``asyncio.timeout``, never ``asyncio.wait_for``: on Python 3.11
``wait_for`` swallows a cancellation that arrives in the same turn as the event
it waits for (a wake at the moment of a stop), and the loop would then run on
while ``stop`` waited for it forever. ``stop`` also sets a flag the loop checks,
so even a cancellation lost elsewhere in a step cannot keep it alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from tgkit.faults import describe, transient

log = logging.getLogger(__name__)

Step = Callable[[], Awaitable[float | None]]

# How soon a cancellation is sent again to a task that ran on after the last one.
RECANCEL_SECONDS = 0.1


async def cancel_and_wait(
    task: asyncio.Task[Any], *, again_after: float = RECANCEL_SECONDS
) -> None:
    """Cancel ``task`` and wait for its end, sending the cancellation again while it runs on.

    On Python 3.11 ``asyncio.wait_for`` swallows a cancellation that arrives as what it
    waits for ends, and redis-py wraps every command's write in one: a task cancelled
    once in a Redis call may carry on, and ``task.cancel(); await task`` then waits for
    it forever (an update whose chat lease's renewal ran on held its chat until the
    process stopped). An exception the task ended with, other than the cancellation,
    is raised here.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=again_after)
    with contextlib.suppress(asyncio.CancelledError):
        await task


class BackgroundLoop:
    def __init__(self, name: str, step: Step, *, interval: float) -> None:
        self.name = name
        self.interval = interval
        self._step = step
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        """Start the loop; starting a running loop does nothing."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        await cancel_and_wait(task)

    def wake(self) -> None:
        """Run the next step now instead of at the end of the wait."""
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            # Cleared before the step: a wake during the step means work may have
            # arrived after the step looked, so the next step follows at once.
            self._wake.clear()
            try:
                delay = await self._step()
            except Exception as error:  # the loop must survive anything; the cause is logged
                if transient(error):
                    # A database or Redis outage: one line per round, not a traceback.
                    log.warning("%s: a round failed (%s); retrying", self.name, describe(error))
                else:
                    log.exception("%s: a round failed; the next one follows", self.name)
                delay = None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval if delay is None else delay):
                    await self._wake.wait()
