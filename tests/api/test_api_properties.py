"""A property-based run of the API from its own OpenAPI document (schemathesis).

Schemathesis reads the document the desk serves, generates calls for every
operation (valid and invalid ones), makes them against the real app on a real
database, and checks each answer: never a 5xx, a status code, content type,
headers and body that the document declares. The app runs in a thread with
its own event loop, because schemathesis drives Hypothesis synchronously.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings

import api
from api.openapi import document
from desk.calendar import BusinessCalendar, SupportHours
from desk.model import Kind
from desk.service import Desk, DeskConfig, NewTicket
from storage.db import create_engine, create_session_factory
from storage.migrate import upgrade
from tests.api.conftest import KEY, LINK_SECRET

SPEC = document("test")
schema = schemathesis.openapi.from_dict(SPEC)


class Served:
    """The API on SQLite in a thread of its own, with one request to find."""

    def __init__(self, path: Path) -> None:
        self.url = ""
        self._path = path
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Served:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the API did not start")
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        url = f"sqlite+aiosqlite:///{self._path}"
        await upgrade(url)
        engine = create_engine(url)
        calendar = BusinessCalendar(SupportHours.parse("07:00-23:00", "Europe/Moscow"))
        desk = Desk(create_session_factory(engine), DeskConfig(calendar=calendar))
        actor = await desk.cabinet_customer(api_customer())
        await desk.create(actor, NewTicket(Kind.INCIDENT, "Тема", "Описание проблемы целиком"))

        async def username() -> str | None:
            return "ctv_test_bot"

        app = web.Application()
        # No rate limit to speak of: the run is about the calls, not about 429.
        config = api.ApiConfig(
            keys=frozenset({KEY}), link_secret=LINK_SECRET, rate_per_minute=1_000_000
        )
        api.setup(app, desk, config, username, version="test")
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()
        await engine.dispose()


def api_customer() -> Any:
    from desk.cabinet import CabinetCustomer

    return CabinetCustomer(external_id="cust-1", name="Анна")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with Served(tmp_path_factory.mktemp("api") / "desk.sqlite3") as running:
        yield running


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_matches_the_document(case: Any, served: Served) -> None:
    # Every check but "schema-valid data is accepted": the desk's rules (a
    # reused Idempotency-Key, the JSON inside a multipart part, a request's
    # status) refuse some calls the schema alone cannot tell from good ones,
    # and say so with a documented 4xx, which the other checks verify.
    case.call_and_validate(
        base_url=served.url,
        headers={"X-API-Key": KEY},
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )
