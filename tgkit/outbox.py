"""The outbox sender: delivers the notifications the desk wrote, in order, at least once.

Rows are drained per chat in the order they were written (a customer never
reads "closed" before "resolved"); across chats the row of the most urgent
request goes first. A deliverer per audience turns a row into Bot API calls:
``delivery.customer`` for customers, ``delivery.backoffice`` for the
agents' group; modules (plugins) add their own audiences, e.g. the cabinet
webhook. The sender only knows how to schedule, retry and record.

Pacing is the limiter's (``tgkit.limiter``, a request middleware on the bot):
the sender serves many chats at once and each delivery waits for its budget,
most urgent first. Queued edits of one card are merged into one. Rows are
claimed in batches (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) with a lease, so
replicas share the work; a stopping sender hands back what it did not send.

Failures:
- 429: the row waits ``retry_after`` seconds, as Telegram asks;
- network errors and 5xx: retried with exponential backoff, up to ``MAX_ATTEMPTS``;
- 403 (the customer blocked the bot): the customer is marked, the row fails,
  and nothing more is written to them until they come back;
- the agents' group cannot be written to (chat not found, the bot removed): the
  row waits and is tried every 30 s, never given up, and ``/health`` says so;
- other 4xx: the row fails with the error recorded (a bug to look at, never a loop).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncSession

from desk.model import Audience
from desk.service import Desk
from storage import outbox
from storage.db import SessionFactory
from storage.models import Outbox, Ticket
from tgkit.faults import until_written
from tgkit.limiter import Priority, priority
from tgkit.loop import BackgroundLoop, cancel_and_wait

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# A claimed row is not picked again before this. The sender renews the lease of
# the rows it holds every quarter of it (a delivery may take long: the request
# middleware retries for up to 30 s and a group may wait most of a minute for its
# budget), so a sender that died (kill -9) leaves its rows to the others, or to
# itself restarted, this long after its death: at least once, DESIGN principle 3.
# Short, because a chat's rows go in order: the agents' group's every card waits
# behind the one a dead sender held (20 s held up the cards of a whole burst after a
# kill -9, tests/chaos/test_kill.py). Renewed every 2.5 s, it lapses under a live
# sender only when its database stays away longer than that lease.
LEASE = timedelta(seconds=10)
CONCURRENCY = 16  # chats served at once; the limiter, not this, sets the pace
STOP_GRACE_SECONDS = 2.0
BACKOFFICE_RETRY = timedelta(seconds=30)
IDLE_POLL_SECONDS = 5.0  # rows written by another process (the HTTP API, a replica)

SENT = Counter("ctv_outbox_sent_total", "Notifications delivered", ["audience", "kind"])
FAILED = Counter("ctv_outbox_failed_total", "Notifications given up", ["audience", "reason"])
RETRIED = Counter("ctv_outbox_retried_total", "Notification attempts to retry", ["reason"])
PENDING = Gauge("ctv_outbox_pending", "Notifications waiting at the last check")
MERGED = Counter("ctv_outbox_merged_total", "Card edits merged into a later one")


@dataclass(frozen=True)
class Delivery:
    """What a deliverer needs besides the row."""

    bot: Bot
    sessions: SessionFactory
    desk: Desk
    default_locale: str = "ru"
    # Told whether the agents' group could be written to (for /health).
    backoffice: Callable[[bool, str], None] | None = None


class RetryLater(Exception):
    """A deliverer's passing failure outside Telegram (a module's HTTP endpoint is down):
    retried with the sender's backoff, up to ``MAX_ATTEMPTS``."""


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


def urgency(row: Outbox) -> Priority:
    """How the limiter ranks the row when the budget is short: P1 first, then customers."""
    if row.priority <= 1:
        return Priority.URGENT
    if row.audience == Audience.CUSTOMER.value:
        return Priority.CUSTOMER
    if row.ticket_id is None:
        return Priority.BACKGROUND  # digests and other reports
    return Priority.NORMAL


def telegram_problem(error: TelegramAPIError) -> str:
    """Telegram's reason without its "Bad Request: " / "Forbidden: " prefix, for people."""
    return error.message.removeprefix("Bad Request: ").removeprefix("Forbidden: ")


