"""What every benchmark shares: the emulator (imported here and nowhere else), an observer
of what the bot shows, child processes, databases, and the report format.

The emulator's own waiting helpers re-scan every message of the world on every change,
which is fine for a test with a few chats and hopeless for thousands of customers waiting
at once; the observer below indexes the bot's answers per chat as the Bot API produces
them, so a waiting customer costs nothing until its own chat changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

# The one place that knows where the emulator lives; when it moves, change these lines.
import tgemulator
import tgemulator.hostile as hostile
from tgemulator import ApiError, EmulatorServer, People, StoredMessage, User, World
from tgemulator.botapi import BotApi

__all__ = [
    "DEFAULT_POSTGRES_URL",
    "DEFAULT_REDIS_URL",
    "REPO_ROOT",
    "Answer",
    "ChildProcess",
    "Observer",
    "People",
    "RunningEmulator",
    "StoredMessage",
    "User",
    "World",
    "assert_no_pytest",
    "count_error_lines",
    "free_port",
    "hostile",
    "load_line",
    "peak_rss_mb",
    "percentile",
    "postgres_database",
    "print_report",
    "progress",
    "redis_flushed",
    "start_child",
    "start_emulator",
    "webhook_env",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/8"
LOCALHOST = "127.0.0.1"


@dataclass(frozen=True)
class Answer:
    """One message the bot sent or edited, as the people's side sees it."""

    at: float  # time.monotonic() when the Bot API call took effect
    method: str
    chat_id: int
    message_id: int
    text: str
    buttons: tuple[str, ...]


Predicate = Callable[[Answer], bool]


@dataclass
class _Waiter:
    predicate: Predicate
    future: asyncio.Future[Answer]


@dataclass
class Observer:
    """Every answer and every 429 of the Bot API, indexed per chat as they happen."""

    answers: dict[int, list[Answer]] = field(default_factory=dict)
    too_many: list[tuple[float, str, int, int]] = field(default_factory=list)
    # Bot API calls answered, by method: how much Telegram work each side does.
    calls: Counter[str] = field(default_factory=Counter)
    _waiters: dict[int, list[_Waiter]] = field(default_factory=dict)

    def record(self, method: str, result: Any) -> None:
        if not isinstance(result, dict) or "chat" not in result or "message_id" not in result:
            return
        markup = result.get("reply_markup") or {}
        answer = Answer(
            at=time.monotonic(),
            method=method,
            chat_id=int(result["chat"]["id"]),
            message_id=int(result["message_id"]),
            text=str(result.get("text") or result.get("caption") or ""),
            buttons=tuple(b["text"] for row in markup.get("inline_keyboard", []) for b in row),
        )
        self.answers.setdefault(answer.chat_id, []).append(answer)
        waiters = self._waiters.get(answer.chat_id)
        if not waiters:
            return
        for waiter in list(waiters):
            if not waiter.future.done() and waiter.predicate(answer):
                waiter.future.set_result(answer)
                waiters.remove(waiter)

    def expect(self, chat_id: int, predicate: Predicate) -> asyncio.Future[Answer]:
        """A future for the next answer in the chat matching `predicate`.

        Register it before acting, so an answer faster than the caller is not missed.
        """
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(chat_id, []).append(_Waiter(predicate, future))
        return future

    def forget(self, chat_id: int) -> None:
        self._waiters.pop(chat_id, None)


class _ObservedBotApi(BotApi):
    def __init__(self, world: World, observer: Observer) -> None:
        super().__init__(world)
        self.observer = observer

    async def call(self, token: str, method_name: str, raw: Any, files: Any) -> Any:
        try:
            result = await super().call(token, method_name, raw, files)
        except ApiError as error:
            if error.code == 429:
                chat = raw.get("chat_id") if isinstance(raw, Mapping) else None
                self.observer.too_many.append(
                    (time.monotonic(), method_name, int(chat or 0), error.retry_after or 0)
                )
            raise
        self.observer.calls[method_name] += 1
        self.observer.record(method_name, result)
        return result


@dataclass
class RunningEmulator(tgemulator.RunningEmulator):
    """The emulator, with an observer of every answer its Bot API gives."""

    observer: Observer = field(default_factory=Observer)

    async def stop(self) -> None:
        await self.server.stop()


