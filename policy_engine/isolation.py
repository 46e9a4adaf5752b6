"""Crash containment for tools that build many networks: run the work in a child process.

The engine's C code has memory-safety defects (see docs/design.md): a process that compiles thousands
of networks can end in a segmentation fault, at a point unrelated to the network it was building. Tools
that do that (property tests, fuzzers, replays over many policy versions) run each work item through an
`Isolated` child process: the child is reused from item to item, restarted when it dies, the item it
was running is tried once more on the fresh child, and if that child dies too the item's result is an
`EngineFailure` (or `EngineCrash` is raised, for `call`). Never a silent allow, never a lost item.

```python
from policy_engine.isolation import EngineFailure, run_isolated

results = run_isolated(check_one, items)        # check_one(item) runs in the child
failed = [r for r in results if isinstance(r, EngineFailure)]
```

`fn` must be importable by the child (a function defined at module level in an importable module, not in
the script being run) and its arguments and result must pickle. An exception `fn` raises is raised again
in the caller, as itself: only a dead child is an engine failure. Embedded `Engine` use is unaffected:
it stays in process, at full speed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import attrs

from ._tools.child import Child, ChildDied
from .errors import PolicyEngineError

__all__ = ["EngineCrash", "EngineFailure", "Isolated", "run_isolated"]

T = TypeVar("T")


@attrs.frozen
class EngineFailure:
    """A work item on which the child process died on every attempt (an engine crash)."""

    index: int
    error: str
    attempts: int


class EngineCrash(PolicyEngineError):
    """`Isolated.call`: the child process died on every attempt at the call."""

    def __init__(self, error: str, attempts: int) -> None:
        self.error = error
        self.attempts = attempts
        super().__init__(f"the engine's process {error} on each of {attempts} attempts")


class Isolated:
    """A child process that runs work items, restarted after a crash.

    `retries` is how many more times an item is tried after its child died (default once). `timeout`, in
    seconds, kills a child whose item runs longer (an engine hang counts as a crash). `max_calls` starts
    a fresh child after that many items, so damage an item leaves in the engine's heap cannot build up.
    `starts` and `crashes` count child processes started and lost; `deaths` says how each was lost.
    """

    def __init__(self, *, retries: int = 1, timeout: float | None = None, max_calls: int | None = None) -> None:
        if retries < 0:
            raise ValueError("retries must be 0 or more")
        self.retries = retries
        self.timeout = timeout
        self.max_calls = max_calls
        self.starts = 0
        self.crashes = 0
        self.deaths: list[str] = []  # e.g. "was killed by signal SIGSEGV", one per crash
        self._child: Child | None = None
        self._calls = 0

    def __enter__(self) -> Isolated:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the child process (a later call starts a new one)."""
        if self._child is not None:
            self._child.close()
            self._child = None

    @property
    def pid(self) -> int | None:
        """The live child's process id, if one is running."""
        return self._child.pid if self._child is not None else None

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in the child. Raises EngineCrash if the child died on every attempt."""
        if getattr(fn, "__module__", None) == "__main__":
            raise TypeError(
                f"{getattr(fn, '__qualname__', fn)!r} is defined in the script being run (__main__), which the "
                "child process does not import: define it in a module the child can import"
            )
        died: ChildDied | None = None
        for _attempt in range(self.retries + 1):
            if self._child is None:
                self._child = Child()
                self.starts += 1
                self._calls = 0
            child = self._child
            try:
                result: T = child.call(fn, *args, timeout=self.timeout)
            except ChildDied as exc:
                self._child = None
                self.crashes += 1
                self.deaths.append(exc.describe())
                died = exc
                continue
            finally:
                self._calls += 1
                if self.max_calls is not None and self._calls >= self.max_calls:
                    self.close()
            return result
        assert died is not None
        raise EngineCrash(died.describe(), self.retries + 1)

    def map(self, fn: Callable[[Any], T], items: Iterable[Any]) -> list[T | EngineFailure]:
        """`fn(item)` for every item, in order, in the child; an `EngineFailure` for an item on which the
        child died on every attempt. The items after it still run (on a fresh child)."""
        out: list[T | EngineFailure] = []
        for i, item in enumerate(items):
            try:
                out.append(self.call(fn, item))
            except EngineCrash as exc:
                out.append(EngineFailure(index=i, error=str(exc), attempts=exc.attempts))
        return out


def run_isolated(
    fn: Callable[[Any], T],
    items: Iterable[Any],
    *,
    retries: int = 1,
    timeout: float | None = None,
    max_calls: int | None = None,
) -> list[T | EngineFailure]:
    """`fn(item)` for every item in one reused child process (see `Isolated`), in order; an item on which
    the child died on every attempt gives an `EngineFailure` in its place."""
    with Isolated(retries=retries, timeout=timeout, max_calls=max_calls) as isolated:
        return isolated.map(fn, items)
