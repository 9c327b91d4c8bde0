"""Customers who go through the intake the way people do when the desk misbehaves.

A customer looks at the newest intake window in the chat and does what it asks:
Incident on step 1, the topic on step 2, the description on step 3, Skip on steps 4
and 5, Submit on the summary; then waits for the "registered" message. After each
action the customer waits up to ``patience`` seconds for the chat to change (a new
message, an edited window, an answered button):

- the chat changed: the customer acts on what it shows now;
- the desk apologised ("please try again", in a message or a button's alert): the
  customer reads it for a moment and does the same step again;
- nothing for ``patience`` seconds: the customer does the same step again, as a
  person whose button kept spinning would press it again;
- the desk says the window is out of date and offers to start again (its draft was
  never saved: Redis went away before the dialog was): the customer starts again.

On the summary after Submit ("sent", no number yet) the customer waits and presses
nothing more, however long the number takes. So a customer may send a step twice, but
presses Submit again only when the press showed nothing at all: a desk that files a
second request for that, or sends a second number, has done it itself.

The chat is read by message id from the emulator's store (O(messages in the chat)),
not by scanning every chat: hundreds of customers look at their chats many times a
second while the emulator runs in the same process.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from locales import Texts
from tests.e2e.conftest import plain
from tgemulator import CallbackPress, People, StoredMessage, User, World

RU = Texts("ru")


def seed() -> int:
    """The run's seed: CHAOS_SEED replays a run, otherwise a fresh one (printed)."""
    return int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(1, 10**6))


APOLOGY = plain(RU("errors.generic"))
RESTARTED = plain(RU("dialogs.restarted"))
REGISTERED = "зарегистрирована"
NUMBER = re.compile(r"CTV-\d+")
LOOK_EVERY = 0.1  # seconds between two looks at the chat

# What a window shows → the step it is. Checked in this order on the newest window.
STEPS: tuple[tuple[str, str], ...] = (
    ("kind", plain(RU("intake.rule"))),
    ("topic", "Шаг 2 из 5"),
    ("description", "Шаг 3 из 5"),
    ("screenshots", "Шаг 4 из 5"),
    ("details", "Шаг 5 из 5"),
    ("summary", plain(RU("intake.summary"))),
    ("sent", plain(RU("intake.sent"))),
)


def step_of(message: StoredMessage) -> str | None:
    text = message.text or ""
    for step, marker in STEPS:
        if marker in text:
            return step
    return None


def bot_messages_of(world: World, chat_id: int) -> list[StoredMessage]:
    """The bot's messages in one chat, oldest first, without scanning other chats."""
    chat = world.chats.get(chat_id)
    if chat is None:
        return []
    found = (world.find_message(chat_id, i) for i in range(1, chat.next_message_id))
    return [m for m in found if m is not None and m.from_bot]


def numbers_registered(world: World, chat_id: int) -> list[str]:
    """The request numbers of every "registered" message in the chat, repeats included."""
    numbers = []
    for message in bot_messages_of(world, chat_id):
        text = message.text or ""
        found = NUMBER.search(text)
        if REGISTERED in text and found:
            numbers.append(found.group(0))
    return numbers


def look(world: World, chat_id: int) -> tuple[Any, ...]:
    """What the customer sees: changes whenever anything in the chat does."""
    chat = world.chats.get(chat_id)
    if chat is None:
        return ()
    seen: list[Any] = []
    for message in bot_messages_of(world, chat_id)[-3:]:
        seen.append((message.message_id, message.text, len(message.buttons)))
    return tuple(seen)


@dataclass
class Customer:
    user: User
    topic: str
    started: float = 0.0
    finished: float | None = None
    actions: int = 0
    repeats: int = 0  # steps done again after silence
    apologies: int = 0  # "please try again" seen (message or alert)
    # The longest time on one step (its first try until the chat showed the next one),
    # waiting for the number after Submit included.
    longest_stall: float = 0.0
    last_step: str | None = "-"
    # (seconds since the test's start, step, what happened, the update's id) for the
    # failure report; the id finds the update in the desk's log.
    history: list[tuple[float, str, str, int | None]] = field(default_factory=list)

    @property
    def description(self) -> str:
        return f"Подробности: {self.topic}."


@dataclass
class Behaviour:
    patience: float = 8.0
    # A pause before each step, as people read and type; spreads the load.
    think: tuple[float, float] = (0.1, 0.6)
    reread: float = 1.0  # after an apology, before trying again


