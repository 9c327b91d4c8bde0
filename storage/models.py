"""SQLAlchemy models of the desk.

Only portable column types: the same models run on SQLite (the embedded
default) and on PostgreSQL. Enumerations are stored as their string values;
times are stored in UTC and always come back timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes on every backend (SQLite forgets the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# The largest value of an INTEGER column on PostgreSQL (SQLite's is larger); ids and
# numbers that come from people are checked against it before they reach a query.
INTEGER_MAX = 2**31 - 1


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Counter(Base):
    """Named sequences; request numbers come from here (never reused)."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class Tariff(Base):
    __tablename__ = "tariffs"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # A cheaper tariff's SLA clock stops on weekends and public holidays.
    business_days_only: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    targets: Mapped[list[SlaTarget]] = relationship(
        back_populates="tariff", lazy="selectin", order_by="SlaTarget.priority"
    )


class SlaTarget(Base):
    __tablename__ = "sla_targets"
    __table_args__ = (UniqueConstraint("tariff_id", "priority"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id", ondelete="CASCADE"))
    priority: Mapped[int] = mapped_column(Integer)
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    tariff: Mapped[Tariff] = relationship(back_populates="targets")


class Organisation(Base):
    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    tariff: Mapped[Tariff] = relationship(lazy="selectin")


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))
    # What the personal cabinet says of its customer (R8).
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    blocked_bot_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    organisation: Mapped[Organisation | None] = relationship(lazy="selectin")


class Agent(Base):
    __tablename__ = "agents"
    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    # The Telegram client's language at the last private message: digests speak it.
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Ticket(Base):
    """A request (заявка). ``number`` is what people see: CTV-<number>."""

    __tablename__ = "tickets"
    __table_args__ = (
        # The queue: open requests by priority, then by due time.
        Index("ix_tickets_queue", "status", "priority", "resolution_due_at"),
        Index("ix_tickets_auto_close", "status", "auto_close_at"),
        # One request per intake dialog, however often its Submit runs (desk.intake).
        UniqueConstraint("customer_id", "intake_key"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20))
    priority: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    technical_details: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    first_responded_at: Mapped[datetime | None]
    # SLA pause (R5): while waiting for the customer the clocks stop; paused
    # support minutes are added to the targets when due times are computed.
    paused_at: Mapped[datetime | None]
    paused_minutes: Mapped[int] = mapped_column(Integer, default=0)
    resolved_at: Mapped[datetime | None]
    auto_close_at: Mapped[datetime | None]
    auto_close_reminder_at: Mapped[datetime | None]
    reminder_sent_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(16))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[int | None] = mapped_column(Integer)
    last_customer_message_at: Mapped[datetime | None]
    last_public_reply_at: Mapped[datetime | None]
    # True while the customer has spoken last: resolving then needs an answer (R5-R6).
    awaiting_reply: Mapped[bool] = mapped_column(Boolean, default=True)
    # Where the request lives in the backoffice (a forum topic and/or a card).
    forum_thread_id: Mapped[int | None] = mapped_column(BigInteger)
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The SLA warnings sent (desk.watch.Alert values, comma-separated): each once.
    sla_alerts: Mapped[str] = mapped_column(String(200), default="", server_default="")
    waiting_reminded_at: Mapped[datetime | None]
    # The intake dialog that filed it (Telegram only): a second Submit finds it.
    intake_key: Mapped[str | None] = mapped_column(String(64))

    customer: Mapped[Customer] = relationship(lazy="selectin")
    tariff: Mapped[Tariff] = relationship(lazy="selectin")
    assignee: Mapped[Agent | None] = relationship(lazy="selectin")

    __mapper_args__ = {"version_id_col": version}


class TicketEvent(Base):
    """Append-only history (R4: every action is documented in the request)."""

    __tablename__ = "ticket_events"
    # Digests read the history of a period (desk/digest.py).
    __table_args__ = (Index("ix_ticket_events_created_at", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    actor_role: Mapped[str] = mapped_column(String(16))
    actor_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    actor_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(32))
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(default=dict)
    comment: Mapped[str | None] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    """A relayed message pair: where it was written and where its copy went."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_source", "source_chat_id", "source_message_id"),
        Index("ix_messages_copy", "copy_chat_id", "copy_message_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_events.id"))
    direction: Mapped[str] = mapped_column(String(4))
    source_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    source_message_id: Mapped[int | None] = mapped_column(BigInteger)
    copy_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    copy_message_id: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str | None] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    file_id: Mapped[str] = mapped_column(String(255))
    file_unique_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    size: Mapped[int | None] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    # A file that came over HTTP: its bytes until Telegram gives it a file id
    # (``file_id`` is empty until the first delivery).
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Upload(Base):
    """The cleaned bytes of a file the cabinet sent (Telegram never saw it)."""

    __tablename__ = "uploads"
    id: Mapped[int] = mapped_column(primary_key=True)
    mime_type: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiIdempotency(Base):
    """The first answer to an HTTP API call made with an ``Idempotency-Key``.

    ``scope`` names the API key (a hash, never the key); ``fingerprint`` the
    call (method, path, body), so the same key reused for another call is
    refused. A row without ``status_code`` is a call still in progress.
    """

    __tablename__ = "api_idempotency"
    __table_args__ = (UniqueConstraint("scope", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Outbox(Base):
    """Notifications written with the change that causes them, drained by bot/.

    ``kind`` says what happened in the desk's words (``customer.registered``,
    ``backoffice.card``…), ``method`` how it reaches the chat (``send`` a new
    message or ``edit`` the one already there), ``payload`` the data to render.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at", "priority"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    audience: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(48))
    method: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=3)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class DigestSent(Base):
    """A digest written to the outbox for one recipient: each (kind, period, recipient) once.

    Inserted in the transaction that writes the digest's outbox rows; the
    unique key makes a second replica's (or a second round's) attempt fail
    and write nothing.
    """

    __tablename__ = "digests_sent"
    __table_args__ = (UniqueConstraint("kind", "period", "recipient"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    # The period's first local day, ISO (2026-11-23 for the week of Monday 23 November).
    period: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProcessedUpdate(Base):
    """Telegram update ids already handled (updates are processed at most once)."""

    __tablename__ = "processed_updates"
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
