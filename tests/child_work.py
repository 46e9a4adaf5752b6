"""Functions that tests run in child processes (`policy_engine.isolation`); children import this module,
so it stays free of pytest and hypothesis."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence
from typing import Any

from policy_engine import Decision, Engine
from policy_engine._language.model import Policy


def decide_generated(
    policies: Sequence[Policy], requests: Sequence[dict[str, Any]], singly: bool = False, proofs: bool = True
) -> tuple[list[Decision], list[Decision]]:
    """Build a network from (generated) policies and decide the requests as one batch and, with `singly`,
    each alone too. Raises CompileError as the engine would."""
    engine = Engine(policies, cache=False)  # generated networks are not met again: nothing to keep
    try:
        batch = engine.decide_many(requests, proofs=proofs)
        return batch, [engine.decide(r, proofs=proofs) for r in requests] if singly else []
    finally:
        engine.close()


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
