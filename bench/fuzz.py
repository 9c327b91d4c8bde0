"""Ten thousand generated hostile updates against the real desk process, on the emulator.

    python -m bench.fuzz [--updates 10000] [--batch 50] [--seed 0]

The acts are drawn by Hypothesis (``tgemulator.hostile``: texts full of HTML, 4,096
characters, zero-width and right-to-left characters, digits of other scripts;
commands with odd arguments; stickers, locations, dice…; edits; presses of real
buttons and of forged data) for four people: the customer who owns request
CTV-1001, another customer, an agent and a stranger in the agents' group. They are
played in batches; after each batch the benchmark waits until the desk is quiet.

Checked at the end, each a key of the JSON line:
- ``errors``: lines with ERROR or a traceback in the desk's log (an unhandled
  exception, or a message Telegram refused);
- ``violations``: Bot API calls the emulator found invalid against the schema;
- ``unanswered_presses``: button presses the desk never answered;
- ``foreign_changes``: history events of CTV-1001 by anyone but its customer or staff.
All four must be 0. ``updates_per_s`` is how fast the desk took them (for information).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bench.common import (
    ChildProcess,
    RunningEmulator,
    User,
    assert_no_pytest,
    count_error_lines,
    free_port,
    load_line,
    print_report,
    progress,
    start_child,
    start_emulator,
)
from bench.common import hostile as fuzz
from locales import Texts

TOKEN = "100003:BENCH-fuzz-token"
BACKOFFICE_CHAT_ID = -1001000000001
RU = Texts("ru")
T = TypeVar("T")


class Loop:
    """An event loop in a thread: Hypothesis draws in the main thread, the play runs here."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


async def quiet(emulator: RunningEmulator, for_seconds: float = 0.2, limit: float = 60) -> None:
    """Until every update was taken and the desk made no Bot API call for a while."""
    world = emulator.world
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    last = (sum(emulator.observer.calls.values()), loop.time())
    while loop.time() < deadline:
        calls = sum(emulator.observer.calls.values()) - emulator.observer.calls["getUpdates"]
        if calls != last[0]:
            last = (calls, loop.time())
        elif not world.updates and loop.time() - last[1] >= for_seconds:
            return
        await asyncio.sleep(0.05)


async def file_request(emulator: RunningEmulator, owner: User) -> None:
    """CTV-1001, the request whose history must hold only its customer's and staff's acts."""
    people = emulator.people

    def shows(fragment: str) -> Any:
        return lambda m: fragment in (m.text or "")

    await people.command(owner, "new")
    window = await people.wait_for_message(owner, shows("Одна заявка — одна проблема"), timeout=30)
    await people.press(owner, window, text=RU("intake.buttons.incident"))
    await people.wait_for_message(owner, shows("Шаг 2 из 5"), timeout=30)
    await people.send(owner, "Не приходят звонки")
    await people.wait_for_message(owner, shows("Шаг 3 из 5"), timeout=30)
    await people.send(owner, "Звонки с сайта не доходят до менеджеров.")
    window = await people.wait_for_message(owner, shows("Шаг 4 из 5"), timeout=30)
    await people.press(owner, window, text=RU("intake.buttons.skip"))
    window = await people.wait_for_message(owner, shows("Шаг 5 из 5"), timeout=30)
    await people.press(owner, window, text=RU("intake.buttons.skip"))
    summary = await people.wait_for_message(owner, shows("Проверьте заявку"), timeout=30)
    await people.press(owner, summary, text=RU("intake.buttons.submit"))
    await people.wait_for_message(owner, shows("CTV-1001"), timeout=30)


def foreign_changes(database: Path, owner_telegram_id: int) -> int:
    with sqlite3.connect(database) as connection:
        (customer_id,) = connection.execute(
            "SELECT id FROM customers WHERE telegram_user_id = ?", (owner_telegram_id,)
        ).fetchone()
        rows = connection.execute(
            "SELECT e.actor_role, e.actor_customer_id FROM ticket_events e "
            "JOIN tickets t ON t.id = e.ticket_id WHERE t.number = 1001"
        ).fetchall()
    return sum(1 for role, customer in rows if role == "customer" and customer != customer_id)


