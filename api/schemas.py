"""What the cabinet sends and gets back: pydantic models, the single source of the OpenAPI schemas.

The same models validate requests (so a bad field is named exactly as the
document names it) and describe answers (``api/openapi.py`` builds the
document from them), so the document and the behaviour cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from desk.model import Kind
from desk.values import (
    ATTACHMENTS_MAX,
    DESCRIPTION_MAX,
    DESCRIPTION_MIN,
    TEXT_MAX,
    TOPIC_MAX,
)

# The regulation's names (R1) as the cabinet spells them, and the desk's.
KINDS: dict[str, Kind] = {
    "incident": Kind.INCIDENT,
    "problem": Kind.PROBLEM,
    "service_request": Kind.SERVICE,
    "development_request": Kind.DEVELOPMENT,
}
KIND_NAMES = {kind: name for name, kind in KINDS.items()}
ExternalId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:@-]+$")]
# Printable text: a field of only spaces or control characters says nothing.
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrganisationRef(Strict):
    """The customer's organisation as the cabinet knows it."""

    external_id: ExternalId
    name: Name


class CustomerIn(Strict):
    external_id: ExternalId = Field(description="the customer's id in the cabinet")
    name: Name
    email: Annotated[str, Field(max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    phone: Annotated[str, Field(max_length=50, pattern=r"^\+?[0-9 ()-]{3,50}$")] | None = None
    organisation: OrganisationRef | None = None


class FileIn(Strict):
    """A file in JSON: its bytes in base64 (multipart parts carry them as they are)."""

    filename: Annotated[str, Field(min_length=1, max_length=255)] = "file"
    content_base64: Annotated[str, Field(min_length=1)]


class RequestIn(Strict):
    customer: CustomerIn
    kind: Literal["incident", "problem", "service_request", "development_request"]
    topic: Annotated[str, Field(min_length=1, max_length=TOPIC_MAX, pattern=r"\S")]
    description: Annotated[
        str, Field(min_length=DESCRIPTION_MIN, max_length=DESCRIPTION_MAX, pattern=r"\S")
    ]
    technical_details: dict[str, Any] | None = Field(
        None,
        description="whatever the cabinet knows: browser, OS, page URL, app version, account id…",
    )
    screenshots: Annotated[list[FileIn], Field(max_length=ATTACHMENTS_MAX)] = []


class MessageIn(Strict):
    text: Annotated[str, Field(max_length=TEXT_MAX)] | None = None
    files: Annotated[list[FileIn], Field(max_length=ATTACHMENTS_MAX)] = []


class ReopenIn(Strict):
    reason: Annotated[
        str,
        Field(min_length=1, max_length=TEXT_MAX, pattern=r"\S", examples=["Не помогло"]),
    ]


class WithdrawIn(Strict):
    comment: Annotated[str, Field(max_length=TEXT_MAX)] | None = None


class OrganisationPath(Strict):
    external_id: ExternalId


class OrganisationIn(Strict):
    name: Name
    tariff: Annotated[
        str,
        Field(min_length=1, max_length=32, description="a tariff's code", examples=["standard"]),
    ]


# -- answers ---------------------------------------------------------------------

Status = Literal["new", "in_progress", "waiting_customer", "resolved", "closed"]
Priority = Literal["P1", "P2", "P3", "P4"]


class RequestCreated(BaseModel):
    number: str = Field(examples=["CTV-1042"])
    status: Status
    priority: Priority
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    telegram_link: str | None = Field(
        description=(
            "opens the bot and ties the customer's Telegram account to this request and"
            " organisation; null when the desk has no LINK_SECRET"
        )
    )


class HistoryItem(BaseModel):
    at: datetime
    action: str
    by: str = Field(description="customer, cabinet, agent, admin, manager or system")
    text: str | None
    status: Status | None = Field(description="the status the action led to, if it changed")


class RequestView(BaseModel):
    number: str
    kind: Literal["incident", "problem", "service_request", "development_request"]
    channel: Literal["telegram", "cabinet"]
    topic: str
    status: Status
    priority: Priority
    created_at: datetime
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    history: list[HistoryItem]


class RequestSummary(BaseModel):
    number: str
    topic: str
    status: Status
    priority: Priority
    created_at: datetime
    updated_at: datetime


class RequestPage(BaseModel):
    items: list[RequestSummary]
    total: int
    offset: int
    limit: int


class OrganisationOut(BaseModel):
    external_id: str
    name: str
    tariff: str


class FieldProblem(BaseModel):
    field: str = Field(description="where: a JSON path such as customer.email, or a header")
    problem: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldProblem] | None = None
