"""Start-up as an operator meets it: one line naming the cause and the setting, no traceback."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import aiohttp

from tgemulator import RunningEmulator

from .conftest import REPO_ROOT, free_port, start_desk, stop_desk


async def run_desk(env: dict[str, str], workdir: Path) -> tuple[int, str]:
    full = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'desk.sqlite3'}",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(free_port()),
        "REDIS_URL": "",
        "WEBHOOK_URL": "",
        "BACKOFFICE_CHAT_ID": "-1001000000001",
        **env,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=REPO_ROOT,
        env=full,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        _, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, err.decode()


async def test_unreachable_telegram_retries_then_exits_1(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    code, stderr = await run_desk(
        {
            "BOT_TOKEN": "123456:unreachable",
            "TELEGRAM_API_URL": closed,
            "STARTUP_RETRY_SECONDS": "3",
        },
        tmp_path,
    )
    assert code == 1
    lines = stderr.strip().splitlines()
    assert lines[-1].startswith(f"ctv-desk: cannot start: Telegram cannot be reached at {closed}")
    assert "TELEGRAM_API_URL" in lines[-1]
    attempts = [line for line in lines if "retrying in" in line]
    assert len(attempts) >= 2, stderr  # each attempt is one line
    assert "Traceback" not in stderr


async def test_rejected_token_exits_2(emulator: RunningEmulator, tmp_path: Path) -> None:
    code, stderr = await run_desk(
        {"BOT_TOKEN": "123456:not-the-token", "TELEGRAM_API_URL": emulator.url}, tmp_path
    )
    # The wrong token is the point of this test: that is the one violation.
    assert {v.description for v in emulator.take_violations()} == {"Unauthorized"}
    assert code == 2
    assert stderr.strip().splitlines()[-1] == (
        "ctv-desk: cannot start: BOT_TOKEN was rejected by Telegram (401 Unauthorized); "
        "check BOT_TOKEN (the token @BotFather gave)"
    )
    assert "Traceback" not in stderr


async def test_unknown_backoffice_is_reported_and_customers_are_served(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    missing = -1009999999999
    desk = await start_desk(
        emulator, "polling", tmp_path, extra_env={"BACKOFFICE_CHAT_ID": str(missing)}
    )
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{desk.http_url}/health") as response,
        ):
            health = await response.json()
        assert response.status == 200
        assert health["backoffice"] == "unreachable"
        assert "chat not found" in health["backoffice_problem"]

        people = desk.people
        ann = people.user("Ann", language_code="ru")
        await people.command(ann, "start")
        answer = await people.wait_for_message(ann, lambda m: bool(m.buttons), timeout=15)
        assert answer.text
    finally:
        await stop_desk(desk)
    stderr = desk.stderr_path.read_text()
    [line] = [s for s in stderr.splitlines() if f"backoffice chat {missing} is unreachable" in s]
    assert "chat not found" in line and "add the bot to the group" in line
    assert "Traceback" not in stderr


async def test_the_ready_desk_has_frozen_what_its_start_left_alive(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    desk = await start_desk(emulator, "polling", tmp_path)
    await stop_desk(desk)
    [line] = [s for s in desk.stderr_path.read_text().splitlines() if "heap settled" in s]
    frozen = int(line.split("heap settled: ")[1].split()[0])
    # Modules, models, schemas: far more than a handful (bot/heap.py).
    assert frozen > 100_000, line
