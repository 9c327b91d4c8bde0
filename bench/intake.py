"""N customers at once walk the first steps of the intake against the real desk process,
then the same load against a bare aiogram echo bot, both on the Bot API emulator.

    python -m bench.intake [--customers 1000] [--database sqlite|postgres] [--redis]
                           [--mode polling|webhook] [--timeout 180] [--rounds 1]

Desk, per customer: /start → press "New request" → press the kind "Incident" → type
the topic; each step waits for the bot's answer (the greeting with its menu, the kind
window, step 2, step 3) before the next one. Echo, per customer: four text messages,
each waiting for its echo. Both bots run as their own process; the phases run one after
the other, each on a fresh emulator (its own world and token) in this process, so they
do not compete for the CPU.

With ``--rounds N`` both phases run N times, the echo bot first in every other
round, and the figures are the rounds' medians: on a shared machine one phase's
speed swings by a fifth between minutes, and a single pair of phases can land on
either side of such a swing.

Prints a table and, last, one JSON line (keys in bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path

from bench.common import (
    DEFAULT_POSTGRES_URL,
    DEFAULT_REDIS_URL,
    Answer,
    ChildProcess,
    RunningEmulator,
    User,
    assert_no_pytest,
    count_error_lines,
    cpu_seconds,
    free_port,
    load_line,
    peak_rss_mb,
    percentile,
    postgres_database,
    print_report,
    progress,
    redis_flushed,
    start_child,
    start_emulator,
    webhook_env,
)
from locales import Texts

DESK_TOKEN = "100001:BENCH-desk-token"
ECHO_TOKEN = "100002:BENCH-echo-token"
BACKOFFICE_CHAT_ID = -1001000000001
STEPS = 4
TEXTS = Texts("ru")


def plain(html: str) -> str:
    """What a person reads of a template: tags stripped, entities resolved, first line."""
    return unescape(re.sub(r"<[^>]+>", "", html)).splitlines()[0]


NEW_REQUEST = TEXTS("start.new_request")
INCIDENT = TEXTS("intake.buttons.incident")
STEP_TOPIC = plain(TEXTS("intake.step_topic", maximum=0))
STEP_DESCRIPTION = plain(TEXTS("intake.step_description", minimum=0, maximum=0))


@dataclass
class Phase:
    """What one bot did under the load."""

    latencies: list[float] = field(default_factory=list)  # seconds, per answered step
    answered: int = 0  # customers whose every step was answered
    lost: int = 0
    first_send: float | None = None
    last_answer: float | None = None
    calls: int = 0  # Bot API calls the bot made during the burst
    cpu: float | None = None  # CPU seconds the bot's process used during the burst

    @property
    def answers(self) -> int:
        return len(self.latencies)

    @property
    def seconds(self) -> float:
        if self.first_send is None or self.last_answer is None:
            return 0.0
        return max(self.last_answer - self.first_send, 1e-9)

    @property
    def per_second(self) -> float:
        return self.answers / self.seconds if self.answers else 0.0

    def cpu_ms_per_answer(self) -> float | None:
        return round(self.cpu * 1000 / self.answers, 2) if self.cpu and self.answers else None

    def calls_per_answer(self) -> float | None:
        return round(self.calls / self.answers, 2) if self.answers else None

    def ms(self, share: float) -> float | None:
        value = percentile(self.latencies, share)
        return None if value is None else round(value * 1000, 1)


Step = Callable[[Answer | None], tuple[Callable[[Answer], bool], Awaitable[object]]]


async def walk(
    emulator: RunningEmulator, person: User, steps: list[Step], phase: Phase, step_timeout: float
) -> None:
    """One customer: each step acts, then waits (bounded) for the answer it expects."""
    observer = emulator.observer
    previous: Answer | None = None
    for step in steps:
        sent = time.monotonic()
        if phase.first_send is None or sent < phase.first_send:
            phase.first_send = sent
        try:
            predicate, action = step(previous)
            # Registered before acting: an answer faster than this coroutine still counts.
            expected = observer.expect(person.id, predicate)
            await action
            previous = await asyncio.wait_for(expected, step_timeout)
        except (TimeoutError, ValueError):
            # ValueError: the people's side could not act (e.g. the button is gone).
            observer.forget(person.id)
            phase.lost += 1
            return
        phase.latencies.append(previous.at - sent)
        if phase.last_answer is None or previous.at > phase.last_answer:
            phase.last_answer = previous.at
    phase.answered += 1


def desk_steps(emulator: RunningEmulator, person: User, index: int) -> list[Step]:
    people = emulator.people
    world = emulator.world

    def press(previous: Answer | None, label: str) -> Awaitable[object]:
        assert previous is not None
        message = world.find_message(previous.chat_id, previous.message_id)
        if message is None:
            raise ValueError("the message with the button is gone")
        return people.press(person, message, text=label)

    return [
        lambda _: (lambda a: NEW_REQUEST in a.buttons, people.command(person, "start")),
        lambda prev: (lambda a: INCIDENT in a.buttons, press(prev, NEW_REQUEST)),
        lambda prev: (lambda a: STEP_TOPIC in a.text, press(prev, INCIDENT)),
        lambda _: (
            lambda a: STEP_DESCRIPTION in a.text,
            people.send(person, f"Не приходят уведомления, клиент {index}"),
        ),
    ]


def echo_steps(emulator: RunningEmulator, person: User, index: int) -> list[Step]:
    people = emulator.people

    def say(text: str) -> Step:
        return lambda _: (lambda a: a.text == text, people.send(person, text))

    return [say(f"customer {index} message {number}") for number in range(1, STEPS + 1)]


async def load(
    emulator: RunningEmulator,
    customers: int,
    steps_for: Callable[[RunningEmulator, User, int], list[Step]],
    step_timeout: float,
) -> Phase:
    people = emulator.people
    persons = [
        people.user(f"Клиент {i}", username=f"bench_{i}", language_code="ru")
        for i in range(customers)
    ]
    phase = Phase()
    # Each step is bounded by `timeout`; this bounds the whole burst as well.
    await asyncio.wait_for(
        asyncio.gather(
            *(
                walk(emulator, person, steps_for(emulator, person, i), phase, step_timeout)
                for i, person in enumerate(persons)
            )
        ),
        step_timeout * STEPS + 60,
    )
    return phase


def cpu_used(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def sum_calls(emulator: RunningEmulator) -> int:
    """Bot API calls so far, long polls aside: the work Telegram does for the bot."""
    calls = emulator.observer.calls
    return sum(calls.values()) - calls["getUpdates"]


def keep_log(path: Path, folder: Path) -> None:
    """The temporary folder goes away; the desk's log is the evidence behind `errors`."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, folder / path.name)


