"""Names drawn in one process differ from each other and from another process's."""

from __future__ import annotations

from tgkit.names import UniqueNames


def test_names_never_repeat_within_or_across_processes() -> None:
    here, there = UniqueNames(), UniqueNames()  # two processes' generators
    drawn = [here.next() for _ in range(1000)] + [there.next() for _ in range(1000)]
    assert len(set(drawn)) == len(drawn)
