"""The stream of request events that modules (plugins) subscribe to (R10).

Every committed change of a request is turned into zero or more
:class:`RequestEvent` values, derived from its history events: ``created``,
``status_changed``, ``message`` (a public reply, a question, a customer's
message) and ``closed`` (after its ``status_changed``). Internal notes never
enter the stream.

Two ways to listen, both registered on the desk (``DeskBase``):

- ``event_listeners``: coroutines called after the commit, in the task that
  made the change. Best effort: a listener that raises is logged and the desk
  goes on; a crash between commit and call loses the event. Listeners must be
  quick (queue work, do not do it).
- ``event_audiences``: outbox audiences that get one outbox row per event, written
  in the change's own transaction. Durable: the outbox sender delivers them at
  least once with its retries and backoff (the cabinet webhook uses this).
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from desk.model import Action, Status
from storage.models import Ticket, TicketEvent


class EventKind(enum.StrEnum):
    CREATED = "created"
    STATUS_CHANGED = "status_changed"
    MESSAGE = "message"
    CLOSED = "closed"


# The history actions that carry a public message between support and the customer.
_MESSAGES = frozenset({Action.REPLY, Action.ASK_CUSTOMER, Action.CUSTOMER_MESSAGE})


@dataclass(frozen=True)
class RequestEvent:
    """One thing that happened to a request, in the desk's words (no Telegram)."""

    kind: EventKind
    event_id: int  # the history event; grows with time, so receivers may order by it
    number: int
    status: str
    previous_status: str | None
    priority: int
    channel: str
    action: str
    actor_role: str
    at: datetime
    customer_external_id: str | None
    organisation_external_id: str | None

    def as_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["kind"] = self.kind.value
        body["at"] = self.at.isoformat()
        return body


def request_events(ticket: Ticket, event: TicketEvent) -> list[RequestEvent]:
    """What the stream says about one history event (often nothing)."""
    if event.internal:
        return []
    action = Action(event.action)
    status = event.after.get("status")
    previous = event.before.get("status")
    kinds: list[EventKind] = []
    if action is Action.CREATE:
        kinds.append(EventKind.CREATED)
    elif status is not None and status != previous:
        kinds.append(EventKind.STATUS_CHANGED)
        if status == Status.CLOSED.value:
            kinds.append(EventKind.CLOSED)
    if action in _MESSAGES:
        kinds.append(EventKind.MESSAGE)
    customer = ticket.customer
    organisation = customer.organisation if customer is not None else None
    return [
        RequestEvent(
            kind=kind,
            event_id=event.id,
            number=ticket.number,
            status=ticket.status if status is None else str(status),
            previous_status=None if previous is None else str(previous),
            priority=ticket.priority,
            channel=ticket.channel,
            action=action.value,
            actor_role=event.actor_role,
            at=event.created_at,
            customer_external_id=customer.external_id if customer is not None else None,
            organisation_external_id=organisation.external_id if organisation else None,
        )
        for kind in kinds
    ]
