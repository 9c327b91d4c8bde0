"""A server of the desk's stopped for a few seconds while customers go through the intake.

Shared by the PostgreSQL and the Redis test: customers arrive over ``LOAD`` seconds
(tests/chaos/customers.py says how they behave); ``OUTAGE_AT`` seconds in the server
stops, and ``DOWN`` seconds later it starts again on the same port and data. From
that moment a new customer sends /new every half second (the probes): how soon their
first answers are normal again is the recovery.

The stop comes right after one of the desk's cards reached the group while Telegram's
answer to it is still on its way (slow answers, tgemulator's ``after_effect_rate``):
whatever the desk writes after a send meets the outage.

What is checked afterwards, whatever failed:

- every customer action taken while the server was down, or just after, got an
  answer within the customer's patience: the intake's next step, or the polite
  "please try again" (``errors.generic``), never silence;
- recovery: probes from ``RECOVERY`` seconds after the server is back are all
  answered normally;
- every customer finished: one request each in the database, its number told
  once, its card in the group once, the outbox drained with nothing failed;
- every update the customers caused was finished by the desk (handled, or
  answered with the apology), none dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.conftest import DeskProcess, start_desk, stop_desk
from tgemulator import FaultPlan, RunningEmulator

from .customers import (
    APOLOGY,
    Behaviour,
    Customer,
    Intakes,
    bot_messages_of,
    numbers_registered,
    seed,
)
from .evidence import (
    cards_in_group,
    customer_update_ids,
    desk_gauges,
    log_lines,
    outbox_of,
    outbox_rows,
    outcomes,
    redis_marks,
    tickets_by_customer,
    unfinished,
)

CUSTOMERS = 120
LOAD = 24.0  # customers arrive over this many seconds
OUTAGE_AT = 8.0
DOWN = 4.0
RECOVERY = 10.0  # the desk answers normally again this long after the server is back
PROBE_EVERY = 0.5
PROBES_FOR = 14.0  # seconds of probes after the server is back
PROBE_WAIT = 5.0  # a probe's answer counts when it comes this quickly
FINISH_WITHIN = 30.0  # after the last arrival
SETTLE = 1.5  # after everything: a second copy of anything has time to show
# No action may go unanswered, the edges of the outage included. (Until the intake's
# buttons had ids of their own per step, one to three presses at the edges of a Redis
# restart showed no change: a step whose window reached the customer but whose save
# Redis lost left the window ahead of the dialog, and the press acted as the saved
# step's button of the same id, redrawing a window that already showed that step.)
# From shortly before the stop until the server is back, Telegram answers sends late
# (the message is in the chat, the answer still on its way), so the stop finds
# messages sent whose "sent" the desk has yet to write.
SLOW_BEFORE = 2.0
CARD_WAIT = 4.0  # at most this long after OUTAGE_AT for a card to go out
SLOW_ANSWERS = FaultPlan(
    seed=0,
    delay_rate=1.0,
    # Longer than a stop takes (PostgreSQL's fast shutdown: about 0.1 s).
    delay_seconds=(0.5, 1.0),
    after_effect_rate=1.0,
    methods=frozenset({"sendMessage", "editMessageText"}),
)

FAST_TELEGRAM = {
    # Telegram's pace would make the group's cards the bottleneck; lifted in both
    # the desk and the emulator (which enforces no limits unless asked).
    "TELEGRAM_CHAT_PER_SECOND": "1000",
    "TELEGRAM_GROUP_PER_MINUTE": "100000",
    "TELEGRAM_MAX_PER_SECOND": "100000",
}


@dataclass
class Probe:
    sent: float
    answered: float | None = None
    normal: bool = False


@dataclass
class OutageRun:
    """What one run saw; ``problems`` empty when the desk did everything right."""

    figures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    desk: DeskProcess | None = None


async def probe(intakes: Intakes, index: int, record: Probe) -> None:
    people = intakes.people
    person = people.user(f"Проба {index}", language_code="ru")
    await people.command(person, "new")
    until = record.sent + PROBE_WAIT
    while intakes.now() < until:
        messages = bot_messages_of(intakes.world, person.id)
        if messages:
            record.answered = intakes.now()
            record.normal = APOLOGY not in (messages[0].text or "")
            return
        await asyncio.sleep(0.05)


def recovery_seconds(probes: list[Probe], back: float) -> float | None:
    """From the server's return to the answer of the first probe after which every
    probe was answered normally; None if the probes never got there."""
    for index, record in enumerate(probes):
        if all(p.normal for p in probes[index:]):
            assert record.answered is not None
            return record.answered - back
    return None


async def check_outage(
    emulator: RunningEmulator,
    tmp_path: Path,
    *,
    database_url: str,
    redis_url: str,
    stop: Callable[[], Awaitable[None]],
    start: Callable[[], Awaitable[None]],
) -> None:
    """A test of its own: the desk in webhook mode (the production setup) through one
    outage of a server; its seed and figures printed, every problem failing it."""
    chosen = seed()
    print(f"\nCHAOS_SEED={chosen}")
    run = await run_outage(
        emulator,
        tmp_path,
        {"DATABASE_URL": database_url, "REDIS_URL": redis_url},
        mode="webhook",
        stop=stop,
        start=start,
        database_url=database_url,
        seed=chosen,
    )
    print(f"figures: {run.figures}")
    assert not run.problems, "\n".join(run.problems)


async def run_outage(
    emulator: RunningEmulator,
    tmp_path: Path,
    env: dict[str, str],
    *,
    mode: str,
    stop: Callable[[], Awaitable[None]],
    start: Callable[[], Awaitable[None]],
    database_url: str,
    seed: int,
) -> OutageRun:
    run = OutageRun()
    rng = random.Random(seed)
    desk = await start_desk(emulator, mode, tmp_path, extra_env={**env, **FAST_TELEGRAM})
    run.desk = desk
    intakes = Intakes(emulator.people, Behaviour(), rng)
    customers = [intakes.new_customer(i) for i in range(CUSTOMERS)]
    deadline = LOAD + FINISH_WITHIN
    times: dict[str, float] = {}
    evidence: dict[str, Any] = {}
    redis_url = env["REDIS_URL"]
    probes: list[Probe] = []

    async def arrive(customer: Customer, at: float) -> None:
        await asyncio.sleep(max(0.0, at - intakes.now()))
        await intakes.run(customer, deadline)

    async def outage() -> None:
        await asyncio.sleep(max(0.0, OUTAGE_AT - SLOW_BEFORE - intakes.now()))
        emulator.world.faults.configure(SLOW_ANSWERS)
        await asyncio.sleep(max(0.0, OUTAGE_AT - intakes.now()))
        # The stop comes right after a card reached the group, while the desk still
        # waits for Telegram's answer: what it writes after the send meets the outage
        # every time, not only when the moment happens to fall there.
        group = desk.backoffice.id
        cards = len(bot_messages_of(emulator.world, group))
        with contextlib.suppress(TimeoutError):
            await emulator.people.wait_for(
                lambda: len(bot_messages_of(emulator.world, group)) > cards, timeout=CARD_WAIT
            )
        evidence["stopped_with_a_card_unanswered"] = (
            len(bot_messages_of(emulator.world, group)) > cards
        )
        times["stopping"] = intakes.now()
        await stop()
        times["down"] = intakes.now()
        await asyncio.sleep(DOWN)
        await start()
        times["back"] = intakes.now()
        emulator.world.faults.configure(None)
        # What the outage left in Redis (locks of chats in hand when it struck).
        evidence["redis_at_return"] = await redis_marks(redis_url)
        tasks = []
        for index in range(int(PROBES_FOR / PROBE_EVERY)):
            record = Probe(sent=intakes.now())
            probes.append(record)
            tasks.append(asyncio.create_task(probe(intakes, index, record)))
            await asyncio.sleep(PROBE_EVERY)
        await asyncio.gather(*tasks)

    loop = asyncio.get_running_loop()
    try:
        arrivals = sorted(rng.uniform(0, LOAD) for _ in customers)
        await asyncio.gather(
            outage(), *(arrive(c, at) for c, at in zip(customers, arrivals, strict=True))
        )
        drain_until = loop.time() + 15
        while loop.time() < drain_until:
            if not [r for r in await outbox_rows(database_url) if r["status"] == "pending"]:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(SETTLE)
        evidence["desk_at_end"] = await desk_gauges(desk.http_url)
    finally:
        code = await stop_desk(desk)

    world = emulator.world
    back = times["back"]
    recovery = recovery_seconds(probes, back)
    filed = await tickets_by_customer(database_url)
    cards = cards_in_group(world, desk.backoffice.id)
    user_ids = {c.user.id for c in customers}
    lost = unfinished(customer_update_ids(world, user_ids), outcomes([desk.stderr_path]))
    left = await outbox_rows(database_url)
    # Actions from the stop until the desk should have recovered: each needs an answer.
    window = (times["stopping"] - 0.5, back + RECOVERY)
    during = [
        (c, at, step, reaction, update_id)
        for c in customers
        for at, step, reaction, update_id in c.history
        if window[0] <= at <= window[1]
    ]
    silent = [
        (c.user.first_name, at, step, update_id)
        for c, at, step, reaction, update_id in during
        if reaction == "silence"
    ]
    stuck = [c for c in customers if c.finished is None]
    run.figures = {
        "seed": seed,
        "customers": CUSTOMERS,
        "finished": CUSTOMERS - len(stuck),
        "stopped_at_s": round(times["stopping"], 1),
        "stop_took_s": round(times["down"] - times["stopping"], 1),
        "back_at_s": round(back, 1),
        "actions_during_outage": len(during),
        "apologies_during_outage": sum(r == "apology" for _, _, _, r, _ in during),
        "silent_during_outage": len(silent),
        "recovery_s": None if recovery is None else round(recovery, 1),
        "probes": [
            (round(p.sent - back, 1), "ok" if p.normal else ("sorry" if p.answered else "-"))
            for p in probes
        ],
        "requests_filed": sum(len(n) for n in filed.values()),
        "steps_repeated": sum(c.repeats for c in customers),
        **evidence,
    }
    logs = [desk.stderr_path]

    problems = run.problems
    if silent:
        problems.append(
            f"{len(silent)} of {len(during)} customer actions from the stop until "
            f"{RECOVERY:.0f} s after the return got no answer at all within "
            f"{intakes.behaviour.patience:.0f} s (customer, s, step, update): {silent[:8]}"
        )
    if recovery is None or recovery > RECOVERY:
        problems.append(
            f"no recovery within {RECOVERY:.0f} s of the server's return: probes "
            f"(s after return, answer) {run.figures['probes']}"
        )
    if stuck:
        problems.append(
            f"{len(stuck)} customers had no number {FINISH_WITHIN:.0f} s after the last "
            "arrival; e.g. "
            + "; ".join(f"{c.user.first_name}: {c.history[-6:]}" for c in stuck[:4])
        )
    doubled = {uid: numbers for uid, numbers in filed.items() if len(numbers) > 1}
    if doubled:
        problems.append(f"{len(doubled)} customers have two requests: {list(doubled.values())[:5]}")
    told_twice = []
    for customer in customers:
        shown = Counter(numbers_registered(world, customer.user.id))
        if len(shown) > 1 or any(n > 1 for n in shown.values()):
            told_twice.append((customer.user.first_name, dict(shown)))
    if told_twice:
        problems.append(f"numbers told twice or two numbers: {told_twice[:5]}")
        twice = [n for _, shown in told_twice for n in shown]
        problems.append(f"  their outbox rows: {await outbox_of(database_url, twice[:5])}")
    numbers = sorted(n for found in filed.values() for n in found)
    missing = [n for n in numbers if not cards[n]]
    repeated = {n: k for n, k in cards.items() if k > 1}
    if missing or repeated:
        problems.append(f"cards missing {missing[:5]}, sent more than once {repeated}")
        rows = await outbox_of(database_url, [*list(repeated)[:3], *missing[:2]])
        problems.append(f"  their outbox rows: {rows}")
        row_ids = "|".join(str(r["id"]) for r in rows)
        pattern = rf"row ({row_ids})\b"
        problems.append(f"  the log of those rows: {log_lines(logs, pattern)}")
    if left:
        problems.append(f"outbox not drained: {len(left)} rows, e.g. {left[:3]}")
    if lost:
        problems.append(
            f"{len(lost)} customer updates never finished by the desk (what the log "
            f"says of them: {Counter(tuple(v) for v in lost.values())}); e.g. "
            f"{list(lost)[:8]}"
        )
    if code != 0:
        problems.append(
            f"the desk exited with {code} (-9: not stopped within 10 s of SIGTERM); "
            f"{log_lines(logs, 'still being handled', 2)}"
        )
    return run
