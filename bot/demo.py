"""``ctv-desk demo``: the whole desk on this machine, without Telegram, in a browser page.

It starts the project's Bot API emulator with the playground page on it
(``tgemulator.playground``), then the real desk process (``python -m bot run``) against
that emulator, exactly as the end-to-end tests do. The desk is configured only through
its ordinary settings and talks only to the emulator's Bot API: nothing in it knows it
is a demo. The one setting that exists for the demo is ``CLOCK_OFFSET_FILE``
(``bot/clock.py``), the way the page's clock control moves the desk's time.

Decisions the issue left open:

* The desk's database (``data/demo.sqlite3``) is kept between runs, the emulated
  Telegram is not: each run starts with empty chats, as if the people had cleared
  their history, while the desk remembers its requests. The people and the group
  keep their ids, so the desk recognises them. ``--fresh`` starts over (database,
  clock offset and link secret).
* The three customers belong to organisations with different tariffs. They come to
  the bot through signed cabinet links (``/start o_...``, ``desk/links.py``): the
  launcher plays the cabinet, creating the organisations in the database before the
  desk starts and signing the links with a ``LINK_SECRET`` kept in ``data/``.
* The forum switch restarts the desk: the desk notices a group turned into a forum
  only at its start or after its cache expires (minutes), and a visitor should not
  wait. Requests filed before the switch keep their cards where they were.
* Settings from a ``.env`` file are ignored (the desk runs in ``data/``), so a real
  bot token can never reach the demo, and the demo can never reach Telegram.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from desk.links import sign_organisation_link
from storage import repository as repo
from storage.db import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.models import Organisation
from tgemulator import EmulatorServer, World
from tgemulator.playground import Cast, ClockControl, Persona, Playground

log = logging.getLogger(__name__)

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
GROUP_ID = -1001000000001
TIMEZONE = "Europe/Moscow"
READY_SECONDS = 60.0
STOP_GRACE = 10.0


@dataclass(frozen=True)
class DemoCustomer:
    user_id: int
    name: str
    language: str
    organisation: str
    external_id: str
    tariff: str
    tariff_name: str


CUSTOMERS = (
    DemoCustomer(700000101, "Анна", "ru", "ООО «Ромашка»", "romashka", "premium", "Премиум"),
    DemoCustomer(700000102, "John", "en", "Acme Ltd", "acme", "standard", "Standard"),
    DemoCustomer(700000103, "Ольга", "ru", "ИП Васильева", "vasilieva", "basic", "Базовый"),
)
AGENTS = (
    Persona(700000201, "Катя", "agent", "ru", "agent, owner of the group"),
    Persona(700000202, "Mike", "agent", "en", "agent"),
)
MANAGER = Persona(700000301, "Марина", "manager", "ru", "manager: /digest, /digest week")


@dataclass(frozen=True)
class DemoPaths:
    data: Path

    @property
    def database(self) -> Path:
        return self.data / "demo.sqlite3"

    @property
    def clock(self) -> Path:
        return self.data / "demo.clock"

    @property
    def secret(self) -> Path:
        return self.data / "demo.secret"

    @property
    def log(self) -> Path:
        return self.data / "demo-desk.log"

    @property
    def database_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.database}"

    def forget(self) -> None:
        for path in (self.database, self.clock, self.secret):
            path.unlink(missing_ok=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def link_secret(paths: DemoPaths) -> str:
    if paths.secret.exists():
        return paths.secret.read_text(encoding="utf-8").strip()
    value = secrets.token_urlsafe(24)
    paths.secret.write_text(value, encoding="utf-8")
    return value


async def prepare_database(paths: DemoPaths) -> None:
    """Migrate, and create the demo organisations as the cabinet would (once)."""
    await upgrade(paths.database_url)
    engine = create_engine(paths.database_url)
    try:
        sessions = create_session_factory(engine)
        async with sessions() as session, session.begin():
            for customer in CUSTOMERS:
                if await repo.organisation_by_external_id(session, customer.external_id):
                    continue
                tariff = await repo.tariff_by_code(session, customer.tariff)
                if tariff is None:
                    raise RuntimeError(f"tariff {customer.tariff} is missing from the database")
                session.add(
                    Organisation(
                        name=customer.organisation,
                        external_id=customer.external_id,
                        tariff_id=tariff.id,
                    )
                )
    finally:
        await engine.dispose()


def build_cast(secret: str) -> Cast:
    expires = datetime.now(UTC) + timedelta(days=3650)
    customers = tuple(
        Persona(
            c.user_id,
            c.name,
            "customer",
            c.language,
            f"{c.organisation} · tariff {c.tariff_name}",
            start=sign_organisation_link(secret, c.external_id, expires),
        )
        for c in CUSTOMERS
    )
    return Cast((*customers, *AGENTS, MANAGER), GROUP_ID, "CTV backoffice")


def populate(world: World, cast: Cast, *, forum: bool = False) -> None:
    """The people and the agents' group, with the ids the desk's database knows."""
    for persona in cast.personas:
        world.new_user(persona.name, language_code=persona.language, user_id=persona.user_id)
    owner, *others = [world.users[p.user_id] for p in cast.personas if p.role == "agent"]
    group = world.new_group(cast.group_title, owner=owner, chat_id=cast.group_id, forum=forum)
    for agent in others:
        world.set_member(group, agent, "member")
    # The manager has talked to the bot before (a bot cannot write first), so digests
    # reach them from the start; customers press Start themselves, with their link.
    for persona in cast.personas:
        if persona.role == "manager":
            world.private_chat(world.users[persona.user_id]).started = True


class Demo:
    """The emulator with the page, and the desk process it serves."""

    def __init__(self, paths: DemoPaths, host: str, port: int) -> None:
        self.paths = paths
        self.world = World()
        self.cast = build_cast(link_secret(paths))
        populate(self.world, self.cast)
        self.clock = ClockControl(paths.clock, TIMEZONE)
        self.playground = Playground(
            self.world, self.cast, clock=self.clock, forum_switch=self.switch_forum
        )
        self.server = EmulatorServer(
            self.world, host=host, port=port, extensions=[self.playground.install]
        )
        self.desk: asyncio.subprocess.Process | None = None
        self.desk_port = free_port()
        self._switching = asyncio.Lock()

    @property
    def url(self) -> str:
        return f"{self.server.url}/"

    def desk_env(self) -> dict[str, str]:
        manager = MANAGER.user_id
        paths_env = os.environ.get("PYTHONPATH")
        return {
            **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ")},
            "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT), paths_env])),
            "PYTHONUNBUFFERED": "1",
            "BOT_TOKEN": self.world.token,
            "TELEGRAM_API_URL": self.server.url,
            "BACKOFFICE_CHAT_ID": str(self.cast.group_id),
            "MANAGER_IDS": str(manager),
            "DATABASE_URL": self.paths.database_url,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(self.desk_port),
            "LINK_SECRET": link_secret(self.paths),
            "TIMEZONE": TIMEZONE,
            "CLOCK_OFFSET_FILE": str(self.paths.clock),
            # Moving the clock shows its effects within seconds, not a minute.
            "SCHEDULER_INTERVAL": "2",
            "STARTUP_RETRY_SECONDS": "10",
        }

    async def start(self) -> None:
        await prepare_database(self.paths)
        await self.server.start()
        await self.start_desk()

    async def start_desk(self) -> None:
        generation = self.world.poll_generation
        with self.paths.log.open("ab") as out:
            self.desk = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                cwd=self.paths.data,
                env=self.desk_env(),
                stdout=out,
                stderr=out,
                # Ctrl+C reaches the launcher only; it stops the desk itself, in order.
                start_new_session=True,
            )
        await self._wait_ready(generation)

    async def _wait_ready(self, generation: int) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_SECONDS
        healthy = False
        async with aiohttp.ClientSession() as http:
            while loop.time() < deadline:
                assert self.desk is not None
                if self.desk.returncode is not None:
                    raise RuntimeError(
                        f"the desk exited with code {self.desk.returncode}; see {self.paths.log}"
                    )
                if not healthy:
                    with contextlib.suppress(aiohttp.ClientError, OSError):
                        async with http.get(
                            f"http://127.0.0.1:{self.desk_port}/health",
                            timeout=aiohttp.ClientTimeout(total=2),
                        ) as response:
                            healthy = response.status == 200
                if healthy and self.world.poll_generation > generation:
                    return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"the desk did not start within {READY_SECONDS:.0f} s")

    async def stop_desk(self) -> None:
        process, self.desk = self.desk, None
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_GRACE)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    async def switch_forum(self, forum: bool) -> None:
        async with self._switching:
            group = self.world.chats[self.cast.group_id]
            if group.is_forum == forum:
                return
            await self.stop_desk()
            group.is_forum = forum
            group.type = "supergroup"
            await self.start_desk()

    async def stop(self) -> None:
        await self.stop_desk()
        await self.server.stop()

    async def desk_exited(self) -> int:
        """Wait until the desk process ends by itself (a restart is not an end)."""
        while True:
            process = self.desk
            if process is not None:
                code = await process.wait()
                if self.desk is process:
                    return code
            await asyncio.sleep(0.2)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="ctv-desk demo", description="try the desk in a browser, without Telegram"
    )
    parser.add_argument("--fresh", action="store_true", help="forget the demo's requests")
    parser.add_argument("--host", default="127.0.0.1", choices=("127.0.0.1", "localhost"))
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--data", default="data", help="where demo.sqlite3 lives")
    return parser.parse_args(argv)


async def run(paths: DemoPaths, host: str, port: int) -> int:
    demo = Demo(paths, host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        try:
            await demo.start()
        except (RuntimeError, OSError) as error:
            print(f"ctv-desk demo: cannot start: {error}", file=sys.stderr)
            return 1
        print(f"Playground: {demo.url} (Ctrl+C stops it)", flush=True)
        exited = asyncio.create_task(demo.desk_exited())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
        for task in (exited, stopping):
            task.cancel()
        if exited.done() and not exited.cancelled():
            print(f"ctv-desk demo: the desk stopped; see {paths.log}", file=sys.stderr)
            return 1
        return 0
    finally:
        await demo.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    paths = DemoPaths(Path(args.data).resolve())
    paths.data.mkdir(parents=True, exist_ok=True)
    if args.fresh:
        paths.forget()
    return asyncio.run(run(paths, args.host, args.port))
