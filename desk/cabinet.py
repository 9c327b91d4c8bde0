"""The personal cabinet's channel (R8): its customers, organisations, links and bookkeeping.

The cabinet's HTTP API (``api/``) acts as :class:`~desk.values.Actor.cabinet`
for one of the cabinet's customers; the rules of a request stay those of
``desk/intake.py`` … ``desk/resolution.py``. Here live what only the cabinet
needs: its customers found or created by their external id, organisations
and their tariffs kept in step (R7), the tariffs file applied (R11), the
signed deep link that ties a Telegram account to a cabinet customer and
request, the files that came over HTTP, and the idempotency keys of its calls.

A key of the API sees the requests of customers the cabinet knows (those with
an external id); a request of a Telegram-only customer is "not found" to it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from desk.change import DeskBase
from desk.errors import InvalidLink, NotFound, PermissionDenied, ValidationFailed
from desk.links import sign_request_link, verify_request_link
from desk.tariffs import TariffSpec
from desk.values import Actor
from storage import repository as repo
from storage.models import (
    ApiIdempotency,
    Customer,
    Organisation,
    Tariff,
    Ticket,
    Upload,
)

# How long an idempotency key is remembered: a day covers any client's retries.
IDEMPOTENCY_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class CabinetOrganisation:
    external_id: str
    name: str


@dataclass(frozen=True)
class CabinetCustomer:
    """A customer as the cabinet describes them with each request."""

    external_id: str
    name: str
    email: str | None = None
    phone: str | None = None
    organisation: CabinetOrganisation | None = None


@dataclass(frozen=True)
class OrganisationView:
    external_id: str
    name: str
    tariff: str
    created: bool


class Replay(enum.Enum):
    NEW = "new"  # first time: go on, then finish or release the key
    ANSWER = "answer"  # answered before: return ``status`` and ``body``
    IN_PROGRESS = "in_progress"  # the first call has not finished yet
    MISMATCH = "mismatch"  # the key was used for another call


@dataclass(frozen=True)
class IdempotencyState:
    replay: Replay
    status: int | None = None
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class FollowedLink:
    number: int
    organisation: str | None


class Cabinet(DeskBase):
    # -- customers and organisations --------------------------------------

    async def cabinet_customer(self, profile: CabinetCustomer) -> Actor:
        """The cabinet acting for this customer, created or updated as described.

        Two first calls for one new customer may race: the loser's insert hits
        the unique external id, and its second try finds the winner's row.
        """
        try:
            return await self._cabinet_customer(profile)
        except IntegrityError:
            return await self._cabinet_customer(profile)

    async def _cabinet_customer(self, profile: CabinetCustomer) -> Actor:
        async with self._sessions() as session, session.begin():
            organisation_id = None
            if profile.organisation is not None:
                organisation = await repo.organisation_by_external_id(
                    session, profile.organisation.external_id
                )
                if organisation is None:
                    # The cabinet names the tariff with PUT /organisations; until
                    # then a new organisation is served by the default one.
                    tariff = await repo.default_tariff(session)
                    organisation = Organisation(
                        name=profile.organisation.name,
                        external_id=profile.organisation.external_id,
                        tariff_id=tariff.id,
                        created_at=self._clock(),
                    )
                    session.add(organisation)
                    await session.flush()
                else:
                    organisation.name = profile.organisation.name
                organisation_id = organisation.id
            customer = await repo.customer_by_external_id(session, profile.external_id)
            if customer is None:
                customer = Customer(external_id=profile.external_id, created_at=self._clock())
                session.add(customer)
            customer.name = profile.name
            customer.email = profile.email
            customer.phone = profile.phone
            if organisation_id is not None:
                customer.organisation_id = organisation_id
            await session.flush()
            return Actor.cabinet(customer.id)

    async def cabinet_actor(self, number: int) -> Actor:
        """The cabinet acting for the customer of request ``number``, if the cabinet knows them."""
        async with self._sessions() as session:
            ticket = await repo.ticket_by_number(session, number)
            if ticket is None or ticket.customer.external_id is None:
                raise NotFound(f"request {number} not found", number=number)
            return Actor.cabinet(ticket.customer_id)

    async def cabinet_requests(
        self, external_id: str, *, offset: int = 0, limit: int = 20
    ) -> tuple[Sequence[Ticket], int]:
        """A cabinet customer's requests (open first, newest first) and how many there are."""
        async with self._sessions() as session:
            customer = await repo.customer_by_external_id(session, external_id)
            if customer is None:
                return [], 0
            tickets = await repo.customer_tickets(session, customer.id, offset=offset, limit=limit)
            return tickets, await repo.customer_ticket_count(session, customer.id)

    async def put_organisation(
        self, external_id: str, name: str, tariff_code: str
    ) -> OrganisationView:
        """R7: the cabinet keeps an organisation and its tariff in step with the desk.

        New requests of its customers follow the new tariff; requests already
        filed keep the one they were filed under.
        """
        text = name.strip()
        if not text:
            raise ValidationFailed("name", "empty")
        try:
            return await self._put_organisation(external_id, text, tariff_code)
        except IntegrityError:
            return await self._put_organisation(external_id, text, tariff_code)

    async def _put_organisation(
        self, external_id: str, name: str, tariff_code: str
    ) -> OrganisationView:
        async with self._sessions() as session, session.begin():
            tariff = await repo.tariff_by_code(session, tariff_code)
            if tariff is None:
                known = [t.code for t in await repo.tariffs(session)]
                raise ValidationFailed("tariff", "unknown", known=known)
            organisation = await repo.organisation_by_external_id(session, external_id)
            created = organisation is None
            if organisation is None:
                organisation = Organisation(
                    external_id=external_id,
                    name=name,
                    tariff_id=tariff.id,
                    created_at=self._clock(),
                )
                session.add(organisation)
            else:
                organisation.name = name
                organisation.tariff_id = tariff.id
            await session.flush()
            return OrganisationView(external_id, name, tariff.code, created)

    async def tariff_codes(self) -> list[str]:
        async with self._sessions() as session:
            return [t.code for t in await repo.tariffs(session)]

    async def apply_tariffs(self, specs: Sequence[TariffSpec]) -> None:
        """R11: the administrator's tariffs file, applied in one transaction at start."""
        async with self._sessions() as session, session.begin():
            existing = {t.code: t for t in await repo.tariffs(session)}
            for tariff in existing.values():
                tariff.is_default = False
            for spec in specs:
                found = existing.get(spec.code)
                tariff = found if found is not None else Tariff(code=spec.code)
                session.add(tariff)
                tariff.name = spec.name
                tariff.is_default = spec.default
                tariff.business_days_only = spec.business_days_only
                await session.flush()
                await repo.replace_targets(session, tariff, spec.targets)

    # -- the deep link ------------------------------------------------------

    def request_link(self, ticket: Ticket, secret: str, valid_for: timedelta) -> str:
        """The /start payload that ties a Telegram account to this request's customer."""
        return sign_request_link(
            secret, ticket.customer_id, ticket.number, self._clock() + valid_for
        )

    async def follow_cabinet_link(
        self, actor: Actor, token: str, *, secret: str, now: datetime | None = None
    ) -> FollowedLink:
        """The Telegram customer ``actor`` becomes the cabinet customer the link names.

        The cabinet's customer row (with its requests, organisation and
        contacts) is merged into the Telegram one, so the actor stays who they
        are and the cabinet's requests now reach their chat. A forged, damaged
        or expired link, one for a customer another Telegram account already
        claimed, or a Telegram customer already tied to another cabinet
        customer raise :class:`~desk.errors.InvalidLink` and change nothing.
        """
        if actor.customer_id is None:
            raise PermissionDenied("only customers follow cabinet links")
        link = verify_request_link(secret, token, now or self._clock())
        async with self._sessions() as session, session.begin():
            person = await session.get(Customer, actor.customer_id)
            cabinet = await session.get(Customer, link.customer_id)
            if person is None or cabinet is None:
                # Already merged into this very person: following it again is fine.
                ticket = await repo.ticket_by_number(session, link.number)
                if person is not None and ticket is not None and ticket.customer_id == person.id:
                    organisation = person.organisation.name if person.organisation else None
                    return FollowedLink(link.number, organisation)
                raise InvalidLink("customer gone")
            if cabinet.id != person.id:
                if cabinet.telegram_user_id is not None:
                    raise InvalidLink("claimed by another account")
                if person.external_id is not None and person.external_id != cabinet.external_id:
                    raise InvalidLink("tied to another cabinet customer")
                await _merge(session, source=cabinet, into=person)
            organisation = person.organisation.name if person.organisation else None
            return FollowedLink(link.number, organisation)

    # -- files that came over HTTP --------------------------------------------

    async def upload(self, upload_id: int) -> Upload | None:
        async with self._sessions() as session:
            return await repo.upload(session, upload_id)

    async def remember_file_id(self, upload_id: int, file_id: str, file_unique_id: str) -> None:
        """Delivery bookkeeping: the uploaded file now has a Telegram file id."""
        async with self._sessions() as session, session.begin():
            await repo.remember_file_id(session, upload_id, file_id, file_unique_id)

    # -- idempotency keys ---------------------------------------------------

    async def idempotency_begin(self, scope: str, key: str, fingerprint: str) -> IdempotencyState:
        """Claim ``key`` for a call, or say what became of the call that claimed it first."""
        now = self._clock()
        try:
            async with self._sessions() as session, session.begin():
                await repo.prune_idempotency(session, now - IDEMPOTENCY_TTL)
                session.add(
                    ApiIdempotency(scope=scope, key=key, fingerprint=fingerprint, created_at=now)
                )
            return IdempotencyState(Replay.NEW)
        except IntegrityError:
            pass
        async with self._sessions() as session:
            row = await repo.idempotency_row(session, scope, key)
        if row is None:  # released meanwhile: the caller may simply retry
            return IdempotencyState(Replay.IN_PROGRESS)
        if row.fingerprint != fingerprint:
            return IdempotencyState(Replay.MISMATCH)
        if row.status_code is None:
            return IdempotencyState(Replay.IN_PROGRESS)
        return IdempotencyState(Replay.ANSWER, row.status_code, row.body)

    async def idempotency_finish(
        self, scope: str, key: str, status: int, body: dict[str, Any]
    ) -> None:
        async with self._sessions() as session, session.begin():
            row = await repo.idempotency_row(session, scope, key)
            if row is not None:
                row.status_code, row.body = status, body

    async def idempotency_release(self, scope: str, key: str) -> None:
        """The call failed and changed nothing: the key may be used again."""
        async with self._sessions() as session, session.begin():
            row = await repo.idempotency_row(session, scope, key)
            if row is not None and row.status_code is None:
                await session.delete(row)


async def _merge(session: AsyncSession, *, source: Customer, into: Customer) -> None:
    """Move a customer's requests, history and cabinet identity onto another customer."""
    external_id, email, phone = source.external_id, source.email, source.phone
    organisation_id = source.organisation_id
    await repo.move_customer_records(session, source.id, into.id)
    await session.delete(source)
    # The unique external id is free only once the old row is gone.
    await session.flush()
    into.external_id = external_id
    into.email = into.email or email
    into.phone = into.phone or phone
    if organisation_id is not None:
        into.organisation_id = organisation_id
    await session.flush()
    await session.refresh(into, ["organisation"])
