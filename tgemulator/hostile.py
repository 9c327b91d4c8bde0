"""Hostile updates for fuzzing a bot through the emulator: what people could send.

Hypothesis strategies for acts of four people (the owner of a request, another
customer, an agent, a stranger in the group) in private chats and in a group:
texts full of HTML, 4,096 characters, zero-width and right-to-left characters,
emoji and digits from other scripts; commands with odd arguments; messages of
every other kind; edits; presses of real buttons and of forged data. A
:class:`Player` performs them through :class:`tgemulator.People`.

Importing this module needs ``hypothesis`` (a test dependency), nothing else of
the emulator does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tgemulator.client import CallbackPress, People
from tgemulator.state import Chat, StoredMessage, User

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


class Player:
    """Performs acts as the named people; remembers the presses to check they were answered."""

    def __init__(self, people: People, cast: dict[str, User], group: Chat) -> None:
        self.people = people
        self.cast = cast
        self.group = group
        self.presses: list[CallbackPress] = []
        self.played = 0

    def _last_own(self, person: User, chat_id: int) -> StoredMessage | None:
        mine = [
            m
            for m in self.people.messages(chat_id)
            if m.data.get("from", {}).get("id") == person.id
        ]
        return mine[-1] if mine else None

    async def play(self, act: Act) -> bool:
        """True when the act became an update (some acts make no sense for their actor)."""
        people = self.people
        person = self.cast[act.who]
        if act.where == "group" and act.who in ("owner", "other"):
            return False  # customers are not in the agents' group
        if act.where == "private" and act.who == "stranger":
            return False  # the stranger only lurks in the group
        chat = self.group if act.where == "group" else None
        chat_id = self.group.id if chat is not None else person.id
        latest = people.last_bot_message(chat if chat is not None else person)
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
        elif act.kind in ("press", "forged"):
            if latest is None:
                return False
            buttons = [b for b in latest.buttons if "callback_data" in b]
            if act.kind == "press" and buttons:
                button = buttons[len(act.data) % len(buttons)]
                press = await people.press(person, latest, data=button["callback_data"])
            else:
                press = await people.press_forged(person, latest, act.data)
            self.presses.append(press)
        elif act.kind == "edit":
            own = self._last_own(person, chat_id)
            if own is None or "text" not in own.data:
                return False
            await people.edit(person, own, act.text)
        self.played += 1
        return True
