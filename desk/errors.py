"""Typed desk errors.

Each error carries a stable ``code`` that the presentation layers map to a
polite, localised message (``locales/*/*.ftl``, ``errors-*``); the
English text here is for logs only.
"""

from __future__ import annotations

from desk.model import Action, Status


class DeskError(Exception):
    code = "desk_error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = details


class NotFound(DeskError):
    code = "not_found"


class PermissionDenied(DeskError):
    code = "permission_denied"


class ManagersOnly(PermissionDenied):
    """Digests and reports are for managers and administrators (R11)."""

    code = "managers_only"


class IllegalTransition(DeskError):
    code = "illegal_transition"

    def __init__(self, action: Action, status: Status) -> None:
        super().__init__(
            f"{action.value} is not allowed while the request is {status.value}",
            action=action.value,
            status=status.value,
        )
        self.action = action
        self.status = status


class AlreadyClosed(IllegalTransition):
    code = "already_closed"


class AlreadyTaken(DeskError):
    """Two agents pressed Take at once: the loser learns who has it."""

    code = "already_taken"

    def __init__(self, assignee_name: str) -> None:
        super().__init__(f"already taken by {assignee_name}", assignee=assignee_name)
        self.assignee_name = assignee_name


class ConcurrentChange(DeskError):
    """Someone changed the request between our read and our write; nothing was saved."""

    code = "concurrent_change"


class ValidationFailed(DeskError):
    code = "validation_failed"

    def __init__(self, field: str, problem: str, **details: object) -> None:
        super().__init__(f"{field}: {problem}", field=field, problem=problem, **details)
        self.field = field
        self.problem = problem


class AlreadyRated(DeskError):
    """A request is rated once, by its customer; the first rating stands."""

    code = "already_rated"


class InvalidLink(DeskError):
    """A cabinet link that is forged, damaged or expired: the customer starts normally."""

    code = "invalid_link"
