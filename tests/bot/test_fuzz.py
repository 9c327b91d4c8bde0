"""Generated hostile updates against the real dispatcher (issue 13 §4).

Hypothesis draws updates of every kind the desk receives (messages of every
content type, commands with odd arguments, edits, button presses with real,
foreign or forged data) from every role (a customer, another customer, an
agent, a stranger in the group), in private chats and in the agents' group,
with hostile texts: HTML, up to 4,096 characters, zero-width and right-to-left
characters, emoji, digits from other scripts. For every one of them:

- no unhandled exception (the error router's "update N failed" is never logged);
- every Bot API call the desk makes is valid against the schema (the emulator
  records a violation otherwise, and the fixture fails the test);
- every button press is answered;
- nothing changes a request that the sender's role does not allow: the only
  request in play belongs to the first customer, and its history holds nothing
  but that customer's and staff's actions.

The suite runs a few hundred updates; ``bench/fuzz.py`` runs ten thousand.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from desk.model import Kind, Role
from desk.service import NewTicket
from tests.harness import Harness
from tgemulator import StoredMessage, User

HOSTILE_ALPHABET = st.sampled_from(
    [*"<>&\"'/ab!#@_*`~[]()", *"\u200b\u200d\u202e\u2066\ufeff", *"²٣߁𝟗🙂👩💻", "\n", " "]
)
HOSTILE_TEXT = st.one_of(
    st.text(HOSTILE_ALPHABET, min_size=1, max_size=60),
    # Long texts from a short drawn piece: Telegram's limit without the entropy.
    st.tuples(st.text(HOSTILE_ALPHABET, min_size=1, max_size=12), st.integers(4000, 4096)).map(
        lambda piece: (piece[0] * 4096)[: piece[1]]
    ),
    st.sampled_from(["<b>", "</i>", "&amp;", "&lt;script&gt;", "<a href='x'>y</a>", "! заметка"]),
)
COMMANDS = st.sampled_from(
    [
        "start",
        "help",
        "lang",
        "new",
        "my",
        "queue",
        "mine",
        "ticket",
        "find",
        "history",
        "note",
        "split",
        "stats",
        "version",
        "digest",
        "frobnicate",
    ]
)
COMMAND_ARGS = st.one_of(
    st.just(""),
    st.sampled_from(
        [
            "t_1001",
            "t_99999999999999999999",
            "t_²",
            "CTV-1001",
            "CTV-٣",
            "1001",
            "0",
            "-1",
            "org_x_y_z",
            "9" * 40,
        ]
    ),
    st.text(HOSTILE_ALPHABET, min_size=1, max_size=30),
)
FORGED_DATA = st.one_of(
    st.sampled_from(
        [
            "x",
            "lang:de",
            "lang:ru",
            "m:new",
            "m:my",
            "tk:v:1001",
            "tk:ok:1001",
            "tk:wdy:1001",
            "tr:1001:5",
            "tr:1001:99",
            "bo:tk:1001",
            "bo:rs:1001",
            "bo:cl:1001",
            "bc:1001:spam",
            "bp:1001:1",
            "ba:1001:1",
            "bs:1",
            "bs:abc",
            "bo:zz:1",
            "mp:5",
            "mp:-1",
            "t:v:1001",
            "t:r:1001:5",
            "q:a:0",
            "x" * 64,
        ]
    ),
    st.text(st.characters(codec="ascii", exclude_categories=["Cc"]), min_size=1, max_size=64),
)
AGENT = frozenset({Role.AGENT})
OTHER_CONTENT: list[dict[str, Any]] = [
    {
        "sticker": {
            "file_id": "CAAC1",
            "file_unique_id": "s1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
    },
    {"voice": {"file_id": "AwAC1", "file_unique_id": "v1", "duration": 3}},
    {"location": {"latitude": 55.75, "longitude": 37.62}},
    {"contact": {"phone_number": "+79990000000", "first_name": "Иван"}},
    {"dice": {"emoji": "🎲", "value": 4}},
]


@dataclass(frozen=True)
class Act:
    who: str  # "owner", "other", "agent", "stranger"
    where: str  # "private" or "group"
    kind: str  # "text", "command", "content", "photo", "press", "forged", "edit"
    text: str = ""
    command: str = ""
    args: str = ""
    content: int = 0
    data: str = ""
    reply: bool = False


ACTS = st.builds(
    Act,
    who=st.sampled_from(["owner", "other", "agent", "stranger"]),
    where=st.sampled_from(["private", "group"]),
    kind=st.sampled_from(["text", "command", "content", "photo", "press", "forged", "edit"]),
    text=HOSTILE_TEXT,
    command=COMMANDS,
    args=COMMAND_ARGS,
    content=st.integers(0, len(OTHER_CONTENT) - 1),
    data=FORGED_DATA,
    reply=st.booleans(),
)


class Scene:
    """The people, and a way to wait until the desk has taken every update sent."""

    def __init__(self, harness: Harness, owner: User, other: User, stranger: User) -> None:
        self.h = harness
        self.people = {
            "owner": owner,
            "other": other,
            "agent": harness.agent_user,
            "stranger": stranger,
        }
        self.presses: list[Any] = []

    async def settle(self) -> None:
        world = self.h.world
        flow = self.h.dispatcher.flow  # type: ignore[attr-defined]
        pushed = max((u["update_id"] for u in world.updates), default=0)
        async with asyncio.timeout(30):
            # The flow's counters have no event to wait on; a short poll is enough here.
            while flow.last_update_id < pushed or flow.active:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        await self.h.settle()

    def last_of(self, person: User, chat: Any) -> StoredMessage | None:
        mine = [
            m for m in self.h.people.messages(chat) if m.data.get("from", {}).get("id") == person.id
        ]
        return mine[-1] if mine else None

    async def play(self, act: Act) -> None:
        people = self.h.people
        person = self.people[act.who]
        if act.where == "group" and act.who in ("owner", "other"):
            return  # customers are not in the agents' group
        if act.where == "private" and act.who == "stranger":
            return  # the stranger only lurks in the group
        chat = self.h.backoffice if act.where == "group" else None
        target = chat if chat is not None else person
        latest = people.last_bot_message(target)
        reply_to = latest if act.reply and latest is not None else None
        if act.kind == "text":
            await people.send(person, act.text, chat=chat, reply_to=reply_to)
        elif act.kind == "command":
            await people.command(person, act.command, act.args, chat=chat, reply_to=reply_to)
        elif act.kind == "content":
            await people.send_content(
                person, OTHER_CONTENT[act.content], chat=chat, reply_to=reply_to
            )
        elif act.kind == "photo":
            await people.send_photo(person, caption=act.text[:1024], chat=chat, reply_to=reply_to)
        elif act.kind in ("press", "forged") and latest is not None:
            if act.kind == "press" and latest.buttons:
                button = latest.buttons[len(act.data) % len(latest.buttons)]
                if "callback_data" not in button:
                    return
                self.presses.append(
                    await people.press(person, latest, data=button["callback_data"])
                )
            else:
                self.presses.append(await people.press_forged(person, latest, act.data))
        elif act.kind == "edit":
            own = self.last_of(person, self.h.world.chats[chat.id if chat else person.id])
            if own is not None and "text" in own.data:
                await people.edit(person, own, act.text)


@pytest.fixture
async def scene(harness: Harness) -> Scene:
    owner = harness.people.user("Анна", language_code="ru")
    other = harness.people.user("Bob", language_code="en")
    stranger = harness.people.user("Mallory", username="mallory")
    await harness.people.join(harness.backoffice, stranger)
    for person in (owner, other):
        await harness.people.command(person, "start")
        await harness.people.wait_for_message(person, lambda m: bool(m.buttons), timeout=10)
    await harness.people.command(harness.agent_user, "start")
    actor = await harness.desk.register_telegram_user(owner.id, name="Анна", language="ru")
    await harness.desk.create(
        actor, NewTicket(Kind.INCIDENT, "Не приходят звонки", "Звонки с сайта не доходят.")
    )
    await harness.settle()
    return Scene(harness, owner, other, stranger)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
# A failing example of 4,096-character texts has a long repr; it is still wanted.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    # No shrinking: a failure shows its whole example, and CI does not spend minutes
    # minimising a sequence of updates.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(acts=st.lists(ACTS, min_size=10, max_size=14))
async def test_generated_updates_are_answered_and_change_only_what_the_role_allows(
    scene: Scene, acts: list[Act], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    for act in acts:
        await scene.play(act)
        await scene.settle()
    for press in scene.presses:
        await press.answer(timeout=10)
    scene.presses.clear()
    failures = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert failures == []
    assert scene.h.people.violations() == []
    owner = scene.people["owner"]
    customer = await scene.h.desk.register_telegram_user(owner.id, name="Анна", language="ru")
    kate = scene.h.agent_user
    agent = await scene.h.desk.register_telegram_user(
        kate.id, name=kate.first_name, staff_roles=AGENT
    )
    for event in await scene.h.desk.history(agent, 1001):
        if event.actor_role == "customer":
            assert event.actor_customer_id == customer.customer_id, event.action
        elif event.actor_agent_id is not None:
            assert event.actor_agent_id == agent.agent_id, (event.actor_role, event.action)
