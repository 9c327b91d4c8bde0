"""The outbox sender: delivers the notifications the desk wrote, in order, at least once.

Rows are drained per chat in the order they were written (a customer never
reads "closed" before "resolved"); across chats the row of the most urgent
request goes first. A deliverer per audience turns a row into Bot API calls:
``delivery.customer`` for customers, ``delivery.backoffice`` for the
agents' group. The sender only knows how to schedule, retry and record.

Failures:
- 429: the row waits ``retry_after`` seconds, as Telegram asks;
- network errors and 5xx: retried with exponential backoff, up to ``MAX_ATTEMPTS``;
- 403 (the customer blocked the bot): the customer is marked, the row fails,
  and nothing more is written to them until they come back;
- other 4xx: the row fails with the error recorded (a bug to look at, never a loop).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from prometheus_client import Counter, Gauge

from desk.model import Audience
from desk.service import Desk
from storage import outbox
from storage.db import SessionFactory
from storage.models import Outbox, Ticket
from tgkit.loop import BackgroundLoop

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# A claimed row is not picked again before this; a sender that died mid-send
# leaves it to be retried after the lease (at least once, DESIGN principle 3).
LEASE = timedelta(seconds=60)
BATCH = 50
IDLE_POLL_SECONDS = 5.0  # rows written by another process (the HTTP API, a replica)

SENT = Counter("ctv_outbox_sent_total", "Notifications delivered", ["audience", "kind"])
FAILED = Counter("ctv_outbox_failed_total", "Notifications given up", ["audience", "reason"])
RETRIED = Counter("ctv_outbox_retried_total", "Notification attempts to retry", ["reason"])
PENDING = Gauge("ctv_outbox_pending", "Notifications waiting at the last check")


@dataclass(frozen=True)
class Delivery:
    """What a deliverer needs besides the row."""

    bot: Bot
    sessions: SessionFactory
    desk: Desk
    default_locale: str = "ru"


class Deliverer(Protocol):
    async def __call__(self, row: Outbox, ticket: Ticket | None, context: Delivery) -> int | None:
        """Make the Bot API calls for ``row``; return the message id shown, if any.

        Raise aiogram's Telegram exceptions as they come: the sender decides
        what to retry.
        """


def utcnow() -> datetime:
    return datetime.now(UTC)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2**attempts, 300))


class OutboxSender:
    def __init__(
        self,
        context: Delivery,
        deliverers: dict[Audience, Deliverer],
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._context = context
        self._deliverers = deliverers
        self._clock = clock
        self._draining = asyncio.Lock()
        self._loop = BackgroundLoop("outbox-sender", self.drain, interval=IDLE_POLL_SECONDS)
        context.desk.outbox_listeners.append(self.wake)

    def wake(self) -> None:
        self._loop.wake()

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def drain(self) -> float:
        """Deliver everything due now; return seconds until the next row is due."""
        async with self._draining:
            while True:
                rows = await self._due()
                if not rows:
                    return await self._next_due_in()
                for row in rows:
                    if await self._claim(row):
                        await self._deliver(row)

    async def _claim(self, row: Outbox) -> bool:
        """Take the row for this sender; False when another sender was first."""
        async with self._context.sessions() as session, session.begin():
            claimed = await outbox.claim(session, row.id, self._clock(), LEASE)
        if claimed:
            row.attempts += 1
        return claimed

    async def _due(self) -> Sequence[Outbox]:
        async with self._context.sessions() as session:
            return await outbox.due(session, self._clock(), BATCH)

    async def _next_due_in(self) -> float:
        async with self._context.sessions() as session:
            pending = await outbox.pending_due_times(session)
        PENDING.set(len(pending))
        if not pending:
            return IDLE_POLL_SECONDS
        wait = (pending[0] - self._clock()).total_seconds()
        return max(0.05, min(wait, IDLE_POLL_SECONDS))

    async def _deliver(self, row: Outbox) -> None:
        deliverer = self._deliverers.get(Audience(row.audience))
        async with self._context.sessions() as session:
            ticket = await session.get(Ticket, row.ticket_id) if row.ticket_id else None
        try:
            if deliverer is None:
                raise LookupError(f"no deliverer for {row.audience}")
            message_id = await deliverer(row, ticket, self._context)
        except TelegramRetryAfter as error:
            RETRIED.labels("429").inc()
            await self._retry(row, timedelta(seconds=error.retry_after), f"429: {error.message}")
        except (TelegramNetworkError, TelegramServerError, ClientDecodeError) as error:
            # ClientDecodeError: a proxy in front of the Bot API answered with a
            # page instead of JSON (a 502 from nginx); as transient as a 5xx.
            await self._transient(row, str(error))
        except TelegramForbiddenError as error:
            await self._fail(row, str(error), "forbidden")
            if row.audience == Audience.CUSTOMER.value and ticket is not None:
                await self._context.desk.mark_customer_blocked(ticket.customer_id)
        except (TelegramAPIError, LookupError, ValueError) as error:
            log.error("outbox row %s (%s) failed: %s", row.id, row.kind, error)
            await self._fail(row, str(error), "rejected")
        except Exception as error:  # a bug in a deliverer: retried, then given up, never lost
            log.exception("outbox row %s (%s) crashed", row.id, row.kind)
            await self._transient(row, f"{type(error).__name__}: {error}")
        else:
            await self._done(row, message_id)

    async def _transient(self, row: Outbox, error: str) -> None:
        RETRIED.labels("transient").inc()
        if row.attempts >= MAX_ATTEMPTS:
            await self._fail(row, f"gave up: {error}", "transient")
        else:
            await self._retry(row, backoff(row.attempts - 1), error)

    async def _done(self, row: Outbox, message_id: int | None) -> None:
        async with self._context.sessions() as session, session.begin():
            await outbox.mark_sent(session, row.id, self._clock(), message_id)
        SENT.labels(row.audience, row.kind).inc()

    async def _retry(self, row: Outbox, delay: timedelta, error: str) -> None:
        async with self._context.sessions() as session, session.begin():
            await outbox.mark_retry(session, row.id, self._clock() + delay, error)

    async def _fail(self, row: Outbox, error: str, reason: str) -> None:
        async with self._context.sessions() as session, session.begin():
            await outbox.mark_failed(session, row.id, error)
        FAILED.labels(row.audience, reason).inc()