async def run_desk(
    args: argparse.Namespace, workdir: Path, database_url: str, code: str | None = None
) -> tuple[Phase, float | None, int]:
    """``code``: a checkout whose desk runs instead of this one (``--against``)."""
    emulator = await start_emulator(DESK_TOKEN, "ctv_desk_bench_bot")
    child: ChildProcess | None = None
    try:
        people = emulator.people
        agent = people.user("Kate", username="agent_kate", language_code="ru")
        people.group("CTV backoffice", owner=agent, chat_id=BACKOFFICE_CHAT_ID)
        http_port = free_port()
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "BOT_TOKEN": emulator.token,
            "TELEGRAM_API_URL": emulator.url,
            "BACKOFFICE_CHAT_ID": str(BACKOFFICE_CHAT_ID),
            "DATABASE_URL": database_url,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(http_port),
            "REDIS_URL": args.redis_url if args.redis else "",
            **webhook_env(args.mode, http_port),
        }
        if code is not None:
            # The child runs in a folder of its own: the path decides whose code it imports.
            env["PYTHONPATH"] = code
        child = await start_child(
            (sys.executable, "-m", "bot", "run"),
            env,
            workdir,
            "desk",
            emulator,
            mode=args.mode,
            http_port=http_port,
            health_path="/health",
        )
        progress(f"desk ready; {args.customers} customers start")
        before, cpu_before = sum_calls(emulator), cpu_seconds(child.pid)
        phase = await load(emulator, args.customers, desk_steps, args.timeout)
        phase.calls = sum_calls(emulator) - before
        phase.cpu = cpu_used(cpu_before, cpu_seconds(child.pid))
        rss = peak_rss_mb(child.pid)
        await child.stop()
        errors = count_error_lines(child.stderr_path)
        if args.keep_logs:
            keep_log(child.stderr_path, Path(args.keep_logs))
        return phase, rss, errors
    finally:
        if child is not None:
            await child.stop()
        await emulator.stop()


