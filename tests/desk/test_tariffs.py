"""Tariffs as data (issue 12 §2): the administrator's TOML file, checked line by line, applied."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from desk.cabinet import CabinetCustomer, CabinetOrganisation
from desk.calendar import BusinessCalendar
from desk.model import Kind
from desk.service import Desk, DeskConfig, NewTicket
from desk.tariffs import TariffsFileError, parse_tariffs, read_tariffs
from storage import repository as repo
from storage.db import create_engine, create_session_factory
from storage.migrate import upgrade
from tests.bot.test_cli import REPO, run
from tests.conftest import Clock

EXAMPLE = REPO / "docs" / "tariffs.example.toml"

GOOD = """\
[tariffs.gold]
name = "Золото"
default = true
targets.P1 = { first_response = 10, resolution = 120 }
targets.P2 = { first_response = 20, resolution = 240 }
targets.P3 = { first_response = 30, resolution = 480 }
targets.P4 = { first_response = 40, resolution = 960 }
"""


def test_the_shipped_example_is_valid() -> None:
    specs = read_tariffs(EXAMPLE)
    assert [s.code for s in specs] == ["basic", "standard", "premium", "economy"]
    assert [s.code for s in specs if s.default] == ["basic"]
    assert specs[2].targets[1] == (15, 240)
    assert specs[3].business_days_only


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (GOOD.replace('name = "Золото"', 'name = "Золото'), 2, "Illegal character"),
        (GOOD.replace("resolution = 240 }", 'resolution = "4h" }'), 5, "valid integer"),
        (GOOD.replace("targets.P4 = { first_response = 40, resolution = 960 }\n", ""), 4, "P4"),
        (GOOD.replace("resolution = 480 }", "resolution = 5 }"), 6, "before the first response"),
        (GOOD.replace("default = true", "default = true\ncolour = 1"), 4, "colour"),
        (GOOD.replace("default = true", "default = false"), 1, "default = true"),
        (GOOD.replace("[tariffs.gold]", '[tariffs."Gold!"]'), 1, "a code is"),
        (GOOD.replace("first_response = 10", "first_response = 0"), 4, "greater than"),
        (GOOD.replace("targets.P2", "targets.P5"), 5, "P5"),
    ],
)
def test_a_bad_file_names_its_line_and_problem(text: str, line: int, words: str) -> None:
    with pytest.raises(TariffsFileError) as caught:
        parse_tariffs(text, "TARIFFS_FILE t.toml")
    message = str(caught.value)
    assert message.startswith(f"TARIFFS_FILE t.toml, line {line}: "), message
    assert words in message and "\n" not in message


def test_a_bad_file_stops_start_up_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "tariffs.toml"
    bad.write_text(GOOD.replace("resolution = 240 }", 'resolution = "4h" }'), encoding="utf-8")
    result = run(
        ["run"],
        tmp_path,
        BOT_TOKEN="123:abc",
        BACKOFFICE_CHAT_ID="-100123",
        TARIFFS_FILE=str(bad),
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'desk.sqlite3'}",
        TELEGRAM_API_URL="http://127.0.0.1:9",
        STARTUP_RETRY_SECONDS="0",
    )
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"ctv-desk: cannot start: TARIFFS_FILE {bad}, line 5: ")
    assert "resolution" in line
    # It stopped before anything: not even the database was made.
    assert not (tmp_path / "desk.sqlite3").exists()
    missing = run(["run"], tmp_path, BOT_TOKEN="123:abc", BACKOFFICE_CHAT_ID="-1", TARIFFS_FILE="x")
    assert missing.returncode == 2 and "TARIFFS_FILE x: cannot be read" in missing.stderr


@pytest.fixture(params=["sqlite", "postgresql"])
async def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database of its own: tariffs are not reset between the other tests."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'tariffs.sqlite3'}"
    else:
        url = request.getfixturevalue("empty_postgres_url")
    await upgrade(url)
    yield url


async def test_the_file_is_applied_and_organisations_follow_it(
    fresh_url: str, clock: Clock, calendar: BusinessCalendar
) -> None:
    engine = create_engine(fresh_url)
    sessions = create_session_factory(engine)
    desk = Desk(sessions, DeskConfig(calendar=calendar), clock=clock)
    try:
        await desk.apply_tariffs(parse_tariffs(GOOD))
        async with sessions() as session:
            tariffs = {t.code: t for t in await repo.tariffs(session)}
            # The seeded tariffs stay (requests refer to them) but gold is the default now.
            assert set(tariffs) == {"basic", "standard", "premium", "gold"}
            assert [c for c, t in tariffs.items() if t.is_default] == ["gold"]
            assert [(t.priority, t.first_response_minutes) for t in tariffs["gold"].targets] == [
                (1, 10),
                (2, 20),
                (3, 30),
                (4, 40),
            ]
        alone = await desk.cabinet_customer(CabinetCustomer("c-1", "Анна"))
        ticket = await desk.create(alone, NewTicket(Kind.PROBLEM, "Тема", "Описание целиком"))
        assert ticket.tariff.code == "gold"
        assert ticket.first_response_due_at == clock.now + timedelta(minutes=10)
        # Applied again with the example: gold keeps its rows, basic is the default again.
        await desk.apply_tariffs(read_tariffs(EXAMPLE))
        await desk.put_organisation("org-1", "ООО Ромашка", "economy")
        member = await desk.cabinet_customer(
            CabinetCustomer("c-2", "Иван", organisation=CabinetOrganisation("org-1", "Ромашка"))
        )
        other = await desk.create(member, NewTicket(Kind.PROBLEM, "Тема", "Описание целиком"))
        assert other.tariff.code == "economy" and other.tariff.business_days_only
        assert (await desk.ticket(alone, ticket.number)).tariff.code == "gold"
    finally:
        await engine.dispose()