class Intakes:
    """Runs customers through the intake against one emulator; records what they saw."""

    def __init__(self, people: People, behaviour: Behaviour, rng: random.Random) -> None:
        self.people = people
        self.world = people.world
        self.behaviour = behaviour
        self.rng = rng
        self.customers: list[Customer] = []
        self.clock: Callable[[], float] = asyncio.get_running_loop().time
        self.zero = self.clock()

    def now(self) -> float:
        return self.clock() - self.zero

    def new_customer(self, index: int) -> Customer:
        user = self.people.user(f"Клиент {index}", language_code="ru")
        customer = Customer(user=user, topic=f"Тема {index}")
        self.customers.append(customer)
        return customer

    def window(self, customer: Customer) -> tuple[str | None, StoredMessage | None]:
        for message in reversed(bot_messages_of(self.world, customer.user.id)):
            if RESTARTED in (message.text or ""):
                # "This button is out of date, let's start again" after the window:
                # its draft is gone (its dialog was never saved), so start again.
                return None, None
            step = step_of(message)
            if step is not None:
                return step, message
        return None, None

    def registered(self, customer: Customer) -> bool:
        return bool(numbers_registered(self.world, customer.user.id))

    def _last_update_id(self) -> int | None:
        # Called right after a push, before anything else ran: the newest is ours.
        updates = self.world.updates
        return int(updates[-1]["update_id"]) if updates else None

    async def _act(
        self, customer: Customer, step: str | None, window: StoredMessage | None
    ) -> tuple[CallbackPress | None, int | None]:
        """Does the step; the press (for its answer) and the update's id. (None, None)
        when the button is gone: the window changed under the finger."""
        people = self.people
        person = customer.user
        press = None
        if step is None or window is None:
            await people.command(person, "new")
        elif step == "topic":
            await people.send(person, customer.topic)
        elif step == "description":
            await people.send(person, customer.description)
        else:
            label = {
                "kind": RU("intake.buttons.incident"),
                "screenshots": RU("intake.buttons.skip"),
                "details": RU("intake.buttons.skip"),
                "summary": RU("intake.buttons.submit"),
            }[step]
            try:
                press = await people.press(person, window, text=label)
            except ValueError:
                return None, None
        customer.actions += 1
        return press, self._last_update_id()

    async def run(self, customer: Customer, deadline: float) -> None:
        """Until the "registered" message, or ``deadline`` (seconds since the start)."""
        behaviour = self.behaviour
        customer.started = self.now()
        on_step: str | None = None  # the step the customer is at, and since when
        since = customer.started
        while self.now() < deadline:
            step, window = self.window(customer)
            done = self.registered(customer)
            if done or step != on_step:
                customer.longest_stall = max(customer.longest_stall, self.now() - since)
                on_step, since = step, self.now()
            if done:
                customer.finished = self.now()
                return
            if step == "sent":
                # Submitted: the number comes from the outbox; nothing to press.
                await asyncio.sleep(LOOK_EVERY)
                continue
            seen = look(self.world, customer.user.id)
            await asyncio.sleep(self.rng.uniform(*behaviour.think))
            if look(self.world, customer.user.id) != seen:
                continue  # an answer came while the customer was reading: read it first
            press, update_id = await self._act(customer, step, window)
            if update_id is None:
                continue
            # Taken after acting: the customer's own message is not an answer.
            before = look(self.world, customer.user.id)
            if step == customer.last_step:
                customer.repeats += 1
            customer.last_step = step
            acted = self.now()
            reaction = await self._reaction(customer, before, press, acted, deadline)
            customer.history.append((round(acted, 1), step or "start", reaction, update_id))
            if reaction == "apology":
                customer.apologies += 1
                await asyncio.sleep(behaviour.reread)
        # Still on that step at the deadline: that wait counts too.
        customer.longest_stall = max(customer.longest_stall, self.now() - since)
        customer.history.append((round(self.now(), 1), on_step or "start", "gave up", None))

    async def _reaction(
        self,
        customer: Customer,
        before: tuple[Any, ...],
        press: CallbackPress | None,
        acted: float,
        deadline: float,
    ) -> str:
        """ "changed", "apology" or "silence" (nothing within patience)."""
        until = min(acted + self.behaviour.patience, deadline)
        chat_id = customer.user.id
        while self.now() < until:
            if press is not None and press.answered:
                alert = (press.result or {}).get("text") or ""
                if APOLOGY in alert:
                    return "apology"
            seen = look(self.world, chat_id)
            if seen != before:
                last = bot_messages_of(self.world, chat_id)
                if last and APOLOGY in (last[-1].text or ""):
                    return "apology"
                return "changed"
            await asyncio.sleep(LOOK_EVERY)
        return "silence"