async def run_echo(args: argparse.Namespace, workdir: Path) -> Phase:
    emulator = await start_emulator(ECHO_TOKEN, "echo_bench_bot")
    child: ChildProcess | None = None
    try:
        http_port = free_port()
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "BOT_TOKEN": emulator.token,
            "TELEGRAM_API_URL": emulator.url,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(http_port),
            **webhook_env(args.mode, http_port),
        }
        child = await start_child(
            (sys.executable, "-m", "bench.echo_bot"),
            env,
            workdir,
            "echo",
            emulator,
            mode=args.mode,
            http_port=http_port,
            health_path=None,
        )
        progress(f"echo bot ready; {args.customers} customers start")
        before, cpu_before = sum_calls(emulator), cpu_seconds(child.pid)
        phase = await load(emulator, args.customers, echo_steps, args.timeout)
        phase.calls = sum_calls(emulator) - before
        phase.cpu = cpu_used(cpu_before, cpu_seconds(child.pid))
        return phase
    finally:
        if child is not None:
            await child.stop()
        await emulator.stop()


@dataclass
class Round:
    desk: Phase
    echo: Phase
    rss: float | None
    errors: int

    @property
    def ratio(self) -> float | None:
        return self.desk.per_second / self.echo.per_second if self.echo.per_second else None


async def desk_phase(
    args: argparse.Namespace, workdir: Path, code: str | None = None
) -> tuple[Phase, float | None, int]:
    if args.redis:
        await redis_flushed(args.redis_url)
    try:
        if args.database == "postgres":
            async with postgres_database(args.postgres_url) as url:
                return await run_desk(args, workdir, url, code)
        url = f"sqlite+aiosqlite:///{workdir / f'desk-{code is None}.sqlite3'}"
        return await run_desk(args, workdir, url, code)
    finally:
        if args.redis:
            await redis_flushed(args.redis_url)


async def other_phase(args: argparse.Namespace, workdir: Path) -> Phase:
    """The echo bot, or with ``--against`` the other checkout's desk."""
    if args.against is None:
        return await run_echo(args, workdir)
    phase, _, _ = await desk_phase(args, workdir, args.against)
    return phase


async def one_round(args: argparse.Namespace, number: int) -> Round:
    """The desk and the echo bot once each; every other round the echo bot goes first,
    so that a machine slowing down or speeding up during a run favours neither."""
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as folder:
        workdir = Path(folder)
        echo: Phase | None = None
        if number % 2 == 1:
            echo = await other_phase(args, workdir)
        desk, rss, errors = await desk_phase(args, workdir)
        if echo is None:
            echo = await other_phase(args, workdir)
    return Round(desk, echo, rss, errors)


