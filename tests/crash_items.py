"""Work items for the isolation tests, run in child processes (kept free of pytest: children import it)."""

from __future__ import annotations

import os
import signal
import time
from typing import Any


def work(item: tuple[str, Any]) -> Any:
    """Square a number, or die in the way the item asks; answers carry the child's process id."""
    kind, arg = item
    if kind == "square":
        return (arg * arg, os.getpid())
    if kind == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "abort":
        os.abort()
    if kind == "kill-once":  # dies only the first time (the file is the token)
        try:
            os.unlink(arg)
        except FileNotFoundError:
            return ("survived", os.getpid())
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "sleep":
        time.sleep(arg)
        return ("woke", os.getpid())
    raise ValueError(f"bad item {kind}")
