"""End-to-end: the real desk process (`python -m bot run`) against the Telegram emulator."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from locales import Texts
from tgemulator import Chat, People, RunningEmulator, StoredMessage, User, World
from tgemulator.pytest_plugin import emulator

__all__ = [
    "DeskProcess",
    "RoundRobinProxy",
    "backoffice_forum",
    "desk_process",
    "emulator",
    "intake_until_summary",
    "outbox_statuses",
    "quick_intake",
    "start_desk",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
DESK_COMMAND = (sys.executable, "-m", "bot", "run")
BACKOFFICE_CHAT_ID = -1001000000001
READY_TIMEOUT = 30.0
STOP_GRACE = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class DeskProcess:
    mode: str  # "polling" or "webhook"
    emulator: RunningEmulator
    process: asyncio.subprocess.Process
    http_url: str
    env: dict[str, str]
    backoffice: Chat
    agent: User
    stdout_path: Path
    stderr_path: Path

    @property
    def people(self) -> People:
        return self.emulator.people

    @property
    def world(self) -> World:
        return self.emulator.world

    def stderr_tail(self, lines: int = 80) -> str:
        try:
            text = self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "<no stderr captured>"
        return "\n".join(text.splitlines()[-lines:])


async def _wait_ready(desk: DeskProcess, within: float) -> None:
    """Healthy over HTTP, and connected to Telegram the way its mode says."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    world = desk.world
    healthy = False
    async with aiohttp.ClientSession() as http:
        while loop.time() < deadline:
            if desk.process.returncode is not None:
                raise RuntimeError(f"the desk exited early with code {desk.process.returncode}")
            if not healthy:
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(
                        f"{desk.http_url}/health", timeout=aiohttp.ClientTimeout(total=2)
                    ) as response:
                        healthy = response.status == 200
            if healthy:
                # Until the bot polls (or has set its webhook) an update may be dropped.
                if desk.mode == "webhook" and world.webhook is not None:
                    return
                if desk.mode == "polling" and world.poll_generation > 0:
                    return
            await asyncio.sleep(0.1)
    raise TimeoutError(
        f"the desk was not ready within {within}s (healthy={healthy}, "
        f"webhook={world.webhook}, polls={world.poll_generation})"
    )


async def start_desk(
    running: RunningEmulator,
    mode: str,
    workdir: Path,
    *,
    forum: bool = False,
    command: Sequence[str] = DESK_COMMAND,
    extra_env: dict[str, str] | None = None,
    ready_timeout: float = READY_TIMEOUT,
    name: str | None = None,
    http_port: int | None = None,
) -> DeskProcess:
    """Create the backoffice group in the emulator, then start the desk and wait for it."""
    people = running.people
    existing = running.world.chats.get(BACKOFFICE_CHAT_ID)
    if existing is not None:
        # A restart: the same group and its agent, as Telegram would keep them.
        backoffice = existing
        agent = next(u for u in running.world.users.values() if u.username == "agent_kate")
    else:
        agent = people.user("Kate", username="agent_kate", language_code="ru")
        backoffice = people.group(
            "CTV backoffice", owner=agent, chat_id=BACKOFFICE_CHAT_ID, forum=forum
        )
    http_port = http_port or free_port()
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "BOT_TOKEN": running.token,
        "TELEGRAM_API_URL": running.url,
        "BACKOFFICE_CHAT_ID": str(backoffice.id),
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'desk.sqlite3'}",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(http_port),
        "REDIS_URL": "",
        "WEBHOOK_URL": "",
        "WEBHOOK_SECRET": "",
    }
    if mode == "webhook":
        env["WEBHOOK_URL"] = f"http://127.0.0.1:{http_port}/webhook"
        env["WEBHOOK_SECRET"] = secrets.token_urlsafe(24)
    elif mode != "polling":
        raise ValueError(f"unknown mode {mode!r}")
    env.update(extra_env or {})
    # Replicas and restarts in one test keep their logs apart with their own `name`.
    label = name or mode
    stdout_path = workdir / f"desk-{label}.stdout"
    stderr_path = workdir / f"desk-{label}.stderr"
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        # The child keeps its own descriptors; ours can close right away.
        process = await asyncio.create_subprocess_exec(
            *command, cwd=REPO_ROOT, env=env, stdout=out, stderr=err
        )
    desk = DeskProcess(
        mode=mode,
        emulator=running,
        process=process,
        http_url=f"http://127.0.0.1:{http_port}",
        env=env,
        backoffice=backoffice,
        agent=agent,
        stdout_path=stdout_path,
        stderr_path=stderr_path,
    )
    try:
        await _wait_ready(desk, ready_timeout)
    except (RuntimeError, TimeoutError) as error:
        await stop_desk(desk)
        pytest.fail(f"{error}; desk stderr (tail):\n{desk.stderr_tail()}", pytrace=False)
    return desk