async def start_emulator(
    token: str = "123456:TEST-token", bot_username: str = "ctv_desk_test_bot"
) -> RunningEmulator:
    """An emulator on a free 127.0.0.1 port whose Bot API reports to an Observer."""
    world = World(token=token, bot_username=bot_username)
    server = EmulatorServer(world, host=LOCALHOST)
    observer = Observer()
    server.api = _ObservedBotApi(world, observer)
    await server.start()
    return RunningEmulator(server, observer=observer)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ChildProcess:
    """A process the benchmark started (the desk, the echo bot), with its output in files."""

    process: asyncio.subprocess.Process
    stderr_path: Path
    http_url: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def stderr_tail(self, lines: int = 30) -> str:
        try:
            text = self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "<no stderr>"
        return "\n".join(text.splitlines()[-lines:])

    async def stop(self, grace: float = 10.0) -> int:
        """SIGTERM, then SIGKILL after `grace` seconds; returns the exit code."""
        process = self.process
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        return process.returncode if process.returncode is not None else -1


async def start_child(
    command: Sequence[str],
    env: Mapping[str, str],
    workdir: Path,
    name: str,
    emulator: RunningEmulator,
    *,
    mode: str,
    http_port: int,
    health_path: str | None,
    ready_timeout: float = 60.0,
) -> ChildProcess:
    """Start a bot process and wait until it is connected to the emulator.

    Ready means: healthy over HTTP when it has a health page, and polling (or with its
    webhook set) in the emulator — until then an update could be dropped.
    """
    stderr_path = workdir / f"{name}.stderr"
    with (workdir / f"{name}.stdout").open("wb") as out, stderr_path.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            *command, cwd=REPO_ROOT, env=dict(env), stdout=out, stderr=err
        )
    child = ChildProcess(process, stderr_path, f"http://{LOCALHOST}:{http_port}")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ready_timeout
    healthy = health_path is None
    world = emulator.world
    async with aiohttp.ClientSession() as http:
        while loop.time() < deadline:
            if process.returncode is not None:
                raise RuntimeError(
                    f"{name} exited with code {process.returncode}:\n{child.stderr_tail()}"
                )
            if not healthy:
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(
                        f"{child.http_url}{health_path}", timeout=aiohttp.ClientTimeout(total=2)
                    ) as response:
                        healthy = response.status == 200
            if healthy and (
                (mode == "webhook" and world.webhook is not None)
                or (mode == "polling" and world.poll_generation > 0)
            ):
                return child
            await asyncio.sleep(0.1)
    await child.stop()
    raise TimeoutError(f"{name} was not ready within {ready_timeout}s:\n{child.stderr_tail()}")


def webhook_env(mode: str, http_port: int) -> dict[str, str]:
    if mode == "webhook":
        return {
            "WEBHOOK_URL": f"http://{LOCALHOST}:{http_port}/webhook",
            "WEBHOOK_SECRET": secrets.token_urlsafe(24),
        }
    if mode != "polling":
        raise ValueError(f"unknown mode {mode!r}")
    return {"WEBHOOK_URL": "", "WEBHOOK_SECRET": ""}


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU time the process (all its threads) has used, from /proc.

    Unlike answers per second, it barely moves with what else the shared machine
    runs: the figure to compare two versions of the desk by.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # Fields after the command name, which sits in parentheses and may hold spaces.
    fields = stat.rsplit(")", 1)[1].split()
    user, system = int(fields[11]), int(fields[12])
    return (user + system) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident set (VmHWM) in MiB; None where /proc has no answer.

    Read from /proc rather than psutil: psutil is not among the project's dependencies,
    and VmHWM is the kernel's own peak, which sampling could miss.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def count_error_lines(path: Path) -> int:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return 0
    return sum(1 for line in text.splitlines() if " ERROR " in line or "Traceback" in line)


@contextlib.asynccontextmanager
async def postgres_database(admin_url: str) -> Any:
    """A fresh database `bench_<random>` on the server of `admin_url`, dropped afterwards.

    Yields the SQLAlchemy URL (postgresql+asyncpg://…) of the new database.
    """
    import asyncpg  # type: ignore[import-untyped, unused-ignore]

    name = f"bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def redis_flushed(url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (share in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def load_line() -> str:
    """The machine's load averages and cores, for the report."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load unknown"
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def assert_no_pytest() -> None:
    """The benchmarks run outside the test tools; importing pytest would be a wrong turn."""
    if "pytest" in sys.modules:
        raise RuntimeError("a benchmark imported pytest (through a test helper?)")


def progress(text: str) -> None:
    """A line on stderr, so a long run shows where it is without touching the report."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def print_report(title: str, rows: Sequence[tuple[str, object]], result: Mapping[str, Any]) -> None:
    """A two-column table for people, then one JSON line for machines (always last)."""
    width = max(len(name) for name, _ in rows)
    print(title)
    print("-" * len(title))
    for name, value in rows:
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        print(f"{name:<{width}}  {shown}")
    print(json.dumps(dict(result), ensure_ascii=False), flush=True)