def middle(values: list[float | None]) -> float | None:
    """The median of the values present (with one round, its own figure)."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


async def run(args: argparse.Namespace) -> None:
    rounds: list[Round] = []
    for number in range(args.rounds):
        if args.rounds > 1:
            progress(f"round {number + 1} of {args.rounds}")
        rounds.append(await one_round(args, number))
    ratios = [r.ratio for r in rounds]
    # With several rounds the figures are the medians of the rounds' own figures
    # (a shared machine's speed swings between phases); losses and errors add up.
    rss_values = [r.rss for r in rounds if r.rss is not None]
    result = {
        "customers": args.customers,
        "database": args.database,
        "redis": args.redis,
        "mode": args.mode,
        "rounds": args.rounds,
        "updates_per_s": rounded(middle([r.desk.per_second for r in rounds])),
        "echo_updates_per_s": rounded(middle([r.echo.per_second for r in rounds])),
        "ratio": rounded(middle(ratios), 3),
        "ratios": [rounded(value, 3) for value in ratios],
        "p50_ms": middle([r.desk.ms(0.50) for r in rounds]),
        "p99_ms": middle([r.desk.ms(0.99) for r in rounds]),
        "echo_p50_ms": middle([r.echo.ms(0.50) for r in rounds]),
        "echo_p99_ms": middle([r.echo.ms(0.99) for r in rounds]),
        "cpu_ms_per_answer": rounded(middle([r.desk.cpu_ms_per_answer() for r in rounds]), 2),
        "echo_cpu_ms_per_answer": rounded(middle([r.echo.cpu_ms_per_answer() for r in rounds]), 2),
        "calls_per_answer": rounded(middle([r.desk.calls_per_answer() for r in rounds]), 2),
        "echo_calls_per_answer": rounded(middle([r.echo.calls_per_answer() for r in rounds]), 2),
        "peak_rss_mb": rounded(max(rss_values)) if rss_values else None,
        # The fewest customers a round answered: all of them when this equals --customers.
        "answered": min(r.desk.answered for r in rounds),
        "lost": sum(r.desk.lost for r in rounds),
        "echo_lost": sum(r.echo.lost for r in rounds),
        "errors": sum(r.errors for r in rounds),
        "seconds": rounded(middle([r.desk.seconds for r in rounds]), 2),
        "echo_seconds": rounded(middle([r.echo.seconds for r in rounds]), 2),
    }
    rows: list[tuple[str, object]] = [
        ("customers × steps", f"{args.customers} × {STEPS}"),
        ("database / redis / mode", f"{args.database} / {args.redis} / {args.mode}"),
        ("desk answers/s", result["updates_per_s"]),
        ("echo answers/s", result["echo_updates_per_s"]),
        ("ratio desk/echo", result["ratio"]),
        ("ratio of each round", ", ".join(str(r) for r in result["ratios"])),
        ("desk p50 / p99 ms", f"{result['p50_ms']} / {result['p99_ms']}"),
        ("echo p50 / p99 ms", f"{result['echo_p50_ms']} / {result['echo_p99_ms']}"),
        (
            "Bot API calls per answer (desk / echo)",
            f"{result['calls_per_answer']} / {result['echo_calls_per_answer']}",
        ),
        (
            "CPU ms per answer (desk / echo)",
            f"{result['cpu_ms_per_answer']} / {result['echo_cpu_ms_per_answer']}",
        ),
        ("desk peak RSS MiB", result["peak_rss_mb"]),
        ("answered customers (fewest in a round)", result["answered"]),
        ("lost customers (desk / echo)", f"{result['lost']} / {result['echo_lost']}"),
        ("ERROR/Traceback lines", result["errors"]),
        ("burst seconds (desk / echo)", f"{result['seconds']} / {result['echo_seconds']}"),
        ("machine", load_line()),
    ]
    print_report("bench.intake", rows, result)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.intake",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--redis", action="store_true", help="give the desk REDIS_URL")
    parser.add_argument("--mode", choices=("polling", "webhook"), default="polling")
    parser.add_argument(
        "--timeout", type=float, default=180.0, help="seconds a step may wait for its answer"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="an existing database to connect to; the run creates and drops its own beside it",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
        help="flushed before and after the run",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="desk and echo phases this many times, alternating which goes first; "
        "figures are the rounds' medians",
    )
    parser.add_argument("--keep-logs", metavar="FOLDER", help="copy the desk's stderr there")
    parser.add_argument(
        "--against",
        metavar="CHECKOUT",
        help="instead of the echo bot, the desk of another checkout of this project (e.g. "
        "`git worktree add /tmp/before <commit>`): the echo_* figures are then that desk's "
        "and the ratio compares the two builds in one run",
    )
    args = parser.parse_args()
    if args.against is not None:
        args.against = str(Path(args.against).resolve())
        if not (Path(args.against) / "bot" / "__main__.py").is_file():
            parser.error(f"--against: no checkout of the desk in {args.against}")
    if args.customers < 1 or args.timeout <= 0 or args.rounds < 1:
        parser.error("--customers, --timeout and --rounds must be positive")
    asyncio.run(run(args))
    assert_no_pytest()


if __name__ == "__main__":
    main()
