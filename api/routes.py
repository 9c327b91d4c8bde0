"""The cabinet's HTTP API (R8): its routes, each a thin call of a ``Desk`` use case.

Every call passes the guard (key, rate) first; a call with an
``Idempotency-Key`` is answered once and replayed after (``_idempotent``);
every refusal is problem details (``api/problems.py``). The desk decides
everything about a request: these handlers only translate HTTP to its
values and its answers back.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import mimetypes
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from api.guard import Part, RateLimit, authenticate, read_body, read_multipart
from api.problems import ApiProblem, from_validation, invalid, response
from api.schemas import (
    KIND_NAMES,
    KINDS,
    FieldProblem,
    FileIn,
    HistoryItem,
    MessageIn,
    OrganisationIn,
    OrganisationOut,
    OrganisationPath,
    ReopenIn,
    RequestCreated,
    RequestIn,
    RequestPage,
    RequestSummary,
    RequestView,
    WithdrawIn,
)
from desk.cabinet import CabinetCustomer, CabinetOrganisation, Replay
from desk.errors import (
    ConcurrentChange,
    DeskError,
    IllegalTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from desk.images import ImageRejected, Rejection, inspect_and_clean
from desk.model import Channel, Kind, Status, format_number, parse_number
from desk.service import Actor, AttachmentIn, Desk, NewTicket
from desk.values import DETAILS_MAX
from storage.models import Ticket, TicketEvent

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Telegram takes a photo up to 10000 px in width + height, at most 20:1.
PHOTO_SIDES_MAX, PHOTO_RATIO_MAX = 10_000, 20
IDEMPOTENCY_KEY_MAX = 255
# The body as the guard read it (within the size limit): bytes, or multipart parts.
BODY: web.RequestKey[bytes | list[Part]] = web.RequestKey("body")


@dataclass(frozen=True)
class ApiConfig:
    keys: Collection[str]
    rate_per_minute: int = 120
    max_body_bytes: int = 32 * 1024 * 1024
    link_secret: str = ""
    link_valid_for: timedelta = timedelta(days=30)


class CabinetApi:
    def __init__(
        self,
        desk: Desk,
        config: ApiConfig,
        bot_username: Callable[[], Awaitable[str | None]],
        rate: RateLimit,
    ) -> None:
        self.desk = desk
        self.config = config
        self.bot_username = bot_username
        self.rate = rate

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v1/requests", self.guarded(self.create, idempotent=True)),
            web.get("/v1/requests", self.guarded(self.list_requests)),
            web.get("/v1/requests/{number}", self.guarded(self.show)),
            web.post("/v1/requests/{number}/messages", self.guarded(self.message, True)),
            web.post("/v1/requests/{number}/confirm", self.guarded(self.confirm, True)),
            web.post("/v1/requests/{number}/reopen", self.guarded(self.reopen, True)),
            web.post("/v1/requests/{number}/withdraw", self.guarded(self.withdraw, True)),
            web.put("/v1/organisations/{external_id}", self.guarded(self.put_organisation, True)),
        ]

    # -- the guard ----------------------------------------------------------------

    def guarded(self, handler: Handler, idempotent: bool = False) -> Handler:
        async def run(request: web.Request) -> web.StreamResponse:
            scope = authenticate(request, self.config.keys)
            await self.rate.check(scope)
            if request.method in ("POST", "PUT"):
                body = await self._body(request)
                request[BODY] = body
                key = request.headers.get("Idempotency-Key")
                if idempotent and key is not None:
                    return await self._idempotent(request, handler, scope, key, body)
            return await handler(request)

        return run

    async def _body(self, request: web.Request) -> bytes | list[Part]:
        limit = self.config.max_body_bytes
        if request.content_type == "multipart/form-data":
            return await read_multipart(request, limit)
        return await read_body(request, limit)

    async def _idempotent(
        self,
        request: web.Request,
        handler: Handler,
        scope: str,
        key: str,
        body: bytes | list[Part],
    ) -> web.StreamResponse:
        if not key.strip() or len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
            raise invalid("Idempotency-Key", f"1-{IDEMPOTENCY_KEY_MAX} printable characters", 400)
        digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
        if isinstance(body, bytes):
            digest.update(body)
        else:
            for part in body:
                digest.update(f"{part.name}:{part.filename}:{len(part.data)}:".encode())
                digest.update(part.data)
        state = await self.desk.idempotency_begin(scope, key, digest.hexdigest())
        if state.replay is Replay.ANSWER:
            assert state.status is not None and state.body is not None
            return web.json_response(
                state.body, status=state.status, headers={"Idempotent-Replayed": "true"}
            )
        if state.replay is Replay.MISMATCH:
            raise invalid("Idempotency-Key", "already used for a different call")
        if state.replay is Replay.IN_PROGRESS:
            raise ApiProblem(409, "a call with this Idempotency-Key is still in progress")
        try:
            answer = await handler(request)
        except BaseException:
            # A failed call created nothing (R: "a failed call creates nothing"),
            # so the same key may carry the corrected call.
            await asyncio.shield(self.desk.idempotency_release(scope, key))
            raise
        if isinstance(answer, web.Response) and answer.status < 300 and answer.body is not None:
            assert isinstance(answer.body, bytes)
            await self.desk.idempotency_finish(scope, key, answer.status, json.loads(answer.body))
        else:
            await self.desk.idempotency_release(scope, key)
        return answer

    # -- requests ----------------------------------------------------------------

    async def create(self, request: web.Request) -> web.Response:
        body = request[BODY]
        if isinstance(body, list):
            document = _json_part(body, "request")
            document.setdefault("screenshots", [])
            files = [p for p in body if p.name == "screenshots"]
            payload = _validate(RequestIn, document)
            uploads = [(p.filename or "screenshot", p.data) for p in files]
            uploads += _decoded(payload.screenshots, "screenshots")
        else:
            payload = _validate(RequestIn, _json(body))
            uploads = _decoded(payload.screenshots, "screenshots")
        if len(uploads) > 10:
            raise invalid("screenshots", "at most 10 screenshots")
        details = _details_text(payload.technical_details)
        attachments = await _screenshots(uploads)
        customer = payload.customer
        actor = await self.desk.cabinet_customer(
            CabinetCustomer(
                external_id=customer.external_id,
                name=customer.name,
                email=customer.email,
                phone=customer.phone,
                organisation=(
                    CabinetOrganisation(
                        customer.organisation.external_id, customer.organisation.name
                    )
                    if customer.organisation
                    else None
                ),
            )
        )
        ticket = await self.desk.create(
            actor,
            NewTicket(
                kind=KINDS[payload.kind],
                topic=payload.topic,
                description=payload.description,
                technical_details=details,
                attachments=attachments,
                channel=Channel.CABINET,
            ),
        )
        created = RequestCreated(
            number=format_number(ticket.number),
            status=ticket.status,  # type: ignore[arg-type]
            priority=f"P{ticket.priority}",  # type: ignore[arg-type]
            first_response_due_at=ticket.first_response_due_at,
            resolution_due_at=ticket.resolution_due_at,
            telegram_link=await self._link(ticket),
        )
        return _answer(created, 201)

    async def _link(self, ticket: Ticket) -> str | None:
        if not self.config.link_secret:
            return None
        try:
            username = await self.bot_username()
        except Exception:  # the request exists; a link can be asked for again later
            log.warning("bot username unknown: the answer goes without a link", exc_info=True)
            return None
        if not username:
            return None
        token = self.desk.request_link(ticket, self.config.link_secret, self.config.link_valid_for)
        return f"https://t.me/{username}?start={token}"

    async def list_requests(self, request: web.Request) -> web.Response:
        query = request.query
        problems: list[FieldProblem] = []
        customer = query.get("customer", "").strip()
        if not customer:
            problems.append(FieldProblem(field="customer", problem="required"))
        offset = _int_param(query.get("offset"), "offset", 0, 0, 1_000_000, problems)
        limit = _int_param(query.get("limit"), "limit", 20, 1, 100, problems)
        if problems:
            raise ApiProblem(422, "bad query parameters", problems, code="invalid-fields")
        tickets, total = await self.desk.cabinet_requests(customer, offset=offset, limit=limit)
        page = RequestPage(
            items=[
                RequestSummary(
                    number=format_number(t.number),
                    topic=t.topic,
                    status=t.status,  # type: ignore[arg-type]
                    priority=f"P{t.priority}",  # type: ignore[arg-type]
                    created_at=t.created_at,
                    updated_at=t.updated_at,
                )
                for t in tickets
            ],
            total=total,
            offset=offset,
            limit=limit,
        )
        return _answer(page)

    async def _actor(self, request: web.Request) -> tuple[Actor, int]:
        number = parse_number(request.match_info["number"])
        if number is None or number > 2**62:
            raise NotFound("no such request")
        return await self.desk.cabinet_actor(number), number

    async def _view(self, actor: Actor, number: int, status: int = 200) -> web.Response:
        ticket = await self.desk.ticket(actor, number)
        events = await self.desk.history(actor, number)
        return _answer(_request_view(ticket, events), status)

    async def show(self, request: web.Request) -> web.Response:
        actor, number = await self._actor(request)
        return await self._view(actor, number)

    async def message(self, request: web.Request) -> web.Response:
        actor, number = await self._actor(request)
        body = request[BODY]
        if isinstance(body, list):
            texts = [p.data.decode("utf-8", "replace") for p in body if p.name == "text"]
            payload = _validate(MessageIn, {"text": texts[0] if texts else None})
            uploads = [(p.filename or "file", p.data) for p in body if p.name == "files"]
        else:
            payload = _validate(MessageIn, _json(body))
            uploads = _decoded(payload.files, "files")
        if len(uploads) > 10:
            raise invalid("files", "at most 10 files")
        attachments = await _follow_up_files(uploads)
        if not (payload.text or "").strip() and not attachments:
            raise invalid("text", "a message needs text or files")
        await self.desk.add_information(actor, number, payload.text or "", attachments=attachments)
        return await self._view(actor, number, 201)

    async def confirm(self, request: web.Request) -> web.Response:
        actor, number = await self._actor(request)
        await self.desk.confirm(actor, number)
        return await self._view(actor, number)

    async def reopen(self, request: web.Request) -> web.Response:
        actor, number = await self._actor(request)
        payload = _validate(ReopenIn, _json(_bytes(request)))
        await self.desk.reopen(actor, number, payload.reason)
        return await self._view(actor, number)

    async def withdraw(self, request: web.Request) -> web.Response:
        actor, number = await self._actor(request)
        raw = _bytes(request)
        payload = _validate(WithdrawIn, _json(raw) if raw.strip() else {})
        await self.desk.withdraw(actor, number, payload.comment)
        return await self._view(actor, number)

    # -- organisations ----------------------------------------------------------

    async def put_organisation(self, request: web.Request) -> web.Response:
        external_id = request.match_info["external_id"]
        _validate_external_id(external_id)
        payload = _validate(OrganisationIn, _json(_bytes(request)))
        view = await self.desk.put_organisation(external_id, payload.name, payload.tariff)
        out = OrganisationOut(external_id=view.external_id, name=view.name, tariff=view.tariff)
        return _answer(out, 201 if view.created else 200)


# -- translating --------------------------------------------------------------------


def _answer(model: BaseModel, status: int = 200) -> web.Response:
    return web.json_response(model.model_dump(mode="json"), status=status)


def _bytes(request: web.Request) -> bytes:
    body = request[BODY]
    if not isinstance(body, bytes):
        raise ApiProblem(415, "this call takes application/json")
    return body


def _json(body: bytes) -> Any:
    if not body.strip():
        raise invalid("body", "a JSON object is required", 400)
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise invalid("body", f"not valid JSON ({error})", 400) from None


def _json_part(parts: Sequence[Part], name: str) -> dict[str, Any]:
    found = [p for p in parts if p.name == name]
    if not found:
        raise invalid(name, "a multipart body needs this part (the JSON document)", 400)
    document = _json(found[0].data)
    if not isinstance(document, dict):
        raise invalid(name, "must be a JSON object", 400)
    return document


def _validate(model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise invalid("body", "a JSON object is required", 400)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise from_validation(error) from None


def _validate_external_id(value: str) -> None:
    try:
        OrganisationPath.model_validate({"external_id": value})
    except ValidationError as error:
        raise from_validation(error) from None


def _int_param(
    raw: str | None,
    name: str,
    default: int,
    low: int,
    high: int,
    problems: list[FieldProblem],
) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        problems.append(FieldProblem(field=name, problem="must be a whole number"))
        return default
    if not low <= value <= high:
        problems.append(FieldProblem(field=name, problem=f"must be {low}-{high}"))
        return default
    return value


def _decoded(files: Sequence[FileIn], field: str) -> list[tuple[str, bytes]]:
    out = []
    for index, item in enumerate(files):
        try:
            data = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise invalid(f"{field}[{index}].content_base64", "not base64") from None
        out.append((item.filename, data))
    return out


def _details_text(details: dict[str, Any] | None) -> str | None:
    """The cabinet's technical details as the readable block agents see (``key: value`` lines)."""
    if not details:
        return None
    lines = []
    for key, value in details.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        lines.append(f"{key}: {shown}")
    text = "\n".join(lines)
    if len(text) > DETAILS_MAX:
        raise invalid("technical_details", f"too long: at most {DETAILS_MAX} characters shown")
    return text


