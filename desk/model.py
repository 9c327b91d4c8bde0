"""The desk's vocabulary: statuses, kinds, priorities, roles and reasons.

The values are stored in the database as strings, so they never change once
released; new members may be added.
"""

from __future__ import annotations

import enum


class Status(enum.StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING_CUSTOMER = "waiting_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        return self is not Status.CLOSED


class Kind(enum.StrEnum):
    """R1: the four kinds of request the regulation names."""

    INCIDENT = "incident"
    PROBLEM = "problem"
    SERVICE = "service"
    DEVELOPMENT = "development"


class Priority(enum.IntEnum):
    """P1 is handled first (R4: problems that block the customer come first)."""

    P1 = 1
    P2 = 2
    P3 = 3
    P4 = 4

    @property
    def label(self) -> str:
        return f"P{self.value}"


DEFAULT_PRIORITY: dict[Kind, Priority] = {
    Kind.PROBLEM: Priority.P1,
    Kind.INCIDENT: Priority.P2,
    Kind.SERVICE: Priority.P3,
    Kind.DEVELOPMENT: Priority.P4,
}


class Role(enum.StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    MANAGER = "manager"
    ADMIN = "admin"
    # The scheduler (auto-close) and the cabinet's HTTP API act as themselves,
    # so that the history says who did what.
    SYSTEM = "system"
    CABINET = "cabinet"

    @property
    def is_staff(self) -> bool:
        return self in (Role.AGENT, Role.MANAGER, Role.ADMIN)


class Channel(enum.StrEnum):
    """R8: where a request came from."""

    TELEGRAM = "telegram"
    CABINET = "cabinet"


class CloseReason(enum.StrEnum):
    CONFIRMED = "confirmed"
    WITHDRAWN = "withdrawn"
    AUTO = "auto"
    DUPLICATE = "duplicate"
    SPAM = "spam"
    OTHER = "other"


AGENT_CLOSE_REASONS = frozenset({CloseReason.DUPLICATE, CloseReason.SPAM, CloseReason.OTHER})


class Action(enum.StrEnum):
    """What a history event records; one per use case."""

    CREATE = "create"
    TAKE = "take"
    ASSIGN = "assign"
    SET_PRIORITY = "set_priority"
    REPLY = "reply"
    NOTE = "note"
    ASK_CUSTOMER = "ask_customer"
    CUSTOMER_MESSAGE = "customer_message"
    RESOLVE = "resolve"
    CONFIRM = "confirm"
    REOPEN = "reopen"
    WITHDRAW = "withdraw"
    CLOSE = "close"
    AUTO_CLOSE = "auto_close"
    AUTO_CLOSE_REMINDER = "auto_close_reminder"
    SPLIT = "split"
    RATE = "rate"
    EDIT = "edit"
    WAITING_REMINDER = "waiting_reminder"
    # Recorded by the desk itself, not a use case anybody calls.
    CUSTOMER_BLOCKED = "customer_blocked"
    SLA_WARNING = "sla_warning"


class Audience(enum.StrEnum):
    """Who a notification is for; bot/ turns it into a chat."""

    CUSTOMER = "customer"
    BACKOFFICE = "backoffice"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class MessageDirection(enum.StrEnum):
    INBOUND = "in"  # from the customer
    OUTBOUND = "out"  # from an agent to the customer


def format_number(number: int) -> str:
    return f"CTV-{number}"


def parse_number(text: str) -> int | None:
    """Accept "CTV-1042", "ctv 1042", "#1042" or "1042"."""
    cleaned = text.strip().upper().replace(" ", "-").lstrip("#")
    if cleaned.startswith("CTV-"):
        cleaned = cleaned[4:]
    # isdigit() alone takes "¹" or "٣", which int() refuses.
    return int(cleaned) if cleaned.isascii() and cleaned.isdigit() else None
