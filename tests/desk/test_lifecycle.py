"""Properties of the transition and permission tables, and of who sees what.

No table is retyped here: each test states a rule of the regulation and lets
hypothesis look for a counterexample in the desk's own tables.
"""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk import lifecycle
from desk.change import may_see
from desk.errors import AlreadyClosed, IllegalTransition, PermissionDenied
from desk.model import Action, Role, Status, format_number, parse_number
from desk.roles import CUSTOMER_SIDE, STAFF, WORKERS, StaffIds, membership_counts, roles_of
from desk.values import Actor
from storage.models import Ticket

actions = st.sampled_from(sorted(lifecycle.TRANSITIONS))
statuses = st.sampled_from(Status)
role_sets = st.frozensets(st.sampled_from(Role))
user_ids = st.integers(min_value=1, max_value=2**52)


def reachable(start: Status) -> set[Status]:
    seen, todo = {start}, deque([start])
    while todo:
        status = todo.popleft()
        for action in lifecycle.allowed_actions(status):
            after = lifecycle.next_status(action, status)
            if after not in seen:
                seen.add(after)
                todo.append(after)
    return seen


@given(actions, statuses)
def test_next_status_agrees_with_allowed_actions(action: Action, status: Status) -> None:
    if action in lifecycle.allowed_actions(status):
        assert isinstance(lifecycle.next_status(action, status), Status)
        return
    expected = AlreadyClosed if status is Status.CLOSED else IllegalTransition
    with pytest.raises(expected) as info:
        lifecycle.next_status(action, status)
    assert info.value.status is status and info.value.action is action


@given(actions)
def test_only_reopen_leaves_closed(action: Action) -> None:
    if action in lifecycle.allowed_actions(Status.CLOSED):
        after = lifecycle.next_status(action, Status.CLOSED)
        assert after is Status.CLOSED or action is Action.REOPEN


@given(actions, statuses)
def test_a_customer_never_resolves(action: Action, status: Status) -> None:
    if lifecycle.may(CUSTOMER_SIDE, action) and action in lifecycle.allowed_actions(status):
        after = lifecycle.next_status(action, status)
        assert after is not Status.RESOLVED or status is Status.RESOLVED


@given(actions)
def test_only_the_customer_side_or_the_scheduler_closes_a_resolved_request_as_solved(
    action: Action,
) -> None:
    # R6: "resolved" becomes "closed" by the customer's word or the auto-close;
    # agents close only with a reason of their own (duplicate, spam, other).
    closes = lifecycle.TRANSITIONS[action].get(Status.RESOLVED) is Status.CLOSED
    if closes and action is not Action.CLOSE:
        assert lifecycle.PERMISSIONS[action] <= CUSTOMER_SIDE | {Role.SYSTEM}


def test_every_status_reachable_from_new_reaches_closed() -> None:
    for status in reachable(Status.NEW):
        assert Status.CLOSED in reachable(status), status
    assert reachable(Status.NEW) == set(Status)


@given(st.sampled_from(lifecycle.WORKING))
def test_the_customers_answer_brings_a_waiting_request_back_to_work(status: Status) -> None:
    after = lifecycle.next_status(Action.CUSTOMER_MESSAGE, status)
    assert after in lifecycle.WORKING and after is not Status.WAITING_CUSTOMER


@given(role_sets, role_sets, actions)
def test_more_roles_never_allow_less(
    roles: frozenset[Role], more: frozenset[Role], action: Action
) -> None:
    if lifecycle.may(roles, action):
        assert lifecycle.may(roles | more, action)


@given(role_sets, actions)
def test_check_role_raises_exactly_when_may_says_no(roles: frozenset[Role], action: Action) -> None:
    if lifecycle.may(roles, action):
        lifecycle.check_role(roles, action)
    else:
        with pytest.raises(PermissionDenied):
            lifecycle.check_role(roles, action)


@given(actions)
def test_managers_only_write_notes_and_the_scheduler_only_closes_and_reminds(
    action: Action,
) -> None:
    assert lifecycle.may(frozenset({Role.MANAGER}), action) is (action is Action.NOTE)
    assert lifecycle.may(frozenset({Role.SYSTEM}), action) is (
        action in (Action.AUTO_CLOSE, Action.AUTO_CLOSE_REMINDER, Action.WAITING_REMINDER)
    )


@given(actions)
def test_status_changes_are_for_workers_customers_and_the_scheduler(action: Action) -> None:
    changes = any(lifecycle.next_status(action, s) is not s for s in lifecycle.TRANSITIONS[action])
    if changes:
        assert lifecycle.PERMISSIONS[action] <= WORKERS | CUSTOMER_SIDE | {Role.SYSTEM}


@given(role_sets, st.integers(1, 10), st.integers(1, 10))
def test_a_customer_sees_only_own_requests(
    roles: frozenset[Role], customer_id: int, owner_id: int
) -> None:
    actor = Actor(roles, customer_id=customer_id)
    ticket = Ticket(customer_id=owner_id)
    if not roles & (STAFF | {Role.SYSTEM}):
        assert may_see(actor, ticket) is (customer_id == owner_id)
    else:
        assert may_see(actor, ticket)


@given(role_sets)
def test_staff_means_one_thing(roles: frozenset[Role]) -> None:
    assert WORKERS < STAFF and not STAFF & CUSTOMER_SIDE
    assert Actor(roles).is_staff is bool(roles & STAFF)
    assert Actor(roles).is_staff is any(role.is_staff for role in roles)


@given(
    user_ids,
    st.frozensets(user_ids, max_size=3),
    st.frozensets(user_ids, max_size=3),
    st.frozensets(user_ids, max_size=3),
    st.booleans(),
)
def test_roles_come_from_the_configured_ids(
    user: int,
    agents: frozenset[int],
    managers: frozenset[int],
    admins: frozenset[int],
    member: bool,
) -> None:
    ids = StaffIds(agents, managers, admins)
    roles = roles_of(user, ids, group_member=member)
    assert (Role.MANAGER in roles) is (user in managers)
    assert (Role.ADMIN in roles) is (user in admins)
    # Group members are agents only when no agents are configured and the
    # settings say nothing else about them.
    named = user in agents | managers | admins
    assert (Role.AGENT in roles) is (user in agents or (member and not agents and not named))
    assert membership_counts(user, ids) is (not agents and not named)
    assert roles <= STAFF


@given(st.integers(min_value=0, max_value=10**12))
def test_numbers_round_trip(number: int) -> None:
    shown = format_number(number)
    assert shown == f"CTV-{number}"
    for typed in (shown, shown.lower().replace("-", " "), f"#{number}", str(number)):
        assert parse_number(typed) == number


@pytest.mark.parametrize("text", ["CTV-", "abc", "", "CTV-12a", "¹", "CTV-١٢"])
def test_not_numbers(text: str) -> None:
    assert parse_number(text) is None
