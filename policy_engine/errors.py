"""One exception hierarchy. Every problem names the file, the JSON pointer and what was expected."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

__all__ = [
    "CompileError",
    "EngineFault",
    "ItemError",
    "LoadError",
    "PolicyEngineError",
    "Problem",
    "RequestError",
    "UnknownPlatformError",
]


def _printable(text: str) -> str:
    """Text that can be printed and encoded anywhere: lone surrogates quoted from input become `\\udXXX`."""
    return text if text.isascii() else text.encode("utf-8", "backslashreplace").decode("utf-8")


@attrs.frozen(order=True)
class Problem:
    """One problem found in a file: where it is and what was expected there."""

    file: str = attrs.field(converter=_printable)
    pointer: str = attrs.field(converter=_printable)
    message: str = attrs.field(converter=_printable)
    code: str = "invalid"

    def __str__(self) -> str:
        where = f"{self.file}:{self.pointer or '/'}" if self.file else (self.pointer or "/")
        return f"{where}: {self.message}"


class PolicyEngineError(Exception):
    """Base class of every error the package raises on purpose."""


class _ProblemsError(PolicyEngineError):
    def __init__(self, problems: Iterable[Problem], summary: str) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        lines = [summary] + [f"  {p}" for p in self.problems]
        super().__init__("\n".join(lines))

    def __reduce__(self) -> tuple[Any, ...]:
        # Every public subclass is built from its problems alone; pickling the message instead would
        # rebuild it with the message's characters as problems (errors cross process boundaries).
        return (type(self), (self.problems,))


class LoadError(_ProblemsError):
    """Policy documents failed validation; nothing was loaded."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        problems = tuple(problems)
        n = len(problems)
        super().__init__(problems, f"{n} problem{'s' if n != 1 else ''} in the policies; nothing was loaded")


class RequestError(_ProblemsError):
    """A request is not valid against the request schema."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        problems = tuple(problems)
        n = len(problems)
        super().__init__(problems, f"{n} problem{'s' if n != 1 else ''} in the request")


class UnknownPlatformError(RequestError):
    """No policy governs the requested platform (never a silent allow)."""


class CompileError(_ProblemsError):
    """The policies in force cannot be compiled into a network the engine can run safely."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        problems = tuple(problems)
        super().__init__(problems, "the policies in force cannot be compiled")


class EngineFault(PolicyEngineError):
    """The rule engine failed while deciding. Decisions turn this into a `deny` (fail closed)."""


@attrs.frozen(kw_only=True)
class ItemError:
    """A request of a batch that could not be decided, in its place: its index and what was wrong with it.

    `Engine.decide_each` returns one of these where `decide_many` would have raised, so one bad request
    never costs the others their decisions. Never an allow: callers must treat it as "not decided".
    """

    index: int
    problems: tuple[Problem, ...]
    kind: str = "request"  # "request" (bad input) | "platform" (no policy in force)

    @property
    def message(self) -> str:
        return "; ".join(str(p) for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "error": self.kind,
            "message": self.message,
            "problems": [{"file": p.file, "pointer": p.pointer, "message": p.message} for p in self.problems],
        }
