"""The command line as an operator meets it: clear settings errors, version, migrations."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.version import __version__

REPO = Path(__file__).resolve().parents[2]


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    clean["PYTHONPATH"] = str(REPO)
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_missing_token_is_one_clear_line(tmp_path: Path) -> None:
    result = run(["run"], tmp_path, BACKOFFICE_CHAT_ID="-100123")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["ctv-desk: cannot start: BOT_TOKEN is missing"]
    assert "Traceback" not in result.stderr


def test_malformed_settings_are_named(tmp_path: Path) -> None:
    result = run(
        ["run"],
        tmp_path,
        BOT_TOKEN="not-a-token",
        BACKOFFICE_CHAT_ID="group",
        SUPPORT_HOURS="23:00-07:00",
    )
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "BOT_TOKEN" in line and "BACKOFFICE_CHAT_ID" in line


def test_settings_from_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BOT_TOKEN=123:abc\nSUPPORT_HOURS=25:00-26:00\n")
    result = run(["run"], tmp_path, BACKOFFICE_CHAT_ID="-100123")
    assert result.returncode == 2
    assert "SUPPORT_HOURS" in result.stderr or "25:00" in result.stderr
    assert "BOT_TOKEN" not in result.stderr  # it was read from .env


def test_version_is_x_y_or_x_y_z(tmp_path: Path) -> None:
    result = run(["--version"], tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"ctv-desk {__version__}"
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?", __version__)


def test_migrate_twice(database_url: str, tmp_path: Path) -> None:
    for _ in range(2):
        result = run(["migrate"], tmp_path, DATABASE_URL=database_url)
        assert result.returncode == 0, result.stderr
        assert "database is up to date" in result.stderr


def test_migrate_an_empty_postgres_database_twice(empty_postgres_url: str, tmp_path: Path) -> None:
    for _ in range(2):
        result = run(["migrate"], tmp_path, DATABASE_URL=empty_postgres_url)
        assert result.returncode == 0, result.stderr
    assert "Running upgrade 0001 -> 0002" not in result.stderr  # the second run changed nothing


def test_migrate_creates_the_default_sqlite_file(tmp_path: Path) -> None:
    result = run(["migrate"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "desk.sqlite3").stat().st_size > 0


@pytest.mark.parametrize("url", ["mysql://x", "sqlite:///plain.db"])
def test_unsupported_database_url(tmp_path: Path, url: str) -> None:
    result = run(["migrate"], tmp_path, DATABASE_URL=url)
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr


def test_webhook_mode_needs_its_secret(tmp_path: Path) -> None:
    result = run(
        ["run"],
        tmp_path,
        BOT_TOKEN="123:abc",
        BACKOFFICE_CHAT_ID="-100123",
        WEBHOOK_URL="https://desk.example.com/webhook",
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "ctv-desk: cannot start: WEBHOOK_SECRET is required with WEBHOOK_URL"
    ]


def test_the_desk_runs_on_uvloop_where_it_is_installed() -> None:
    import uvloop  # a dependency of the desk on Linux, where it runs

    from bot.cli import event_loop_factory

    factory = event_loop_factory()
    assert factory is uvloop.new_event_loop
    loop = factory()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()
