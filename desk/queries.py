"""Queries: reading the desk — a request, its history, the customer's list, the queue,
search, statistics, the agents — and the bookkeeping of where things were shown.

Nothing here changes a request. Customers read their own requests only;
staff (``desk.roles.STAFF``) read everything, internal notes included.
"""

from __future__ import annotations

from collections.abc import Sequence

from desk import lifecycle
from desk.change import DeskBase, check_owner, may_see
from desk.errors import PermissionDenied
from desk.model import Action, Status
from desk.resolution import check_customer_reopen
from desk.values import Actor, OpenStats
from storage import repository as repo
from storage.models import Agent, Attachment, Message, Ticket, TicketEvent


class Queries(DeskBase):
    async def ticket(self, actor: Actor, number: int) -> Ticket:
        return await self._ticket(actor, number)

    async def filed_by_intake(self, telegram_user_id: int, intake_key: str) -> Ticket | None:
        """The request that the Telegram user's intake ``intake_key`` filed, if it did
        (asked where the person is not resolved yet: a stale button's error)."""
        if not intake_key:
            return None
        async with self._sessions() as session:
            customer = await repo.customer_by_telegram_id(session, telegram_user_id)
            if customer is None:
                return None
            return await repo.ticket_by_intake(session, customer.id, intake_key)

    async def ensure_allowed(self, actor: Actor, number: int, action: Action) -> Ticket:
        """Raise what the use case would raise, without changing anything.

        For two-step interactions (ask for a reason, then act): a stale button
        is refused before the customer types anything.
        """
        lifecycle.check_role(actor.roles, action)
        ticket = await self._ticket(actor, number)
        status = Status(ticket.status)
        lifecycle.next_status(action, status)
        if action is Action.REOPEN:
            check_customer_reopen(actor, status)
        return ticket

    async def history(self, actor: Actor, number: int) -> Sequence[TicketEvent]:
        """The request's history; customers never see internal notes."""
        async with self._sessions() as session:
            ticket = check_owner(actor, await repo.ticket_by_number(session, number), number)
            return await repo.ticket_events(session, ticket.id, include_internal=actor.is_staff)

    async def my_tickets(
        self, actor: Actor, *, offset: int = 0, limit: int = 10
    ) -> Sequence[Ticket]:
        if actor.customer_id is None:
            return []
        async with self._sessions() as session:
            return await repo.customer_tickets(
                session, actor.customer_id, offset=offset, limit=limit
            )

    async def open_tickets(self, actor: Actor) -> Sequence[Ticket]:
        """The customer's requests that are not closed."""
        if actor.customer_id is None:
            return []
        async with self._sessions() as session:
            return await repo.open_tickets_of(session, actor.customer_id)

    async def search(self, actor: Actor, query: str, *, limit: int = 20) -> Sequence[Ticket]:
        """Staff search over every request: "@username" or words of the topic/description."""
        if not actor.is_staff:
            raise PermissionDenied("search is for staff")
        text = query.strip()
        async with self._sessions() as session:
            if text.startswith("@"):
                return await repo.search_tickets(session, username=text[1:], limit=limit)
            return await repo.search_tickets(session, text=text, limit=limit)

    async def open_stats(self, actor: Actor) -> OpenStats:
        """Requests in work (``lifecycle.WORKING``); overdue as ``desk.sla.is_overdue`` says."""
        if not actor.is_staff:
            raise PermissionDenied("statistics are for staff")
        async with self._sessions() as session:
            by_status, by_priority, overdue, unassigned = await repo.open_counts(
                session, self._clock()
            )
        return OpenStats(by_status, by_priority, overdue, unassigned)

    async def queue(
        self, actor: Actor, *, mine: bool = False, offset: int = 0, limit: int = 20
    ) -> Sequence[Ticket]:
        if not actor.is_staff:
            raise PermissionDenied("the queue is for staff")
        async with self._sessions() as session:
            return await repo.open_queue(
                session,
                assignee_id=actor.agent_id if mine else None,
                offset=offset,
                limit=limit,
            )

    async def agents(self, actor: Actor) -> Sequence[Agent]:
        """Everyone the desk knows as staff (to choose an assignee)."""
        if not actor.is_staff:
            raise PermissionDenied("the list of agents is for staff")
        async with self._sessions() as session:
            return await repo.agents(session)

    async def attachments(
        self, ticket_id: int, *, message_id: int | None = None
    ) -> Sequence[Attachment]:
        """Files of a request (or of one of its messages), for showing them again."""
        async with self._sessions() as session:
            return await repo.attachments_of(session, ticket_id, message_id=message_id)

    # -- where things were shown (bookkeeping of deliveries, no rules) ------

    async def find_by_message(self, actor: Actor, chat_id: int, message_id: int) -> Ticket | None:
        """The request a message belongs to: its card, or either side of a relayed message."""
        async with self._sessions() as session:
            ticket = None
            if chat_id == self.config.backoffice_chat_id:
                ticket = await repo.ticket_by_card(session, message_id)
            if ticket is None:
                message = await repo.message_by_ref(session, chat_id, message_id)
                if message is not None:
                    ticket = await repo.ticket_by_id(session, message.ticket_id)
            if ticket is None or not may_see(actor, ticket):
                return None
            return ticket

    async def find_by_thread(self, actor: Actor, thread_id: int) -> Ticket | None:
        async with self._sessions() as session:
            ticket = await repo.ticket_by_thread(session, thread_id)
            return ticket if ticket is not None and may_see(actor, ticket) else None

    async def message(self, message_id: int) -> Message | None:
        async with self._sessions() as session:
            return await session.get(Message, message_id)

    async def record_copy(self, message_id: int, chat_id: int, copy_message_id: int) -> None:
        """The relayed copy of a message now exists in ``chat_id``: remember the pair."""
        async with self._sessions() as session, session.begin():
            message = await session.get(Message, message_id)
            if message is not None:
                message.copy_chat_id, message.copy_message_id = chat_id, copy_message_id

    async def record_card(
        self, ticket_id: int, *, thread_id: int | None = None, card_message_id: int | None = None
    ) -> None:
        """Where the request lives in the backoffice (a forum topic and/or its card)."""
        # Delivery bookkeeping, not the request's state: written without the
        # version check, so a card delivered while someone acts on the request
        # never turns their action into "the request changed meanwhile".
        async with self._sessions() as session, session.begin():
            await repo.set_card_location(
                session,
                ticket_id,
                thread_id=thread_id,
                card_message_id=card_message_id,
                keep_card=card_message_id is None and thread_id is not None,
            )
