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


def decide_reachable(
    policies: Sequence[Policy], requests: Sequence[dict[str, Any]], proofs: bool = True
) -> tuple[list[Decision], list[Decision]]:
    """Each request decided alone on the whole network and by `Engine.decide` on a network of only the
    rules it can reach (built for any number of rules here)."""
    import policy_engine.engine as engine_module

    whole = Engine(policies, cache=False)
    reached = Engine(policies, cache=False)
    saved = engine_module.PARTIAL_RULES, engine_module.PARTIAL_NETWORKS
    engine_module.PARTIAL_RULES, engine_module.PARTIAL_NETWORKS = 0, len(requests) + 1
    try:
        alone = [whole.decide_many([r], proofs=proofs)[0] for r in requests]
        return alone, [reached.decide(r, proofs=proofs) for r in requests]
    finally:
        engine_module.PARTIAL_RULES, engine_module.PARTIAL_NETWORKS = saved
        whole.close()
        reached.close()


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
