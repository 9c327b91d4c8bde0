"""Periodic work: SLA warnings, reminders, auto-close (R6), managers' digests, pruning.

One loop per process, every ``interval`` seconds. With several replicas
(``REDIS_URL`` set) a Redis lock lets one replica run a round at a time;
the desk re-checks every request under its row lock and records what it sent
(``tickets.sla_alerts``, ``reminder_sent_at``, ``waiting_reminded_at``,
``digests_sent``), so a
round run twice sends and closes nothing twice. Every job compares with the
current time, so a desk that was stopped past a deadline acts on it at its
first round after the start, once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from desk.service import Desk
from storage import repository as repo
from storage.db import SessionFactory
from tgkit.loop import BackgroundLoop

log = logging.getLogger(__name__)
LOCK_KEY = "ctv:scheduler:lock"
KEEP_UPDATE_IDS = timedelta(days=2)


class Scheduler:
    def __init__(
        self,
        desk: Desk,
        *,
        interval: float = 60.0,
        redis: Redis | None = None,
        sessions: SessionFactory | None = None,
    ) -> None:
        self._desk = desk
        self._sessions = sessions
        self._interval = interval
        self._redis = redis
        self._loop = BackgroundLoop("scheduler", self.run_once, interval=interval)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def run_once(self) -> None:
        if self._redis is not None:
            acquired = await self._redis.set(LOCK_KEY, "1", nx=True, ex=max(5, int(self._interval)))
            if not acquired:
                return
        if self._sessions is not None:
            async with self._sessions() as session, session.begin():
                await repo.prune_processed_updates(session, datetime.now(UTC) - KEEP_UPDATE_IDS)
        warned = await self._desk.watch_sla()
        waiting = await self._desk.remind_waiting_customers()
        reminded = await self._desk.send_auto_close_reminders()
        closed = await self._desk.auto_close_due()
        digests = await self._desk.send_due_digests()
        if digests:
            log.info("digests written: %s", digests)
        if warned or waiting or reminded or closed:
            log.info(
                "SLA warnings %s, reminded waiting %s, reminded to confirm %s, auto-closed %s",
                [f"CTV-{n} {a}" for n, a in warned],
                waiting,
                reminded,
                closed,
            )
