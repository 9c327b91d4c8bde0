"""Who is who (R11): the configured id sets become roles, and the role sets have one name each.

Two names, two meanings:

- ``WORKERS`` (agents and admins) work requests: take, reply, resolve, close…
- ``STAFF`` is everyone on the desk's side of the counter: the workers and the
  managers. Staff see every request and its internal notes; managers among
  them only read and write notes (see ``desk/lifecycle.py``).

``CUSTOMER_SIDE`` is the customer and the cabinet acting for them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from desk.model import Role

WORKERS: Final = frozenset({Role.AGENT, Role.ADMIN})
STAFF: Final = WORKERS | {Role.MANAGER}
CUSTOMER_SIDE: Final = frozenset({Role.CUSTOMER, Role.CABINET})
# Who reads digests and reports (R11): managers, and administrators, who manage the desk.
READERS: Final = frozenset({Role.MANAGER, Role.ADMIN})


@dataclass(frozen=True)
class StaffIds:
    """The Telegram user ids the settings name (``AGENT_IDS``, ``MANAGER_IDS``, ``ADMIN_IDS``)."""

    agents: Collection[int] = ()
    managers: Collection[int] = ()
    admins: Collection[int] = ()


def membership_counts(user_id: int, ids: StaffIds) -> bool:
    """Whether membership of the backoffice group would make this user an agent.

    Only when no agents are configured, and only for a user the settings do
    not name otherwise: asking Telegram is needed exactly then.
    """
    return not ids.agents and not roles_of(user_id, ids)


def roles_of(user_id: int, ids: StaffIds, *, group_member: bool = False) -> frozenset[Role]:
    """The user's staff roles; empty for a customer or a stranger.

    ``group_member``: the user is in the backoffice group. With no
    ``AGENT_IDS`` the members of the group are the agents (DESIGN §3).
    """
    roles: set[Role] = set()
    if user_id in ids.agents:
        roles.add(Role.AGENT)
    if user_id in ids.managers:
        roles.add(Role.MANAGER)
    if user_id in ids.admins:
        roles.add(Role.ADMIN)
    if group_member and not ids.agents and not roles:
        roles.add(Role.AGENT)
    return frozenset(roles)


def is_staff(roles: frozenset[Role]) -> bool:
    return bool(roles & STAFF)


def is_worker(roles: frozenset[Role]) -> bool:
    return bool(roles & WORKERS)


def reads_digests(roles: frozenset[Role]) -> bool:
    return bool(roles & READERS)
