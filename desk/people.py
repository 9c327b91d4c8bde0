"""People: customers and staff as the desk knows them, their organisations and language.

Roles come from settings (see ``desk/roles.py``); a customer is tied to their
organisation only by a signed link from the cabinet, verified here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cached_property

from sqlalchemy.exc import IntegrityError

from desk.batching import Combiner
from desk.change import DeskBase
from desk.errors import NotFound, PermissionDenied
from desk.links import verify_organisation_link
from desk.model import Action, Role
from desk.values import Actor
from storage import repository as repo
from storage.models import Agent, Customer, Organisation

# A bound on one transaction's statements (the insert's parameters, the IN list):
# a burst larger than this is written in several turns.
SIGHTINGS_PER_TRANSACTION = 200


class People(DeskBase):
    async def register_telegram_user(
        self,
        user_id: int,
        *,
        name: str,
        username: str | None = None,
        language: str | None = None,
        staff_roles: frozenset[Role] = frozenset(),
    ) -> Actor:
        """The actor behind a Telegram user; staff roles come from ``desk.roles.roles_of``.

        Customers are written together (``desk.batching``): in a burst of new
        people every first update registers someone, and one transaction for
        each was a third of the bot's time. Concurrent registrations share one
        transaction (``storage.repository.seen_customers``); a lone one is
        written at once. A failure of that transaction is the failure of each
        registration in it.

        Staff are few and come one at a time: theirs is a transaction each. Two
        first updates of a new agent may race (a message and a button, or two
        replicas): the loser's insert hits the unique key, and its second try
        finds the row the winner wrote.
        """
        if not staff_roles:
            seen = await self._sightings.submit(repo.Sighting(user_id, name, username, language))
            return Actor.customer(seen.id, name, seen.language)
        try:
            return await self._register_agent(user_id, name, username, language, staff_roles)
        except IntegrityError:
            return await self._register_agent(user_id, name, username, language, staff_roles)

    @cached_property
    def _sightings(self) -> Combiner[repo.Sighting, repo.CustomerSeen]:
        return Combiner(self._write_sightings, limit=SIGHTINGS_PER_TRANSACTION)

    async def _write_sightings(self, sightings: Sequence[repo.Sighting]) -> list[repo.CustomerSeen]:
        async with self._sessions() as session, session.begin():
            return await repo.seen_customers(session, sightings)

    async def _register_agent(
        self,
        user_id: int,
        name: str,
        username: str | None,
        language: str | None,
        staff_roles: frozenset[Role],
    ) -> Actor:
        async with self._sessions() as session, session.begin():
            agent = await repo.agent_by_telegram_id(session, user_id)
            if agent is None:
                agent = Agent(
                    telegram_user_id=user_id, name=name, username=username, language=language
                )
                session.add(agent)
            else:
                agent.name, agent.username = name, username
                # Group messages do not say the language; keep what a private one said.
                agent.language = language or agent.language
            await session.flush()
            return Actor.staff(agent.id, name, staff_roles)

    async def set_language(self, actor: Actor, language: str) -> None:
        if actor.customer_id is None:
            return
        async with self._sessions() as session, session.begin():
            customer = await session.get(Customer, actor.customer_id)
            if customer is not None:
                customer.language = language

    async def set_customer_organisation(
        self, customer_id: int, organisation_id: int | None
    ) -> None:
        async with self._sessions() as session, session.begin():
            customer = await session.get(Customer, customer_id)
            if customer is None:
                raise NotFound("customer not found")
            customer.organisation_id = organisation_id

    async def create_organisation(
        self, name: str, tariff_code: str, external_id: str | None = None
    ) -> int:
        async with self._sessions() as session, session.begin():
            tariff = await repo.tariff_by_code(session, tariff_code)
            if tariff is None:
                raise NotFound(f"tariff {tariff_code} not found")
            organisation = Organisation(name=name, tariff_id=tariff.id, external_id=external_id)
            session.add(organisation)
            await session.flush()
            return organisation.id

    async def join_organisation(
        self, actor: Actor, token: str, *, secret: str, now: datetime | None = None
    ) -> str:
        """Tie the customer to the organisation a signed cabinet link names; returns its name.

        ``token`` is the /start payload as it came (``desk/links.py``); a
        forged, damaged or expired one raises :class:`~desk.errors.InvalidLink`
        and changes nothing, as does an empty ``secret``.
        """
        if actor.customer_id is None:
            raise PermissionDenied("only customers belong to organisations")
        link = verify_organisation_link(secret, token, now or self._clock())
        async with self._sessions() as session, session.begin():
            organisation = await repo.organisation_by_external_id(
                session, link.organisation_external_id
            )
            customer = await session.get(Customer, actor.customer_id)
            if organisation is None or customer is None:
                raise NotFound("organisation not found")
            customer.organisation_id = organisation.id
            return organisation.name

    async def mark_customer_blocked(self, customer_id: int) -> None:
        """The customer blocked the bot: stop writing to them, and show it on their cards."""
        async with self._change(Actor.system()) as change:
            customer = await change.session.get(Customer, customer_id)
            if customer is None or customer.blocked_bot_at is not None:
                return
            customer.blocked_bot_at = change.now
            user_id = customer.telegram_user_id
            for ticket in await repo.open_tickets_of(change.session, customer_id):
                event = await change.event(ticket, Action.CUSTOMER_BLOCKED, internal=True)
                change.card(ticket, event)
        if user_id is not None:
            # Whoever remembers this person must ask the desk again when they write:
            # that is when the desk notes they are back.
            for listener in self.blocked_listeners:
                await listener(user_id)
