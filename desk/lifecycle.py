"""The ticket lifecycle (R4–R6): which action is legal in which status, and who may do it.

The tables below are the single source of truth; use cases call
:func:`next_status` and :func:`check_role` before they change anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from desk.errors import AlreadyClosed, IllegalTransition, PermissionDenied
from desk.model import Action, Role, Status
from desk.roles import CUSTOMER_SIDE, STAFF, WORKERS

N, P, W, R, C = (
    Status.NEW,
    Status.IN_PROGRESS,
    Status.WAITING_CUSTOMER,
    Status.RESOLVED,
    Status.CLOSED,
)
OPEN: Final = (N, P, W, R)
# In work: the desk owes the next step. A resolved request is open but waits
# for its customer, so it is neither in the queue nor ever overdue.
WORKING: Final = (N, P, W)

# action -> {status it may start from: status it leads to}
TRANSITIONS: Final[Mapping[Action, Mapping[Status, Status]]] = {
    Action.TAKE: {N: P, P: P, W: W, R: R},
    Action.ASSIGN: {N: P, P: P, W: W, R: R},
    Action.SET_PRIORITY: {s: s for s in OPEN},
    # The first public reply starts the work; a reply to a resolved request
    # (a clarification) leaves it waiting for the customer's confirmation.
    Action.REPLY: {N: P, P: P, W: W, R: R},
    Action.NOTE: {s: s for s in (*OPEN, C)},
    Action.ASK_CUSTOMER: {N: W, P: W, W: W},
    # R5: the customer's answer brings a waiting request back to work. A
    # message to a resolved request is not taken silently: the customer
    # chooses between reopening it and a new request (R3).
    Action.CUSTOMER_MESSAGE: {N: N, P: P, W: P},
    Action.RESOLVE: {N: R, P: R, W: R},
    Action.CONFIRM: {R: C},
    Action.REOPEN: {R: P, C: P},
    Action.WITHDRAW: {s: C for s in OPEN},
    Action.CLOSE: {s: C for s in OPEN},
    Action.AUTO_CLOSE: {R: C},
    Action.AUTO_CLOSE_REMINDER: {R: R},
    Action.WAITING_REMINDER: {W: W},
    Action.SPLIT: {s: s for s in (*OPEN, C)},
    Action.RATE: {C: C},
    # Correcting a message already relayed changes no status.
    Action.EDIT: {s: s for s in (*OPEN, C)},
}

# action -> roles that may perform it (the names are explained in desk/roles.py).
# Managers read (digests, reports, history) and write internal notes; they do
# not work requests unless they are agents too.
PERMISSIONS: Final[Mapping[Action, frozenset[Role]]] = {
    Action.CREATE: CUSTOMER_SIDE | WORKERS,
    Action.TAKE: WORKERS,
    Action.ASSIGN: WORKERS,
    Action.SET_PRIORITY: WORKERS,
    Action.REPLY: WORKERS,
    Action.NOTE: STAFF,
    Action.ASK_CUSTOMER: WORKERS,
    Action.CUSTOMER_MESSAGE: CUSTOMER_SIDE,
    Action.RESOLVE: WORKERS,
    Action.CONFIRM: CUSTOMER_SIDE,
    Action.REOPEN: CUSTOMER_SIDE | WORKERS,
    Action.WITHDRAW: CUSTOMER_SIDE,
    Action.CLOSE: WORKERS,
    Action.AUTO_CLOSE: frozenset({Role.SYSTEM}),
    Action.AUTO_CLOSE_REMINDER: frozenset({Role.SYSTEM}),
    Action.WAITING_REMINDER: frozenset({Role.SYSTEM}),
    Action.SPLIT: WORKERS,
    Action.RATE: CUSTOMER_SIDE,
    Action.EDIT: CUSTOMER_SIDE | WORKERS,
}


def allowed_actions(status: Status) -> frozenset[Action]:
    return frozenset(a for a, table in TRANSITIONS.items() if status in table)


def next_status(action: Action, status: Status) -> Status:
    table = TRANSITIONS[action]
    if status not in table:
        if status is Status.CLOSED:
            raise AlreadyClosed(action, status)
        raise IllegalTransition(action, status)
    return table[status]


def may(roles: frozenset[Role], action: Action) -> bool:
    return bool(roles & PERMISSIONS[action])


def check_role(roles: frozenset[Role], action: Action) -> None:
    if not may(roles, action):
        raise PermissionDenied(
            f"{'/'.join(sorted(r.value for r in roles)) or 'nobody'} may not {action.value}",
            action=action.value,
        )
