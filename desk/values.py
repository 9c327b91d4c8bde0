"""What callers hand the desk and get back: the actor, drafts, message references, limits.

Plain values, no database: presentation layers build them, the use cases
(``desk/intake.py`` … ``desk/queries.py``) check them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser

from desk.calendar import BusinessCalendar
from desk.digest import DigestSchedule
from desk.errors import ValidationFailed
from desk.model import Channel, Kind, Role
from desk.roles import is_staff

TOPIC_MAX = 120
DESCRIPTION_MIN, DESCRIPTION_MAX = 10, 4000
DETAILS_MAX = 8000
# Replies, notes, customers' messages: counted on their text, not their HTML
# (a valid 4096-character message of "<" is 16384 characters escaped); Telegram
# splits them, history keeps them whole.
TEXT_MAX = 16000
ATTACHMENTS_MAX = 10


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Actor:
    """Who acts. ``roles`` decide what they may do (R11)."""

    roles: frozenset[Role]
    name: str = ""
    customer_id: int | None = None
    agent_id: int | None = None
    language: str | None = None

    @property
    def is_staff(self) -> bool:
        """Agents, admins and managers (``desk.roles.STAFF``): they see every request."""
        return is_staff(self.roles)

    @classmethod
    def customer(cls, customer_id: int, name: str = "", language: str | None = None) -> Actor:
        return cls(frozenset({Role.CUSTOMER}), name, customer_id=customer_id, language=language)

    @classmethod
    def cabinet(cls, customer_id: int, name: str = "cabinet") -> Actor:
        return cls(frozenset({Role.CABINET}), name, customer_id=customer_id)

    @classmethod
    def staff(cls, agent_id: int, name: str, roles: frozenset[Role]) -> Actor:
        return cls(roles, name, agent_id=agent_id)

    @classmethod
    def system(cls) -> Actor:
        return cls(frozenset({Role.SYSTEM}), "system")


@dataclass(frozen=True)
class AttachmentIn:
    """A file for a request: one Telegram already has (``file_id``), or bytes (``data``).

    Bytes come from the cabinet's HTTP API, already checked and cleaned; the
    desk keeps them until the first delivery gives them a Telegram file id.
    """

    file_id: str
    file_unique_id: str
    kind: str = "photo"
    size: int | None = None
    width: int | None = None
    height: int | None = None
    sha256: str | None = None
    data: bytes | None = None
    mime_type: str | None = None
    filename: str | None = None

    @classmethod
    def upload(
        cls,
        data: bytes,
        mime_type: str,
        filename: str,
        *,
        kind: str = "photo",
        width: int | None = None,
        height: int | None = None,
        sha256: str | None = None,
    ) -> AttachmentIn:
        return cls(
            "",
            "",
            kind,
            len(data),
            width,
            height,
            sha256,
            data=data,
            mime_type=mime_type,
            filename=filename,
        )


@dataclass(frozen=True)
class MessageRef:
    """Where a relayed message was written (for the relay's table of pairs)."""

    chat_id: int
    message_id: int


@dataclass(frozen=True)
class NewTicket:
    kind: Kind
    topic: str
    description: str
    technical_details: str | None = None
    attachments: Sequence[AttachmentIn] = ()
    channel: Channel = Channel.TELEGRAM
    # Names the intake that files it: filing again with the same key files nothing
    # new and gives back the request (a Submit run twice by a crash or a retry).
    intake_key: str | None = None


@dataclass(frozen=True)
class OpenStats:
    """Requests in work right now (new, in progress, waiting for the customer)."""

    by_status: dict[str, int]
    by_priority: dict[int, int]
    overdue: int
    unassigned: int


@dataclass(frozen=True)
class DeskConfig:
    calendar: BusinessCalendar
    backoffice_chat_id: int | None = None
    auto_close_business_days: int = 5
    # Who gets the scheduled digests: the managers' private chats (Telegram user
    # ids) and the managers' chat when there is one.
    digest_recipients: tuple[int, ...] = ()
    digest_schedule: DigestSchedule = field(default_factory=DigestSchedule)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(markup: str) -> str:
    """The text of a message kept as Telegram HTML: tags dropped, entities decoded."""
    parser = _Text()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


def clean(value: str | None, name: str, *, minimum: int, maximum: int) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(name, "empty")
    if len(text) < minimum:
        raise ValidationFailed(name, "too_short", minimum=minimum, length=len(text))
    if len(text) > maximum:
        raise ValidationFailed(name, "too_long", maximum=maximum, length=len(text))
    return text


def clean_markup(value: str | None, name: str = "text", *, maximum: int = TEXT_MAX) -> str:
    """A message in Telegram HTML, measured by its text (what people see), not its markup."""
    body = (value or "").strip()
    if not plain_text(body).strip():
        raise ValidationFailed(name, "empty")
    _check_length(body, name, maximum)
    return body


def _check_length(body: str, name: str, maximum: int) -> None:
    length = len(plain_text(body))
    if length > maximum:
        raise ValidationFailed(name, "too_long", maximum=maximum, length=length)


def message_body(text: str | None, attachments: Sequence[AttachmentIn]) -> str:
    """A relayed message (Telegram HTML): text, files, or both; never nothing."""
    body = (text or "").strip()
    if not plain_text(body).strip():
        if not attachments:
            raise ValidationFailed("text", "empty")
        body = ""
    _check_length(body, "text", TEXT_MAX)
    return body
