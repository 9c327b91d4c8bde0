"""The desk's use cases, behind one entry point: :class:`Desk`.

Every use case checks its actor, applies the lifecycle table, and writes in
one transaction (a :class:`desk.change.Change`): the change to the request,
an append-only history event and an outbox row for every notification the
change causes. Presentation layers (the customer's chat, the backoffice, the
HTTP API, the scheduler) call these methods and render what they return; they
never change a request themselves.

The rules live by the phase of a request's life; find one there:

- ``desk/intake.py``: create, split (R3);
- ``desk/assignment.py``: take, assign, priority;
- ``desk/conversation.py``: reply, note, ask, add information, edit a
  relayed message, where a customer's plain message goes;
- ``desk/resolution.py``: resolve, confirm, reopen, withdraw, close, rate,
  auto-close and its reminder;
- ``desk/people.py``: customers, staff, organisations, language, blocked;
- ``desk/queries.py``: ticket, history, my requests, queue, search, stats,
  agents;
- ``desk/digests.py``: managers' digests, on demand and on schedule (the
  arithmetic in ``desk/digest.py``);
- ``desk/cabinet.py``: the personal cabinet's customers, organisations and
  tariffs, its deep link, uploaded files and idempotency keys;
- ``desk/sla_watch.py``: SLA warnings at 80 % and at breach, the reminder of a
  customer who was asked a question (the arithmetic in ``desk/watch.py``).

Returned :class:`~storage.models.Ticket` objects are detached snapshots: read
them, do not modify them.
"""

from __future__ import annotations

from desk.assignment import Assignment
from desk.cabinet import Cabinet
from desk.conversation import Conversation, Route, RouteKind
from desk.digests import Digests
from desk.intake import Intake
from desk.people import People
from desk.queries import Queries
from desk.resolution import Resolution
from desk.sla_watch import Watch
from desk.values import (
    ATTACHMENTS_MAX,
    DESCRIPTION_MAX,
    DESCRIPTION_MIN,
    DETAILS_MAX,
    TEXT_MAX,
    TOPIC_MAX,
    Actor,
    AttachmentIn,
    DeskConfig,
    MessageRef,
    NewTicket,
    OpenStats,
    utcnow,
)


class Desk(Intake, Assignment, Conversation, Resolution, People, Queries, Watch, Digests, Cabinet):
    """The desk: every use case, one phase per base class, one transaction each."""


__all__ = [
    "ATTACHMENTS_MAX",
    "DESCRIPTION_MAX",
    "DESCRIPTION_MIN",
    "DETAILS_MAX",
    "TEXT_MAX",
    "TOPIC_MAX",
    "Actor",
    "AttachmentIn",
    "Desk",
    "DeskConfig",
    "MessageRef",
    "NewTicket",
    "OpenStats",
    "Route",
    "RouteKind",
    "utcnow",
]
