"""Assignment: who works a request (take, assign) and how urgent it is (priority, R4)."""

from __future__ import annotations

from desk import lifecycle
from desk.change import Change, DeskBase, agent_name, snapshot
from desk.errors import AlreadyTaken, ConcurrentChange, NotFound
from desk.model import Action, Priority, Status
from desk.values import Actor
from storage.models import Agent, Ticket


class Assignment(DeskBase):
    async def take(self, actor: Actor, number: int) -> Ticket:
        """Assign to oneself; of two agents pressing Take at once one wins."""
        try:
            async with self._change(actor) as change:
                ticket = await change.load(number, Action.TAKE)
                if ticket.assignee_id == actor.agent_id:
                    return ticket
                if ticket.assignee is not None:
                    raise AlreadyTaken(agent_name(ticket.assignee))
                await _assign(change, ticket, Action.TAKE, actor.agent_id)
        except ConcurrentChange:
            current = await self._ticket(actor, number)
            if current.assignee is not None and current.assignee_id != actor.agent_id:
                raise AlreadyTaken(agent_name(current.assignee)) from None
            raise
        return ticket

    async def assign(self, actor: Actor, number: int, agent_id: int) -> Ticket:
        async with self._change(actor) as change:
            ticket = await change.load(number, Action.ASSIGN)
            if await change.session.get(Agent, agent_id) is None:
                raise NotFound("agent not found", agent_id=agent_id)
            if ticket.assignee_id != agent_id:
                await _assign(change, ticket, Action.ASSIGN, agent_id)
        return ticket

    async def set_priority(self, actor: Actor, number: int, priority: Priority) -> Ticket:
        async with self._change(actor) as change:
            ticket = await change.load(number, Action.SET_PRIORITY)
            lifecycle.next_status(Action.SET_PRIORITY, Status(ticket.status))
            if ticket.priority == int(priority):
                return ticket
            before = snapshot(ticket)
            ticket.priority = int(priority)
            change.recompute_due(ticket)
            event = await change.event(ticket, Action.SET_PRIORITY, before)
            change.tell_customer(
                ticket,
                event,
                "priority_changed",
                {"priority": ticket.priority, "old_priority": before["priority"]},
            )
            change.card(ticket, event)
        return ticket


async def _assign(change: Change, ticket: Ticket, action: Action, agent_id: int | None) -> None:
    before = snapshot(ticket)
    ticket.status = lifecycle.next_status(action, Status(ticket.status)).value
    ticket.assignee_id = agent_id
    agent = await change.session.get(Agent, agent_id) if agent_id else None
    ticket.assignee = agent
    event = await change.event(ticket, action, before)
    change.tell_customer(ticket, event, "taken", {"agent_name": agent.name if agent else ""})
    change.card(ticket, event)
