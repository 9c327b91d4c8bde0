"""Desk errors become a polite message in the user's language; anything else is logged."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Router
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent, TelegramObject

from desk.errors import AlreadyTaken, DeskError
from locales import Texts, pick_locale
from tgkit.faults import describe, transient

log = logging.getLogger(__name__)


def message_for(error: DeskError, texts: Texts) -> str:
    if isinstance(error, AlreadyTaken):
        return texts("errors.already_taken", assignee=error.assignee_name)
    try:
        return texts(f"errors.{error.code}")
    except KeyError:
        return texts("errors.generic")


async def _tell(event: ErrorEvent, text: str) -> None:
    update = event.update
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.message is not None:
        await update.message.answer(text)


def _texts(event: ErrorEvent, texts: Texts | None) -> Texts:
    """The person's language even when the update failed before it was looked up
    (Redis or the database away while its middlewares ran)."""
    if texts is not None:
        return texts
    update = event.update
    source = update.callback_query or update.message
    person = source.from_user if source is not None else None
    return Texts(pick_locale(person.language_code if person is not None else None))


async def desk_error(event: ErrorEvent, texts: Texts | None = None) -> None:
    assert isinstance(event.exception, DeskError)
    await _tell(event, message_for(event.exception, _texts(event, texts)))


async def unexpected(event: ErrorEvent, texts: Texts | None = None) -> None:
    if transient(event.exception):
        # An outage of the database or Redis: one line each, the person asked to retry.
        log.warning("update %s failed: %s", event.update.update_id, describe(event.exception))
    else:
        log.exception("update %s failed", event.update.update_id, exc_info=event.exception)
    await _tell(event, _texts(event, texts)("errors.generic"))


class LastResort(BaseMiddleware):
    """Outermost on the error event: when answering an error fails in its turn, the
    person still gets the apology.

    aiogram-dialog's error middleware reloads the dialog from the storage that may
    just have failed (Redis away), and then fails with a ``KeyError`` of its own that
    hides the first error; the desk's error handlers would never run.
    """

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        try:
            return await handler(event, data)
        except Exception as failure:
            assert isinstance(event, ErrorEvent)
            log.warning(
                "update %s: its error could not be answered the usual way (%s)",
                event.update.update_id,
                describe(failure),
            )
            texts = data.get("texts")
            await unexpected(event, texts if isinstance(texts, Texts) else None)
            return None


def router() -> Router:
    """A fresh router: each Dispatcher (one per process, several in tests) gets its own."""
    router = Router(name=__name__)
    router.errors.register(desk_error, ExceptionTypeFilter(DeskError))
    router.errors.register(unexpected)
    return router
