"""The cyclic garbage collector paused while large, long-lived structures are built."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["PROMOTE_ABOVE", "gc_paused"]

_lock = threading.Lock()
_depth = 0
_was_enabled = False

PROMOTE_ABOVE = 10_000
"""Objects left in the youngest generation by a pause above which they are promoted without a walk."""


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a block builds many objects that stay alive (policies,
    networks, a cache entry, a batch's decisions): every burst of allocations otherwise starts a collection
    that walks everything built so far, a large part of loading and compiling a large policy in a fresh
    process. Nested and concurrent uses share one pause; the collector is enabled again, if it was on, when
    the last one ends. Reference counting frees memory as usual meanwhile.

    What the pause leaves in the youngest generation (more than `PROMOTE_ABOVE` objects: a batch's
    decisions, a loaded policy) would be walked whole by the first collection after it, which finds them
    alive and moves them on (a tenth of a catalog batch's time). They are moved to the oldest generation
    at once instead (`gc.freeze` then `gc.unfreeze`, neither of which walks them); decisions and policies
    hold no reference cycles and are freed by reference counting, and any cyclic garbage made meanwhile is
    collected by the next full collection. Not done when the process keeps objects frozen itself
    (`gc.get_freeze_count()`: a server that froze its heap before forking keeps it frozen)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                if gc.get_count()[0] > PROMOTE_ABOVE and gc.get_freeze_count() == 0:
                    gc.freeze()
                    gc.unfreeze()
                gc.enable()