def _image_kind(width: int, height: int) -> str:
    ratio = max(width, height) / max(1, min(width, height))
    fits = width + height <= PHOTO_SIDES_MAX and ratio <= PHOTO_RATIO_MAX
    return "photo" if fits else "document"


def _rejected(field: str, error: ImageRejected) -> ApiProblem:
    if error.reason is Rejection.TOO_LARGE:
        return ApiProblem(413, f"{field}: over the size limit of 10 MB per file")
    problem = {
        Rejection.NOT_IMAGE: "not an image the desk can open",
        Rejection.TOO_MANY_PIXELS: "more than 40 megapixels",
        Rejection.BOMB: "a decompression bomb",
    }[error.reason]
    return invalid(field, problem)


async def _screenshots(
    files: Sequence[tuple[str, bytes]], field: str = "screenshots", first: int = 0
) -> list[AttachmentIn]:
    """The same checks and cleaning as a screenshot sent to the bot (``desk/images.py``)."""
    out = []
    for index, (name, data) in enumerate(files, start=first):
        try:
            clean = await asyncio.to_thread(inspect_and_clean, data)
        except ImageRejected as error:
            raise _rejected(f"{field}[{index}]", error) from None
        stem = name.rsplit(".", 1)[0] or "screenshot"
        out.append(
            AttachmentIn.upload(
                clean.data,
                clean.mime_type,
                f"{stem}.{clean.extension}",
                kind=_image_kind(clean.width, clean.height),
                width=clean.width,
                height=clean.height,
                sha256=clean.sha256,
            )
        )
    return out