def backoffice_unreachable(error: TelegramAPIError) -> bool:
    """Telegram's words for a group the bot cannot write to (deleted, or the bot removed)."""
    text = error.message.lower()
    return isinstance(error, TelegramForbiddenError) or "chat not found" in text


class OutboxSender:
    def __init__(
        self,
        context: Delivery,
        deliverers: dict[str, Deliverer],
        *,
        clock: Callable[[], datetime] = utcnow,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self._context = context
        self._deliverers = deliverers
        self._clock = clock
        self._concurrency = concurrency
        self._draining = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        # Rows this sender holds, with the lease it last wrote for each.
        self._claimed: dict[int, datetime] = {}
        self._loop = BackgroundLoop("outbox-sender", self.drain, interval=IDLE_POLL_SECONDS)
        self._leases = BackgroundLoop(
            "outbox-leases", self.renew_leases, interval=LEASE.total_seconds() / 4
        )
        context.desk.outbox_listeners.append(self.wake)

    def wake(self) -> None:
        self._loop.wake()

    def start(self) -> None:
        self._loop.start()
        self._leases.start()

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Finish the deliveries under way for up to ``grace`` s; hand back the rest."""
        await self._loop.stop()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        # Each sent again its cancellation until it ends (see cancel_and_wait); an
        # error of a delivery cut short is of no interest any more.
        await asyncio.gather(
            *(cancel_and_wait(task) for task in list(self._tasks)), return_exceptions=True
        )
        await self._leases.stop()
        if self._claimed:
            # Without this a replica would wait out the lease before sending them.
            returned = sorted(self._claimed)
            async with self._context.sessions() as session, session.begin():
                await outbox.hand_back(session, returned, self._clock())
            log.info("handed back %d unsent notification(s)", len(returned))
            self._claimed.clear()

    async def drain(self) -> float:
        """Deliver everything due now; return seconds until the next row is due.

        Up to ``concurrency`` chats are served at once, one row each: the
        limiter paces them (a group waiting for its minute's budget does not
        hold up the customers), and a chat's next row is only due once its
        previous one is done, so order within a chat is kept.
        """
        async with self._draining:
            while True:
                # A delivery that ends while the claim below runs may unblock its
                # chat's next row: only a claim that started with nothing in flight
                # and found nothing proves the outbox drained.
                quiet = not self._tasks
                free = self._concurrency - len(self._tasks)
                claimed = await self._claim(free) if free > 0 else []
                for row in claimed:
                    task = asyncio.create_task(self._deliver(row), name=f"outbox-{row.id}")
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                if not self._tasks:
                    if quiet and not claimed:
                        return await self._next_due_in()
                    continue
                await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)

    async def _claim(self, limit: int) -> Sequence[Outbox]:
        async with self._context.sessions() as session, session.begin():
            rows = await outbox.claim_due(session, self._clock(), limit, LEASE)
        # A row still held here (its outcome not recorded yet, say while the
        # database was away and its lease lapsed) is not delivered a second time.
        fresh = [row for row in rows if row.id not in self._claimed]
        for row in rows:
            self._claimed[row.id] = row.next_attempt_at
        return fresh

    async def renew_leases(self) -> None:
        """Keep the rows being delivered from being claimed again (by a replica)."""
        held = dict(self._claimed)
        if not held:
            return
        until = self._clock() + LEASE
        async with self._context.sessions() as session, session.begin():
            renewed = await outbox.renew_leases(session, held, until)
        for row_id in renewed:
            if row_id in self._claimed:
                self._claimed[row_id] = until

    async def _next_due_in(self) -> float:
        async with self._context.sessions() as session:
            pending = await outbox.pending_due_times(session)
        PENDING.set(len(pending))
        if not pending:
            return IDLE_POLL_SECONDS
        wait = (pending[0] - self._clock()).total_seconds()
        return max(0.05, min(wait, IDLE_POLL_SECONDS))

    async def _deliver(self, row: Outbox) -> None:
        try:
            await self._attempt(row)
        finally:
            self._claimed.pop(row.id, None)

    async def _attempt(self, row: Outbox) -> None:
        deliverer = self._deliverers.get(row.audience)
        async with self._context.sessions() as session, session.begin():
            merged = await outbox.merge_card_edits(session, row, self._clock())
            ticket = await session.get(Ticket, row.ticket_id) if row.ticket_id else None
        if merged:
            MERGED.inc(merged)
        try:
            if deliverer is None:
                raise LookupError(f"no deliverer for {row.audience}")
            with priority(urgency(row)):
                message_id = await deliverer(row, ticket, self._context)
        except TelegramRetryAfter as error:
            RETRIED.labels("429").inc()
            await self._retry(row, timedelta(seconds=error.retry_after), f"429: {error.message}")
        except RetryLater as error:
            log.warning("outbox row %s (%s) will be retried: %s", row.id, row.kind, error)
            await self._transient(row, str(error))
        except (TelegramNetworkError, TelegramServerError, ClientDecodeError) as error:
            # ClientDecodeError: a proxy in front of the Bot API answered with a
            # page instead of JSON (a 502 from nginx); as transient as a 5xx.
            await self._transient(row, str(error))
        except (TelegramForbiddenError, TelegramBadRequest) as error:
            if row.audience == Audience.BACKOFFICE.value and backoffice_unreachable(error):
                await self._hold_for_backoffice(row, error)
            elif isinstance(error, TelegramForbiddenError):
                await self._fail(row, str(error), "forbidden")
                if row.audience == Audience.CUSTOMER.value and ticket is not None:
                    await self._context.desk.mark_customer_blocked(ticket.customer_id)
            else:
                log.error("outbox row %s (%s) failed: %s", row.id, row.kind, error)
                await self._fail(row, str(error), "rejected")
        except (TelegramAPIError, LookupError, ValueError) as error:
            log.error("outbox row %s (%s) failed: %s", row.id, row.kind, error)
            await self._fail(row, str(error), "rejected")
        except Exception as error:  # a bug in a deliverer: retried, then given up, never lost
            log.exception("outbox row %s (%s) crashed", row.id, row.kind)
            await self._transient(row, f"{type(error).__name__}: {error}")
        else:
            if row.audience == Audience.BACKOFFICE.value and self._context.backoffice is not None:
                self._context.backoffice(True, "")
            await self._done(row, message_id)

    async def _hold_for_backoffice(self, row: Outbox, error: TelegramAPIError) -> None:
        """The group is gone or the bot is out of it: keep the row until it is back."""
        problem = telegram_problem(error)
        if self._context.backoffice is not None:
            self._context.backoffice(False, problem)
        RETRIED.labels("backoffice_unreachable").inc()
        # Not counted against MAX_ATTEMPTS: the cards must go out once agents fix it.
        await self._retry(row, BACKOFFICE_RETRY, f"backoffice unreachable: {problem}")

    async def _transient(self, row: Outbox, error: str) -> None:
        RETRIED.labels("transient").inc()
        if row.attempts >= MAX_ATTEMPTS:
            await self._fail(row, f"gave up: {error}", "transient")
        else:
            await self._retry(row, backoff(row.attempts - 1), error)

    async def _done(self, row: Outbox, message_id: int | None) -> None:
        now = self._clock()
        await self._record(row, lambda s: outbox.mark_sent(s, row.id, now, message_id))
        SENT.labels(row.audience, row.kind).inc()

    async def _retry(self, row: Outbox, delay: timedelta, error: str) -> None:
        due = self._clock() + delay
        await self._record(row, lambda s: outbox.mark_retry(s, row.id, due, error))

    async def _fail(self, row: Outbox, error: str, reason: str) -> None:
        await self._record(row, lambda s: outbox.mark_failed(s, row.id, error))
        FAILED.labels(row.audience, reason).inc()

    async def _record(self, row: Outbox, write: Callable[[AsyncSession], Awaitable[None]]) -> None:
        """Write a delivery's outcome, waiting out a database outage: the message is
        already in Telegram, and an outcome not written would have it sent again after
        the lease (renewed meanwhile once the database is back). Only a stop in the
        middle of an outage can still double it."""

        async def once() -> None:
            async with self._context.sessions() as session, session.begin():
                await write(session)

        await until_written(once, f"outbox row {row.id}: its outcome")
