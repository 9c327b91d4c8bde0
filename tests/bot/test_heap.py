"""bot.heap: what the start left alive is frozen out of the collector's sweeps."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from bot import heap


@pytest.fixture
def collector_restored() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("collector_restored")
def test_settle_freezes_what_is_alive_and_widens_the_young_generation() -> None:
    alive = [[n] for n in range(1000)]  # tracked containers, alive past the start
    frozen = heap.settle()
    assert frozen == gc.get_freeze_count() >= len(alive)
    assert gc.get_threshold() == (heap.YOUNG, heap.MIDDLE, heap.OLD)
    # Cycles made after the start are still collected.
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1