async def stop_desk(desk: DeskProcess) -> int:
    """SIGTERM, then SIGKILL after a grace period; returns the exit code."""
    process = desk.process
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_GRACE)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode


@pytest.fixture
def backoffice_forum() -> bool:
    """Override with @pytest.mark.parametrize("backoffice_forum", [True]) for a forum group."""
    return False


@pytest_asyncio.fixture(params=["polling", "webhook"])
async def desk_process(
    emulator: RunningEmulator,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    backoffice_forum: bool,
) -> AsyncIterator[DeskProcess]:
    """The real desk, started against the emulator in polling or webhook mode."""
    desk = await start_desk(emulator, request.param, tmp_path, forum=backoffice_forum)
    try:
        yield desk
    finally:
        await stop_desk(desk)
        # Shown with any failure of the test, including the emulator's violation check.
        request.node.add_report_section("teardown", "desk stderr", desk.stderr_tail())


# --- helpers for journeys at scale and under faults -------------------------------------

RU = Texts("ru")


def plain(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


def shows(*parts: str) -> Callable[[StoredMessage], bool]:
    """The message (its text or caption) shows every part; parts may be the locale's HTML."""
    wanted = [plain(part) for part in parts]
    return lambda m: all(p in (m.text or "") for p in wanted)


async def intake_until_summary(
    people: People, person: User, topic: str, *, wait: float = 20.0
) -> StoredMessage:
    """The fewest steps the intake allows, up to the summary: kind, topic, description,
    skip the screenshots, skip the details. Returns the summary with its Submit button."""
    await people.command(person, "new")
    window = await people.wait_for_message(person, shows(RU("intake.rule")), timeout=wait)
    await people.press(person, window, text=RU("intake.buttons.incident"))
    await people.wait_for_message(person, shows("Шаг 2 из 5"), timeout=wait)
    await people.send(person, topic)
    await people.wait_for_message(person, shows("Шаг 3 из 5"), timeout=wait)
    await people.send(person, f"Подробности: {topic}.")
    window = await people.wait_for_message(person, shows("Шаг 4 из 5"), timeout=wait)
    await people.press(person, window, text=RU("intake.buttons.skip"))
    window = await people.wait_for_message(person, shows("Шаг 5 из 5"), timeout=wait)
    await people.press(person, window, text=RU("intake.buttons.skip"))
    return await people.wait_for_message(person, shows(RU("intake.summary")), timeout=wait)


async def quick_intake(
    people: People, person: User, topic: str, *, wait: float = 20.0
) -> StoredMessage:
    """The shortest intake, submitted; returns the "registered" message (from the outbox)."""
    summary = await intake_until_summary(people, person, topic, wait=wait)
    await people.press(person, summary, text=RU("intake.buttons.submit"))
    return await people.wait_for_message(person, shows("зарегистрирована"), timeout=wait)


async def outbox_statuses(database_url: str) -> dict[str, int]:
    """How many outbox rows are pending, sent, failed (read from the desk's database)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT status, count(*) FROM outbox GROUP BY status")
            )
            return {str(status): int(count) for status, count in rows}
    finally:
        await engine.dispose()


class RoundRobinProxy:
    """One webhook URL in front of several desks, as a load balancer would be.

    Each update Telegram posts goes to the next desk in turn; the desk's answer
    (status and body, a webhook reply included) goes back to Telegram as it came.
    """

    def __init__(self, targets: Sequence[str], path: str = "/webhook") -> None:
        self.targets = list(targets)
        self.path = path
        self.forwarded: list[int] = [0] * len(self.targets)
        self.port = free_port()
        self._turn = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(self.path, self._forward)
        self._session = aiohttp.ClientSession()
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        index = self._turn % len(self.targets)
        self._turn += 1
        body = await request.read()
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in ("content-type", "x-telegram-bot-api-secret-token")
        }
        assert self._session is not None
        try:
            async with self._session.post(
                self.targets[index] + self.path, data=body, headers=headers
            ) as answer:
                payload = await answer.read()
                self.forwarded[index] += 1
                kind = answer.headers.get("Content-Type")
                # The full header: a multipart reply needs its boundary.
                return web.Response(
                    status=answer.status,
                    body=payload,
                    headers={"Content-Type": kind} if kind else None,
                )
        except (aiohttp.ClientError, OSError):
            return web.Response(status=502, text="upstream unreachable")
