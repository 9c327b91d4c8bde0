"""``ctv-desk demo``: what it prepares, and that the desk itself knows nothing of it."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.demo import CUSTOMERS, GROUP_ID, MANAGER, DemoPaths, build_cast, populate, prepare_database
from desk.links import verify_organisation_link
from storage.db import create_engine, create_session_factory
from storage.models import Organisation
from tgemulator import World

ROOT = Path(__file__).resolve().parents[2]
DESK_PACKAGES = (
    "bot",
    "delivery",
    "handlers",
    "dialogs",
    "backoffice",
    "tgkit",
    "desk",
    "storage",
    "locales",
    "plugins",
)


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_only_the_demo_launcher_imports_the_emulator() -> None:
    importers = sorted(
        str(path.relative_to(ROOT))
        for package in DESK_PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if any(name.split(".")[0] == "tgemulator" for name in imports_of(path))
    )
    assert importers == ["bot/demo.py"]


def test_demo_help_needs_no_settings(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--help"])
    assert exit_.value.code == 0
    assert "--fresh" in capsys.readouterr().out


async def test_the_organisations_are_created_once_and_the_links_name_them(
    tmp_path: Path,
) -> None:
    paths = DemoPaths(tmp_path)
    await prepare_database(paths)
    await prepare_database(paths)  # a second run finds them
    engine = create_engine(paths.database_url)
    try:
        async with create_session_factory(engine)() as session:
            count = await session.scalar(select(func.count()).select_from(Organisation))
            names = set((await session.scalars(select(Organisation.external_id))).all())
    finally:
        await engine.dispose()
    assert count == len(CUSTOMERS) == 3
    assert names == {c.external_id for c in CUSTOMERS}
    cast = build_cast("secret")
    customers = [p for p in cast.personas if p.role == "customer"]
    for persona, customer in zip(customers, CUSTOMERS, strict=True):
        assert persona.start is not None
        link = verify_organisation_link("secret", persona.start, datetime.now(UTC))
        assert link.organisation_external_id == customer.external_id
    assert {p.language for p in customers} == {"ru", "en"}


def test_the_world_has_the_cast_with_fixed_ids() -> None:
    world = World()
    cast = build_cast("secret")
    populate(world, cast)
    group = world.chats[GROUP_ID]
    agents = [p.user_id for p in cast.personas if p.role == "agent"]
    assert len(agents) == 2 and all(group.members[a].present for a in agents)
    assert world.member(group, world.bot.id).is_admin
    assert world.chats[MANAGER.user_id].started
    assert {c.user_id for c in CUSTOMERS} <= set(world.users)
