"""The desk's clock with CLOCK_OFFSET_FILE (the playground's clock control)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clock import OffsetClock, desk_clock, machine_clock


def close_to(moment: datetime, expected: datetime) -> bool:
    return abs(moment - expected) < timedelta(seconds=5)


def test_no_setting_is_the_machines_clock() -> None:
    assert desk_clock("") is machine_clock


def test_the_offset_file_moves_the_clock_and_is_read_again_when_it_changes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "clock"
    clock = desk_clock(str(path))
    assert isinstance(clock, OffsetClock)
    assert close_to(clock(), datetime.now(UTC))  # no file yet: no offset
    path.write_text("3600")
    assert close_to(clock(), datetime.now(UTC) + timedelta(hours=1))
    path.write_text("90000")
    # A rewrite within the same clock tick of the file system still counts.
    os.utime(path, ns=(1, 2))
    assert clock.offset == timedelta(seconds=90000)
    assert clock().tzinfo is UTC


def test_a_broken_or_missing_file_means_no_offset(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    path.write_text("soon")
    clock = OffsetClock(path)
    assert clock.offset == timedelta()
    path.write_text("")
    os.utime(path, ns=(3, 4))
    assert clock.offset == timedelta()
    path.write_text("60")
    os.utime(path, ns=(5, 6))
    assert clock.offset == timedelta(minutes=1)
    path.unlink()
    assert clock.offset == timedelta()
