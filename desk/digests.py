"""Digests for managers (R11): on demand (``/digest``) and on schedule, each scheduled one once.

The figures are ``desk/digest.py``'s arithmetic on the history ``storage/digest.py``
reads. A scheduled digest is recorded per recipient in ``digests_sent`` in the
transaction that writes its outbox rows (the chart, then the full text): the
unique key lets one replica, one round, write it; the others roll back. Every
scheduler round asks for the latest daily and weekly digest whose time has come,
so a desk that was down at 09:00 sends it at its first round, once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from desk.change import DeskBase
from desk.digest import Digest, Period, compute, due_periods, flow_since, parse_period
from desk.errors import ManagersOnly
from desk.roles import reads_digests
from desk.values import Actor
from storage import digest as store

log = logging.getLogger(__name__)


class Digests(DeskBase):
    async def digest(self, actor: Actor, period_text: str | None = None) -> Digest:
        """The digest a manager asked for: today so far, ``day``, ``week`` or a range of days."""
        if not reads_digests(actor.roles):
            raise ManagersOnly("digests are for managers")
        now = self._clock()
        period = parse_period(period_text, now, self.calendar.hours.tz, self.config.digest_schedule)
        return await self.compute_digest(period, now)

    async def compute_digest(self, period: Period, now: datetime) -> Digest:
        tz = self.calendar.hours.tz
        async with self._sessions() as session:
            tickets = await store.period_tickets(session, period.start, period.end)
            history = await store.period_history(session, period.start, period.end)
            ratings = await store.events_between(session, period.start, period.end, ("rate",))
            flow = await store.events_between(
                session, flow_since(period, tz), None, store.FLOW_ACTIONS
            )
            backlog = await store.backlog_now(session)
            clocks = await store.running_clocks(session, now)
            oldest = await store.oldest_open(session, 5)
            tariffs = await store.tariffs(session)
            agents: set[int] = set()
            for event in history:
                if event.actor_agent_id is not None:
                    agents.add(event.actor_agent_id)
                assignee = event.after.get("assignee_id")
                if isinstance(assignee, int):
                    agents.add(assignee)
            names = await store.agent_names(session, sorted(agents))
        return compute(
            period=period,
            now=now,
            calendar=self.calendar,
            tickets=tickets,
            history=history,
            ratings=ratings,
            flow=flow,
            backlog=backlog,
            clocks=clocks,
            oldest=oldest,
            tariffs=tariffs,
            agent_names=names,
        )

    async def send_due_digests(self) -> list[tuple[str, str, int]]:
        """Write the scheduled digests whose time has come and that nobody wrote yet.

        Returns (kind, period, recipient) of each written now.
        """
        recipients = self.config.digest_recipients
        if not recipients:
            return []
        now = self._clock()
        written: list[tuple[str, str, int]] = []
        for period in due_periods(now, self.calendar.hours.tz, self.config.digest_schedule):
            async with self._sessions() as session:
                done = await store.recorded_recipients(session, period.kind.value, period.key)
                languages = await store.staff_languages(session, list(recipients))
            waiting = [r for r in recipients if r not in done]
            if not waiting:
                continue
            payload = (await self.compute_digest(period, now)).to_payload()
            for recipient in waiting:
                if await self._write_digest(period, recipient, payload, languages.get(recipient)):
                    written.append((period.kind.value, period.key, recipient))
        return written

    async def _write_digest(
        self, period: Period, recipient: int, payload: dict[str, object], language: str | None
    ) -> bool:
        key = f"digest:{period.kind.value}:{period.key}:{recipient}"
        try:
            async with self._change(Actor.system()) as change:
                await store.record_digest(
                    change.session, period.kind.value, period.key, recipient, change.now
                )
                body = {"digest": payload, "language": language}
                change.report(recipient, "manager.digest_chart", body, f"{key}:chart")
                change.report(recipient, "manager.digest_text", body, f"{key}:text")
        except IntegrityError:
            # Another replica (or round) wrote this one first: nothing of ours was kept.
            log.debug("digest %s already written", key)
            return False
        return True
