"""The transition table and the permission table, exhaustively."""

from __future__ import annotations

import itertools

import pytest

from desk import lifecycle
from desk.errors import AlreadyClosed, IllegalTransition, PermissionDenied
from desk.model import Action, Role, Status, format_number, parse_number

S = Status
LEGAL: dict[Action, dict[Status, Status]] = {
    Action.TAKE: {
        S.NEW: S.IN_PROGRESS,
        S.IN_PROGRESS: S.IN_PROGRESS,
        S.WAITING_CUSTOMER: S.WAITING_CUSTOMER,
        S.RESOLVED: S.RESOLVED,
    },
    Action.ASSIGN: {
        S.NEW: S.IN_PROGRESS,
        S.IN_PROGRESS: S.IN_PROGRESS,
        S.WAITING_CUSTOMER: S.WAITING_CUSTOMER,
        S.RESOLVED: S.RESOLVED,
    },
    Action.SET_PRIORITY: {s: s for s in (S.NEW, S.IN_PROGRESS, S.WAITING_CUSTOMER, S.RESOLVED)},
    Action.REPLY: {
        S.NEW: S.IN_PROGRESS,
        S.IN_PROGRESS: S.IN_PROGRESS,
        S.WAITING_CUSTOMER: S.WAITING_CUSTOMER,
        S.RESOLVED: S.RESOLVED,
    },
    Action.NOTE: {s: s for s in Status},
    Action.ASK_CUSTOMER: {
        S.NEW: S.WAITING_CUSTOMER,
        S.IN_PROGRESS: S.WAITING_CUSTOMER,
        S.WAITING_CUSTOMER: S.WAITING_CUSTOMER,
    },
    Action.CUSTOMER_MESSAGE: {
        S.NEW: S.NEW,
        S.IN_PROGRESS: S.IN_PROGRESS,
        S.WAITING_CUSTOMER: S.IN_PROGRESS,
    },
    Action.RESOLVE: {S.NEW: S.RESOLVED, S.IN_PROGRESS: S.RESOLVED, S.WAITING_CUSTOMER: S.RESOLVED},
    Action.CONFIRM: {S.RESOLVED: S.CLOSED},
    Action.REOPEN: {S.RESOLVED: S.IN_PROGRESS, S.CLOSED: S.IN_PROGRESS},
    Action.WITHDRAW: {s: S.CLOSED for s in (S.NEW, S.IN_PROGRESS, S.WAITING_CUSTOMER, S.RESOLVED)},
    Action.CLOSE: {s: S.CLOSED for s in (S.NEW, S.IN_PROGRESS, S.WAITING_CUSTOMER, S.RESOLVED)},
    Action.AUTO_CLOSE: {S.RESOLVED: S.CLOSED},
    Action.AUTO_CLOSE_REMINDER: {S.RESOLVED: S.RESOLVED},
    Action.SPLIT: {s: s for s in Status},
    Action.RATE: {S.CLOSED: S.CLOSED},
    Action.EDIT: {s: s for s in Status},
}


@pytest.mark.parametrize(
    ("action", "status"),
    [(a, s) for a, s in itertools.product(LEGAL, Status)],
    ids=lambda v: str(v),
)
def test_every_transition(action: Action, status: Status) -> None:
    expected = LEGAL[action].get(status)
    if expected is not None:
        assert lifecycle.next_status(action, status) is expected
    elif status is Status.CLOSED:
        with pytest.raises(AlreadyClosed):
            lifecycle.next_status(action, status)
    else:
        with pytest.raises(IllegalTransition) as info:
            lifecycle.next_status(action, status)
        assert info.value.code == "illegal_transition"
        assert info.value.status is status


def test_table_covers_every_action_but_create() -> None:
    assert set(lifecycle.TRANSITIONS) == set(Action) - {
        Action.CREATE,
        Action.SPLIT_FROM,
        Action.CUSTOMER_BLOCKED,
    }
    assert set(LEGAL) == set(lifecycle.TRANSITIONS)


def test_closed_allows_only_history_actions() -> None:
    assert lifecycle.allowed_actions(Status.CLOSED) == {
        Action.NOTE,
        Action.REOPEN,
        Action.SPLIT,
        Action.RATE,
        Action.EDIT,
    }


CUSTOMER_ACTIONS = {
    Action.EDIT,
    Action.CREATE,
    Action.CUSTOMER_MESSAGE,
    Action.CONFIRM,
    Action.REOPEN,
    Action.WITHDRAW,
    Action.RATE,
}
AGENT_ACTIONS = {
    Action.EDIT,
    Action.CREATE,
    Action.TAKE,
    Action.ASSIGN,
    Action.SET_PRIORITY,
    Action.REPLY,
    Action.NOTE,
    Action.ASK_CUSTOMER,
    Action.RESOLVE,
    Action.REOPEN,
    Action.CLOSE,
    Action.SPLIT,
}
EXPECTED_ROLES = {
    Role.CUSTOMER: CUSTOMER_ACTIONS,
    Role.CABINET: CUSTOMER_ACTIONS,
    Role.AGENT: AGENT_ACTIONS,
    Role.ADMIN: AGENT_ACTIONS,
    Role.MANAGER: {Action.NOTE},
    Role.SYSTEM: {Action.AUTO_CLOSE, Action.AUTO_CLOSE_REMINDER},
}


@pytest.mark.parametrize(
    ("role", "action"),
    [(r, a) for r, a in itertools.product(Role, lifecycle.PERMISSIONS)],
    ids=lambda v: str(v),
)
def test_permissions(role: Role, action: Action) -> None:
    roles = frozenset({role})
    if action in EXPECTED_ROLES[role]:
        lifecycle.check_role(roles, action)
    else:
        with pytest.raises(PermissionDenied):
            lifecycle.check_role(roles, action)


def test_a_manager_who_is_an_agent_may_work() -> None:
    lifecycle.check_role(frozenset({Role.MANAGER, Role.AGENT}), Action.TAKE)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("CTV-1042", 1042),
        ("ctv 1042", 1042),
        ("#1042", 1042),
        ("1042", 1042),
        ("CTV-", None),
        ("abc", None),
        ("", None),
    ],
)
def test_numbers(text: str, number: int | None) -> None:
    assert parse_number(text) == number
    if number is not None:
        assert format_number(number) == "CTV-1042"
