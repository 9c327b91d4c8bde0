"""The desk's clock: the machine's, or the machine's moved forward by an offset file.

``CLOCK_OFFSET_FILE`` exists for the playground (``ctv-desk demo``), whose clock control
lets a visitor see SLA warnings, reminders, auto-close and digests without waiting. The
desk reads time only through the ``clock`` its facade and outbox sender are given, so
one callable moves all of it; nothing else in the desk knows about the file. The file
holds a number of seconds (a float); a missing, empty or unreadable file means no
offset. It is re-read only when its modification time changes, so a clock call costs
one ``stat``. Production leaves the setting empty and gets ``datetime.now(UTC)``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def machine_clock() -> datetime:
    return datetime.now(UTC)


class OffsetClock:
    """``datetime.now(UTC)`` plus the seconds written in ``path``."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stamp: int | None = None
        self._offset = timedelta()

    @property
    def offset(self) -> timedelta:
        self._refresh()
        return self._offset

    def _refresh(self) -> None:
        try:
            stamp = os.stat(self._path).st_mtime_ns
        except OSError:
            self._stamp, self._offset = None, timedelta()
            return
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            text = self._path.read_text(encoding="utf-8").strip()
            seconds = float(text) if text else 0.0
        except (OSError, ValueError):
            log.warning("CLOCK_OFFSET_FILE is not a number of seconds; no offset applied")
            seconds = 0.0
        if seconds != self._offset.total_seconds():
            log.info("the desk's clock is now %.0f seconds ahead of the machine's", seconds)
        self._offset = timedelta(seconds=seconds)

    def __call__(self) -> datetime:
        return machine_clock() + self.offset


def desk_clock(offset_file: str) -> Clock:
    """The clock the desk runs on: the machine's unless an offset file is configured."""
    return OffsetClock(Path(offset_file)) if offset_file else machine_clock
