"""The garbage collector's settings for the desk's long-running process.

CPython's cyclic collector walks, in a full collection, every object that is
still alive. After start the desk holds a few hundred thousand of them that live
as long as the process (modules, aiogram's and pydantic's models and schemas,
SQLAlchemy's mappings, the texts): each full collection of a burst walked them
all again. On SQLite, where the dialogs' state lives in the process, the
collector took about a quarter of the desk's CPU in ``bench/intake`` (measured
with ``gc.callbacks``: 2.9 s of full collections in a 1,000-customer burst).

So once the process is ready, :func:`settle` collects once and moves what is left
into the permanent generation (``gc.freeze``: those objects are never walked
again; nothing is leaked, they were alive anyway), and makes the youngest
generation larger, so that short-lived objects of an update (its models, dicts,
coroutines) mostly die by reference counting before a collection sees them.
Cycles are still collected; a collection happens every 10,000 net allocations
instead of every 700.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

# Allocations minus deallocations between collections of the youngest generation
# (CPython's default is 700), and how many of those make a collection of the next.
YOUNG = 10_000
MIDDLE = 20
OLD = 20


def settle() -> int:
    """Freeze what the start left alive and widen the young generation; returns the
    number of objects frozen."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, OLD)
    frozen = gc.get_freeze_count()
    log.info("heap settled: %d objects of the start left out of the collector's sweeps", frozen)
    return frozen