async def _follow_up_files(files: Sequence[tuple[str, bytes]]) -> list[AttachmentIn]:
    """Images are checked and cleaned like screenshots; other files go to support as sent."""
    out = []
    for index, (name, data) in enumerate(files):
        try:
            cleaned = await _screenshots([(name, data)], "files", index)
        except ApiProblem as problem:
            if problem.status == 413 or "not an image" not in (problem.detail or ""):
                raise
            mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
            out.append(AttachmentIn.upload(data, mime, name, kind="document"))
            continue
        out.extend(cleaned)
    return out


def _request_view(ticket: Ticket, events: Sequence[TicketEvent]) -> RequestView:
    return RequestView(
        number=format_number(ticket.number),
        kind=KIND_NAMES[Kind(ticket.kind)],  # type: ignore[arg-type]
        channel=ticket.channel,  # type: ignore[arg-type]
        topic=ticket.topic,
        status=ticket.status,  # type: ignore[arg-type]
        priority=f"P{ticket.priority}",  # type: ignore[arg-type]
        created_at=ticket.created_at,
        first_response_due_at=ticket.first_response_due_at,
        resolution_due_at=ticket.resolution_due_at,
        resolved_at=ticket.resolved_at,
        closed_at=ticket.closed_at,
        history=[
            HistoryItem(
                at=event.created_at,
                action=event.action,
                by=event.actor_role,
                text=event.comment,
                status=_status_after(event),  # type: ignore[arg-type]
            )
            for event in events
            if not event.internal
        ],
    )


