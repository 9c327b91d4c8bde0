"""Names unique across every process that shares a Redis, without asking the kernel each time.

A uuid4 per name (redis-py's lock tokens, a send's member in the limiter) reads
the kernel's entropy on every update or Bot API call; a random prefix drawn once
per process, then a counter, is as unique and costs a string format.
"""

from __future__ import annotations

import itertools
import uuid


class UniqueNames:
    def __init__(self) -> None:
        self._process = uuid.uuid4().hex
        self._count = itertools.count()

    def next(self) -> str:
        return f"{self._process}:{next(self._count)}"
