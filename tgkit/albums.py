"""Albums arrive as one update per item; hand them to a handler as one list.

The first message of a media group starts a short timer and returns at once;
the others join it. When the timer ends, the handler is called once with
``album`` (all messages, in order). Nothing waits inside update handling:
with event isolation (aiogram-dialog locks each user's updates) a waiting
first item would hold back the rest of its own album.

The grouping is in-process: behind several webhook replicas the parts of one
album may land on different replicas and are then handled as separate
messages (nothing is lost, they are only not grouped).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Dispatcher
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import ErrorEvent, Message, TelegramObject, Update

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class AlbumMiddleware(BaseMiddleware):
    def __init__(self, delay: float = 0.6) -> None:
        self._delay = delay
        self._albums: dict[tuple[int, str], list[Message]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Message) or event.media_group_id is None:
            return await handler(event, data)
        key = (event.chat.id, event.media_group_id)
        if key in self._albums:
            self._albums[key].append(event)
            return None
        self._albums[key] = [event]
        task = asyncio.create_task(self._flush(key, handler, data))
        self._tasks.add(task)  # keep a reference until it is done
        task.add_done_callback(self._tasks.discard)
        return None

    async def _flush(self, key: tuple[int, str], handler: Handler, data: dict[str, Any]) -> None:
        await asyncio.sleep(self._delay)
        album = sorted(self._albums.pop(key), key=lambda m: m.message_id)
        try:
            await handler(album[0], {**data, "album": album})
        except Exception as error:
            # Outside the update's handling now: ask the dispatcher's error
            # handlers, as aiogram does for any other update.
            if not await self._report(error, data):
                log.exception("album %s could not be handled", key[1])

    async def _report(self, error: Exception, data: dict[str, Any]) -> bool:
        """Whether an error handler of the dispatcher took the album's error."""
        dispatcher: Dispatcher | None = data.get("dispatcher")
        update: Update | None = data.get("event_update")
        if dispatcher is None or update is None:
            return False
        try:
            event = ErrorEvent(update=update, exception=error)
            handled = await dispatcher.propagate_event(update_type="error", event=event, **data)
        except Exception:
            log.exception("the error handler failed on an album")
            return True  # logged, with the error handler's own cause
        return handled is not UNHANDLED
