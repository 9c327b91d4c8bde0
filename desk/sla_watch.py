"""The SLA watch as the scheduler runs it: warnings to the agents, reminders to the customer.

The arithmetic is ``desk.watch``; this phase loads the requests, records each
warning once (``tickets.sla_alerts``, under the request's row lock, so two
replicas running the same round cannot both send it), and writes the history
event and the outbox rows in the same transaction, like every other change.
"""

from __future__ import annotations

from datetime import datetime

from desk import lifecycle
from desk.change import Change, DeskBase, agent_name, iso
from desk.model import Action, Priority, Status
from desk.values import Actor
from desk.watch import Alert, Clock, alerts_due, recorded, waiting_reminder_due
from storage import repository as repo
from storage.models import Ticket


def _sent(ticket: Ticket) -> frozenset[str]:
    return frozenset(name for name in (ticket.sla_alerts or "").split(",") if name)


class Watch(DeskBase):
    def _alerts(self, ticket: Ticket, now: datetime) -> list[Alert]:
        targets = {t.priority: t for t in ticket.tariff.targets}
        target = targets.get(int(Priority(ticket.priority)))
        if target is None:
            return []
        return alerts_due(
            self.calendar,
            now,
            created_at=ticket.created_at,
            paused=ticket.paused_at is not None,
            paused_minutes=ticket.paused_minutes,
            first_response=Clock(
                ticket.first_response_due_at,
                target.first_response_minutes,
                met=ticket.first_responded_at is not None,
            ),
            resolution=Clock(
                ticket.resolution_due_at,
                target.resolution_minutes,
                met=Status(ticket.status) not in lifecycle.WORKING,
            ),
            sent=_sent(ticket),
            business_days_only=ticket.tariff.business_days_only,
        )

    async def watch_sla(self) -> list[tuple[int, Alert]]:
        """Warn the backoffice of every target at risk or breached now; each warning once."""
        now = self._clock()
        async with self._sessions() as session:
            working = await repo.working_tickets(session)
        candidates = [t.id for t in working if self._alerts(t, now)]
        sent: list[tuple[int, Alert]] = []
        for ticket_id in candidates:
            async with self._change(Actor.system()) as change:
                ticket = await repo.ticket_by_id(change.session, ticket_id, for_update=True)
                if ticket is None:
                    continue
                alerts = self._alerts(ticket, change.now)  # again, under the lock
                if not alerts:
                    continue  # another replica, or an agent, was first
                ticket.sla_alerts = ",".join(sorted(recorded(_sent(ticket), alerts)))
                for alert in alerts:
                    await self._warn(change, ticket, alert)
                    sent.append((ticket.number, alert))
        return sent

    async def _warn(self, change: Change, ticket: Ticket, alert: Alert) -> None:
        if alert.target == "first_response":
            due = ticket.first_response_due_at
        else:
            due = ticket.resolution_due_at
        event = await change.event(
            ticket, Action.SLA_WARNING, internal=True, extra={"alert": alert.value}
        )
        change.tell_backoffice(
            ticket,
            event,
            "event",
            {
                "action": Action.SLA_WARNING.value,
                "alert": alert.value,
                "due_at": iso(due),
                "assignee": agent_name(ticket.assignee) if ticket.assignee else None,
            },
        )
        if alert.breach:
            change.card(ticket, event)  # the card shows the request overdue now

    async def remind_waiting_customers(self) -> list[int]:
        """A customer silent for a support day after a question is reminded once per wait."""
        now = self._clock()
        async with self._sessions() as session:
            waiting = await repo.waiting_tickets(session)
        due = [
            t.id
            for t in waiting
            if waiting_reminder_due(self.calendar, now, t.paused_at, t.waiting_reminded_at)
        ]
        reminded: list[int] = []
        for ticket_id in due:
            async with self._change(Actor.system()) as change:
                ticket = await repo.ticket_by_id(change.session, ticket_id, for_update=True)
                if ticket is None or ticket.status != Status.WAITING_CUSTOMER.value:
                    continue
                if not waiting_reminder_due(
                    self.calendar, change.now, ticket.paused_at, ticket.waiting_reminded_at
                ):
                    continue
                lifecycle.check_role(change.actor.roles, Action.WAITING_REMINDER)
                ticket.waiting_reminded_at = change.now
                event = await change.event(ticket, Action.WAITING_REMINDER)
                change.tell_customer(ticket, event, "waiting_reminder")
                reminded.append(ticket.number)
        return reminded
