"""PostgreSQL and Redis servers of the chaos tests' own, which the tests stop and start.

The shared servers (``TEST_POSTGRES_URL``, ``TEST_REDIS_URL``) serve every other test
and other people's runs; stopping them would break those. These run on free ports of
127.0.0.1, in temporary folders, and are gone when the session ends.

Stopping and starting are coroutines: the emulator runs in the test's event loop, so a
test that blocked on a subprocess would stop Telegram too.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.e2e.conftest import free_port

READY_WITHIN = 30.0


def postgres_bindir() -> Path | None:
    """The newest installed PostgreSQL's programs (initdb is not on PATH on Debian)."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            found = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True
            ).stdout.strip()
            candidates.append(Path(found))
    # Debian keeps one folder per major version, newest last once sorted by number.
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    versions.sort(key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0)
    candidates.extend(Path(p) for p in reversed(versions))
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _as_postgres() -> list[str]:
    """PostgreSQL refuses to run as root; CI's root containers run it as "postgres"."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        raise RuntimeError("running as root needs runuser to start PostgreSQL as postgres")
    return [runuser, "-u", "postgres", "--"]


class PostgresServer:
    """A cluster made with initdb in a temporary folder, on its own port."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="ctv-chaos-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.stops = 0

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _command(self, program: str, *args: str) -> list[str]:
        return [*_as_postgres(), str(self.bindir / program), *args]

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        subprocess.run(
            self._command(
                "initdb",
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ),
            check=True,
            capture_output=True,
        )
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.root}'",
            "max_connections": "300",
            # The machine does not crash in these tests, only the server does: what
            # PostgreSQL wrote is in the OS's cache either way, so fsync buys nothing.
            # synchronous_commit stays on: an immediate stop must not lose a commit
            # the desk was told about (that would be the test's fault, not the desk's).
            "fsync": "off",
            "full_page_writes": "off",
            "logging_collector": "off",
        }
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    async def _pg_ctl(self, *args: str) -> None:
        process = await asyncio.create_subprocess_exec(
            *self._command("pg_ctl", "-D", str(self.data), *args),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"pg_ctl {' '.join(args)} failed: {output.decode(errors='replace')}")

    async def start(self) -> None:
        """Start (again) on the same port and data, and wait until it takes connections."""
        await self._pg_ctl("-l", str(self.log), "-w", "-t", str(int(READY_WITHIN)), "start")

    async def stop(self, mode: str = "fast") -> None:
        """``fast``: connections are cut, a checkpoint written; ``immediate``: a crash."""
        self.stops += 1
        await self._pg_ctl("-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    async def create_database(self, name: str) -> str:
        engine = create_async_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            await engine.dispose()
        return self.url(name)

    def remove(self) -> None:
        if self.running():
            subprocess.run(
                self._command("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"),
                check=False,
                capture_output=True,
            )
        shutil.rmtree(self.root, ignore_errors=True)


class RedisServer:
    """``redis-server`` as a child process on its own port.

    ``persistent``: an append-only file, as the compose file runs production's Redis
    (a restart keeps the drafts); otherwise nothing is written and a restart empties it.
    """

    def __init__(self, executable: str, *, persistent: bool = False) -> None:
        self.executable = executable
        self.persistent = persistent
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="ctv-chaos-redis-"))
        self.log = self.root / "server.log"
        self.process: asyncio.subprocess.Process | None = None
        self.stops = 0

    def url(self, database: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{database}"

    def _arguments(self) -> list[str]:
        arguments = [
            self.executable,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(self.root),
            "--logfile",
            str(self.log),
        ]
        if self.persistent:
            # As the compose file: fsync each second; a SIGTERM writes the rest before exiting.
            arguments += ["--appendonly", "yes", "--appendfsync", "everysec"]
        else:
            arguments += ["--appendonly", "no"]
        return arguments

    async def wait_ready(self, within: float = READY_WITHIN) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        client = aioredis.Redis.from_url(self.url())
        try:
            while True:
                try:
                    if await client.ping():
                        # A persistent server answers LOADING while it reads its file.
                        return
                except (OSError, aioredis.RedisError):
                    pass
                if self.process is not None and self.process.returncode is not None:
                    raise RuntimeError(f"redis-server exited with {self.process.returncode}")
                if loop.time() > deadline:
                    raise TimeoutError(f"redis-server not ready within {within}s")
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    async def start(self) -> None:
        """Start (again) on the same port; returns once it answers PING."""
        self.process = await asyncio.create_subprocess_exec(
            *self._arguments(), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        await self.wait_ready()

    async def stop(self, *, kill: bool = False) -> None:
        """SIGTERM (Redis's own shutdown) or SIGKILL; waits until the process is gone."""
        self.stops += 1
        process = self.process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        await process.wait()

    async def remove(self) -> None:
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        shutil.rmtree(self.root, ignore_errors=True)