def _status_after(event: TicketEvent) -> str | None:
    status = (event.after or {}).get("status")
    return status if status in {s.value for s in Status} else None


# -- errors ------------------------------------------------------------------------


def problem_for(error: DeskError) -> ApiProblem:
    """The desk's refusals in HTTP's words."""
    if isinstance(error, NotFound):
        return ApiProblem(404, "no such request for this key", code="not-found")
    if isinstance(error, ValidationFailed):
        known = error.details.get("known")
        problem = error.problem if known is None else f"{error.problem} (known: {known})"
        return invalid(error.field, problem)
    if isinstance(error, IllegalTransition):
        return ApiProblem(
            409,
            f"{error.action.value} is not possible while the request is {error.status.value}",
            code="illegal-transition",
        )
    if isinstance(error, ConcurrentChange):
        return ApiProblem(409, "the request changed meanwhile; nothing saved, try again")
    if isinstance(error, PermissionDenied):
        return ApiProblem(403, "not allowed for the cabinet")
    return ApiProblem(409, str(error))


@web.middleware
async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every refusal as problem details, including aiohttp's own 404 and 405."""
    try:
        return await handler(request)
    except ApiProblem as problem:
        return response(problem)
    except DeskError as error:
        return response(problem_for(error))
    except web.HTTPException as error:
        if error.status >= 400:
            headers = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else None
            return response(ApiProblem(error.status, error.reason, headers=headers))
        raise
    except Exception:
        # A defect, or the database gone: the cabinet gets the same shape, the log the cause.
        log.exception("API call %s %s failed", request.method, request.path)
        return response(ApiProblem(500, "the desk could not handle this call; try again later"))
