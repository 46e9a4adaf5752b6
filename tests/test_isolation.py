"""A child process that dies on a work item costs that item one retry, then an explicit failure."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from child_work import work

from policy_engine.isolation import EngineCrash, EngineFailure, Isolated, run_isolated


def test_crashing_items_are_retried_once_then_reported(tmp_path: Path) -> None:
    token = tmp_path / "once"
    token.touch()
    items = [
        ("square", 2),
        ("kill", None),
        ("square", 3),
        ("kill-once", str(token)),
        ("square", 4),
        ("abort", None),
        ("square", 5),
    ]
    with Isolated() as isolated:
        results = isolated.map(work, items)
        assert results[1] == EngineFailure(
            index=1, error="the engine's process was killed by signal SIGKILL on each of 2 attempts", attempts=2
        )
        assert isinstance(results[5], EngineFailure)
        assert results[5].index == 5 and "SIGABRT" in results[5].error
        values = [r for r in results if not isinstance(r, EngineFailure)]
        assert [v[0] for v in values] == [4, 9, "survived", 16, 25]
        assert not token.exists()  # the kill-once item did die once, and its retry succeeded
        # one child to start with, and one more after each of the five deaths (kill ×2, kill-once, abort ×2)
        assert (isolated.starts, isolated.crashes) == (6, 5)
        assert isolated.deaths == ["was killed by signal SIGKILL"] * 3 + ["was killed by signal SIGABRT"] * 2
        # a child is reused by the items that do not crash it
        assert values[2][1] == values[3][1] != os.getpid()


def test_call_errors_hangs_and_fresh_children() -> None:
    with Isolated(retries=0, timeout=0.5, max_calls=3) as isolated:
        first = isolated.call(work, ("square", 7))
        assert first[0] == 49
        with pytest.raises(ValueError, match="bad item nope"):  # an error of fn is not a crash
            isolated.call(work, ("nope", None))
        assert isolated.call(work, ("square", 8))[1] == first[1]  # same child for three calls
        assert isolated.call(work, ("square", 9))[1] != first[1]  # max_calls: then a fresh one
        with pytest.raises(EngineCrash, match="SIGKILL on each of 1 attempts"):
            isolated.call(work, ("kill", None))
        with pytest.raises(EngineCrash, match="did not answer in time"):  # a hang counts as a crash
            isolated.call(work, ("sleep", 60))
        assert (isolated.starts, isolated.crashes) == (3, 2)  # killed and timed-out children replaced


def test_run_isolated_and_main_module_functions() -> None:
    results = run_isolated(work, [("kill", None), ("square", 6)], retries=0)
    assert isinstance(results[0], EngineFailure) and results[0].attempts == 1
    assert results[1][0] == 36  # type: ignore[index]

    def local(item: Any) -> Any:
        return item

    local.__module__ = "__main__"  # the child never imports the caller's script
    with pytest.raises(TypeError, match="__main__"):
        run_isolated(local, [1])
