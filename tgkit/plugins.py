"""What a module (plugin) added by an administrator receives (R10, R11).

A plugin is a Python module (or a callable) named by an entry point of the
group ``ctv_desk.plugins`` or listed in the ``PLUGINS`` setting. The desk
calls its ``setup(context)`` (sync or async) once at start with a
:class:`PluginContext`:

- ``context.router``: an aiogram router for the plugin's handlers; it is put in
  front of the desk's own routers, so its filters must be narrow (a command of
  its own, not every message). ``context.dispatcher`` is the Dispatcher itself.
- ``context.subscribe(listener)``: the stream of request events
  (``desk.events.RequestEvent``: created, status_changed, message, closed),
  after each commit, best effort.
- ``context.deliver(audience, deliverer, kinds)``: the same events (those of
  ``kinds``), durably: one outbox row per event for ``audience``, written with
  the change and delivered by the outbox sender with its retries and backoff
  (raise ``tgkit.outbox.RetryLater`` for a passing failure).
- ``context.keep_secret(value)``: never write ``value`` to a log.
- ``context.on_shutdown(callback)``: release what the plugin holds when the desk stops.

Nothing a plugin registers takes effect unless its ``setup`` returns: a plugin
that raises is reported with its name and left out, and the desk goes on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from aiogram import Dispatcher, Router

from desk.events import EventKind, RequestEvent
from desk.model import Audience
from tgkit.outbox import Deliverer

ENTRY_POINT_GROUP = "ctv_desk.plugins"

EventListener = Callable[[RequestEvent], Awaitable[None]]


@dataclass
class PluginContext:
    name: str
    dispatcher: Dispatcher
    router: Router
    listeners: list[EventListener] = field(default_factory=list)
    deliverers: dict[str, tuple[Deliverer, frozenset[EventKind]]] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    cleanups: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def subscribe(self, listener: EventListener) -> None:
        self.listeners.append(listener)

    def deliver(
        self,
        audience: str,
        deliverer: Deliverer,
        kinds: Iterable[EventKind] = tuple(EventKind),
    ) -> None:
        if audience in tuple(Audience):
            raise ValueError(f"audience {audience!r} belongs to the desk")
        self.deliverers[audience] = (deliverer, frozenset(kinds))

    def keep_secret(self, value: str) -> None:
        if value:
            self.secrets.append(value)

    def on_shutdown(self, callback: Callable[[], Awaitable[None]]) -> None:
        self.cleanups.append(callback)
