"""The cyclic garbage collector paused while large, long-lived structures are built."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["gc_paused"]

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a block builds many objects that stay alive (policies,
    networks, a cache entry): every burst of allocations otherwise starts a collection that walks
    everything built so far, a large part of loading and compiling a large policy in a fresh process.
    Nested and concurrent uses share one pause; the collector is enabled again, if it was on, when the
    last one ends. Reference counting frees memory as usual meanwhile."""
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
                gc.enable()