def run(args: argparse.Namespace) -> dict[str, Any]:
    loop = Loop()
    with tempfile.TemporaryDirectory(prefix="bench-fuzz-") as folder:
        workdir = Path(folder)
        database = workdir / "desk.sqlite3"
        emulator = loop.run(start_emulator(TOKEN, "ctv_desk_fuzz_bot"))
        child: ChildProcess | None = None
        try:
            people = emulator.people
            kate = people.user("Kate", username="agent_kate", language_code="ru")
            group = people.group("CTV backoffice", owner=kate, chat_id=BACKOFFICE_CHAT_ID)
            owner = people.user("Анна", language_code="ru")
            other = people.user("Bob", language_code="en")
            stranger = people.user("Mallory", username="mallory")
            loop.run(people.join(group, stranger))
            http_port = free_port()
            env = {
                **os.environ,
                "PYTHONUNBUFFERED": "1",
                "BOT_TOKEN": emulator.token,
                "TELEGRAM_API_URL": emulator.url,
                "BACKOFFICE_CHAT_ID": str(BACKOFFICE_CHAT_ID),
                "AGENT_IDS": str(kate.id),
                "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
                "HTTP_HOST": "127.0.0.1",
                "HTTP_PORT": str(http_port),
                "REDIS_URL": "",
                "TELEGRAM_MAX_PER_SECOND": "100000",
                "TELEGRAM_CHAT_PER_SECOND": "1000",
                "TELEGRAM_GROUP_PER_MINUTE": "100000",
            }
            child = loop.run(
                start_child(
                    (sys.executable, "-m", "bot", "run"),
                    env,
                    workdir,
                    "desk",
                    emulator,
                    mode="polling",
                    http_port=http_port,
                    health_path="/health",
                )
            )
            for person in (owner, other, kate):
                loop.run(people.command(person, "start"))
            loop.run(file_request(emulator, owner))
            player = fuzz.Player(
                people, {"owner": owner, "other": other, "agent": kate, "stranger": stranger}, group
            )
            batches = max(1, args.updates // args.batch)
            progress(f"desk ready; {batches} batches of about {args.batch} acts")
            started = time.monotonic()

            @settings(
                max_examples=batches,
                database=None,
                deadline=None,
                derandomize=args.seed == 0,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(acts=st.lists(fuzz.ACTS, min_size=args.batch, max_size=args.batch))
            def play(acts: list[fuzz.Act]) -> None:
                async def batch() -> None:
                    for act in acts:
                        await player.play(act)
                        await asyncio.sleep(0)
                    await quiet(emulator)

                loop.run(batch(), timeout=300)
                if player.played and player.played % (args.batch * 20) < args.batch:
                    progress(f"{player.played} updates played")

            while player.played < args.updates:
                play()
            loop.run(quiet(emulator, for_seconds=2.0, limit=120))
            seconds = time.monotonic() - started
            unanswered = sum(1 for press in player.presses if not press.answered)
            violations = len(emulator.people.violations())
            loop.run(child.stop())
            errors = count_error_lines(child.stderr_path)
            if errors and args.keep_log:
                Path(args.keep_log).write_bytes(child.stderr_path.read_bytes())
            changes = foreign_changes(database, owner.id)
        finally:
            if child is not None:
                loop.run(child.stop())
            loop.run(emulator.stop())
            loop.close()
    return {
        "updates": player.played,
        "seconds": round(seconds, 1),
        "updates_per_s": round(player.played / seconds, 1) if seconds else None,
        "errors": errors,
        "violations": violations,
        "unanswered_presses": unanswered,
        "presses": len(player.presses),
        "foreign_changes": changes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fuzz",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0, help="0: the same acts every run")
    parser.add_argument("--keep-log", metavar="FILE", help="copy the desk's log there on errors")
    args = parser.parse_args()
    assert_no_pytest()
    result = run(args)
    rows: list[tuple[str, object]] = [
        ("updates played", result["updates"]),
        ("seconds", result["seconds"]),
        ("updates/s", result["updates_per_s"]),
        ("ERROR/Traceback lines", result["errors"]),
        ("schema violations", result["violations"]),
        ("presses unanswered / all", f"{result['unanswered_presses']} / {result['presses']}"),
        ("foreign changes to CTV-1001", result["foreign_changes"]),
        ("machine", load_line()),
    ]
    print_report("bench.fuzz", rows, result)


if __name__ == "__main__":
    main()
