"""Dialog ids: two drafts started within one second do not share their id."""

from __future__ import annotations

import time

import pytest
from aiogram.fsm.state import State
from aiogram_dialog.api.entities import Stack
from aiogram_dialog.api.entities import stack as stack_module

from dialogs import ids

FROZEN = 1_800_000_000.0
DIALOGS = 10_000


@pytest.fixture
def one_second(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: FROZEN)
    monkeypatch.setattr(stack_module, "new_id", stack_module.new_id)  # undone after


def _ids_of_new_dialogs() -> set[str]:
    return {Stack().push(State("step", "Draft"), None).id for _ in range(DIALOGS)}


def test_the_library_alone_would_repeat_ids_within_a_second(
    monkeypatch: pytest.MonkeyPatch, one_second: None
) -> None:
    # The reason for dialogs.ids: at most 100 different ids in one second.
    library = stack_module.new_int_id
    monkeypatch.setattr(stack_module, "new_id", lambda: stack_module.id_to_str(library()))
    assert len(_ids_of_new_dialogs()) <= 100


def test_dialogs_started_in_one_second_get_their_own_ids(one_second: None) -> None:
    ids.install()
    started = _ids_of_new_dialogs()
    # Two million values for 10,000 dialogs: about 25 pairs meet by chance.
    assert len(started) > DIALOGS - 200
    assert max(len(dialog_id) for dialog_id in started) <= 8


def test_dialogs_of_different_seconds_never_share_an_id(
    monkeypatch: pytest.MonkeyPatch, one_second: None
) -> None:
    ids.install()
    first = _ids_of_new_dialogs()
    monkeypatch.setattr(time, "time", lambda: FROZEN + 1)
    assert first.isdisjoint(_ids_of_new_dialogs())
