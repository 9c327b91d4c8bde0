"""Loads the modules (plugins) an administrator added (R10); the API is ``tgkit.plugins``.

Candidates are the installed entry points of the group ``ctv_desk.plugins``
(by entry point name), then the modules named in ``PLUGINS`` (by module name;
one already loaded as an entry point is not loaded twice). Each is loaded and
set up on its own: a plugin that cannot be imported or whose ``setup`` raises
is reported in one line naming it, and the desk starts without it.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from aiogram import Dispatcher, Router

from bot.logs import Redactor
from desk.service import Desk
from tgkit.outbox import Deliverer
from tgkit.plugins import ENTRY_POINT_GROUP, PluginContext

log = logging.getLogger(__name__)

# A module whose (async) setup takes longer is reported like one that failed.
SETUP_SECONDS = 30.0


@dataclass
class Plugins:
    """What start-up loaded: names, the failures, and what to release at the stop."""

    loaded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    cleanups: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def close(self) -> None:
        for cleanup in reversed(self.cleanups):
            try:
                await cleanup()
            except Exception:  # one plugin's cleanup must not keep the others from theirs
                log.warning("a plugin's shutdown failed", exc_info=True)


def candidates(names: Sequence[str]) -> list[tuple[str, Callable[[], object]]]:
    """Entry points by name, then the modules named in ``PLUGINS`` in their order.

    Their routers go in front of the desk's in this order, so it must not depend on
    where each package was installed: ``entry_points`` lists them as the search path
    meets them (a module on ``PYTHONPATH`` came before the desk's own, seen as the
    plugins of /health in another order in tests/e2e/test_operations.py)."""
    found: list[tuple[str, Callable[[], object]]] = []
    modules: set[str] = set()
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda point: point.name):
        found.append((point.name, point.load))
        modules.add(point.module)
    for name in names:
        if name not in modules:
            found.append((name, lambda name=name: importlib.import_module(name)))  # type: ignore[misc]
    return found


async def load_plugins(
    names: Sequence[str],
    *,
    dispatcher: Dispatcher,
    modules: Router,
    desk: Desk,
    deliverers: dict[str, Deliverer],
    redactor: Redactor | None = None,
) -> Plugins:
    """Set up every plugin; wire in what each registered only once its setup returned."""
    plugins = Plugins()
    for name, load in candidates(names):
        context = PluginContext(name, dispatcher, Router(name=f"plugin:{name}"))
        try:
            async with asyncio.timeout(SETUP_SECONDS):
                await _setup(load(), context)
        except Exception as error:  # any failure of a module: reported, the desk goes on
            problem = " ".join(f"{type(error).__name__}: {error}".split())[:300]
            if redactor is not None:
                problem = redactor.clean(problem)
            plugins.failed[name] = problem
            log.error("plugin %s failed to start and is left out: %s", name, problem)
            log.debug("plugin %s traceback", name, exc_info=True)
            # What the plugin opened before it failed is still released.
            plugins.cleanups.extend(context.cleanups)
            continue
        if redactor is not None:
            redactor.add(*context.secrets)
        modules.include_router(context.router)
        desk.event_listeners.extend(context.listeners)
        for audience, (deliverer, kinds) in context.deliverers.items():
            deliverers[audience] = deliverer
            desk.event_audiences[audience] = kinds
        plugins.cleanups.extend(context.cleanups)
        plugins.loaded.append(name)
        log.info("plugin %s loaded", name)
    return plugins


async def _setup(target: object, context: PluginContext) -> None:
    setup: Any = getattr(target, "setup", target)
    if not callable(setup):
        raise TypeError("a plugin is a module with setup(context) or a callable")
    result = setup(context)
    if inspect.isawaitable(result):
        await result
