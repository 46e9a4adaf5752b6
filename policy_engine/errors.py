"""One exception hierarchy. Every problem names the file, the JSON pointer and what was expected."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, Literal

import attrs

__all__ = [
    "CATALOGUE",
    "CompileError",
    "EngineFault",
    "ItemError",
    "LoadError",
    "PolicyEngineError",
    "Problem",
    "ProblemCode",
    "RequestError",
    "Severity",
    "UnknownPlatformError",
]


def _printable(text: str) -> str:
    """Text that can be printed and encoded anywhere: lone surrogates quoted from input become `\\udXXX`."""
    return text if text.isascii() else text.encode("utf-8", "backslashreplace").decode("utf-8")


Severity = Literal["error", "warning"]
"""An error stops loading (or fails `policy-engine lint`); a warning is reported and changes nothing."""

ProblemCode = Literal[
    "PE001",
    "PE002",
    "PE003",
    "PE004",
    "PE005",
    "PE006",
    "PE010",
    "PE020",
    "PE021",
    "PE022",
    "PE023",
    "PE024",
    "PE025",
    "PE026",
    "PE027",
    "PE028",
    "PE029",
    "PE030",
    "PE031",
    "PE035",
    "PE036",
    "PE037",
    "PE040",
    "PE050",
    "PE060",
    "PE101",
    "PE103",
    "PE104",
    "PE105",
    "PE106",
    "PE107",
    "PE108",
    "PE109",
    "PE110",
    "PE111",
    "PE112",
    "PE113",
]
"""Every code a problem can have; `CATALOGUE` says what each means."""

CATALOGUE: Final[dict[ProblemCode, tuple[Severity, str]]] = {
    # reading files
    "PE001": ("error", "a file or folder cannot be read or written"),
    "PE002": (
        "error",
        "not JSON the engine can read: malformed, a key given twice, a number that is not finite or too long, "
        "a lone surrogate escape",
    ),
    "PE003": ("error", "bytes that are not UTF-8"),
    "PE004": ("error", "objects or lists nested deeper than the limit"),
    "PE005": (
        "error",
        "nothing to work on: no policy files, no requests, no test cases or no decision where some were expected",
    ),
    "PE006": ("error", "a file of the policy folder looks like a policy but would not be loaded"),
    # the form of a document (policy, request, test case, decision)
    "PE010": (
        "error",
        "not the form its JSON Schema describes (a missing, unknown or misspelt field, a value of the wrong type or "
        "form, a condition without exactly one operator), or a value the engine cannot compare exactly",
    ),
    # checks across documents
    "PE020": ("error", "a request field that is not in the vocabulary, or `item` outside `some`"),
    "PE021": ("error", "an operator or literal that does not fit the field's type"),
    "PE022": (
        "error",
        "an operand that does not fit the comparison (another field of another kind, a field inside `some`)",
    ),
    "PE023": ("error", "a value an enumerated field cannot hold"),
    "PE024": ("error", "a reference to nothing: unknown named data, a conclusion no rule derives, a source index"),
    "PE025": (
        "error",
        "a placeholder in a message or remedy that names no request field or named data, or a format that does not fit",
    ),
    "PE026": ("error", "an id used twice: a policy version, a rule, a test case name, an invariant"),
    "PE027": ("error", "`effective_until` not after `effective_from`"),
    "PE028": ("error", "two versions of one policy in force on the same day"),
    "PE029": ("error", "one policy id for several platforms"),
    "PE030": ("error", "documents of one platform disagree on `default_outcome`, or a `*` document sets it"),
    "PE031": ("error", "a cycle through negation: the rules cannot be stratified"),
    # compiling
    "PE035": ("error", "a condition the rule network cannot express (the compiler says what to write instead)"),
    "PE036": ("error", "a policy or rule beyond the rule engine's limits"),
    "PE037": (
        "error",
        "a rule the rule engine would evaluate wrongly (the compiler never writes one; refused, not run)",
    ),
    # deciding
    "PE040": ("error", "no policy governs the request's platform, or none is in force on the decision date"),
    # test cases and the command line
    "PE050": (
        "error",
        "a test case cannot be built: an override that does not apply, a request file without a request",
    ),
    "PE060": ("error", "options that do not combine, a value out of range, or an optional extra that is not installed"),
    # lint
    "PE101": ("error", "a category the platform's taxonomy does not declare"),
    "PE103": ("warning", "versions of one policy leave a gap"),
    "PE104": ("error", "a rule can never fire (its conditions contradict each other)"),
    "PE105": ("warning", "a rule never decides: a rule with a higher outcome fires whenever it does"),
    "PE106": ("warning", "named data that no rule uses"),
    "PE107": ("error", "a message or remedy text that is empty, or not translated"),
    "PE108": ("warning", "a deny or review without remedies"),
    "PE109": ("error", "a rule claims a provenance its cited sources do not have"),
    "PE110": ("warning", "a platform without a taxonomy"),
    "PE111": (
        "warning",
        "a message or remedy writes out a number equal to a named data value instead of `{data.NAME}`",
    ),
    "PE112": ("warning", "the English and Chinese texts of a message or remedy show different numeric named data"),
    "PE113": ("warning", "a rule tests a conclusion that no policy in force with it derives, for some period"),
}
"""Code → (severity, meaning): the one catalogue of problems, listed in docs/language.md (a test keeps it so).

Codes are stable: a code is never reused for another meaning (PE102 is retired)."""


@attrs.frozen(order=True, kw_only=True)
class Problem:
    """One problem found in a file: where it is, its code from `CATALOGUE`, and what was expected there.

    Load, schema, check, compile and request problems and lint findings are all problems; the code's
    severity says whether it stops anything.
    """

    file: str = attrs.field(converter=_printable)
    pointer: str = attrs.field(converter=_printable)
    message: str = attrs.field(converter=_printable)
    code: ProblemCode = attrs.field(validator=attrs.validators.in_(CATALOGUE))

    @property
    def severity(self) -> Severity:
        return CATALOGUE[self.code][0]

    @property
    def where(self) -> str:
        """`file:/pointer` (just the pointer without a file; `/` for the whole document)."""
        return f"{self.file}:{self.pointer or '/'}" if self.file else (self.pointer or "/")

    def __str__(self) -> str:
        return f"{self.where}: {self.severity} {self.code}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {
            "file": self.file,
            "pointer": self.pointer,
            "message": self.message,
            "code": self.code,
            "severity": self.severity,
        }


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
    """Documents failed validation (policies, or `what` they are: test cases, invariants); nothing was loaded."""

    def __init__(self, problems: Iterable[Problem], what: str = "policies") -> None:
        problems = tuple(problems)
        n = len(problems)
        self.what = what
        super().__init__(problems, f"{n} problem{'s' if n != 1 else ''} in the {what}; nothing was loaded")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.problems, self.what))


class RequestError(_ProblemsError):
    """A request is not valid against the request schema.

    Raised by a batch (`Engine.decide_many`, the worker pools), `index` is the bad request's place in it;
    the problems' pointers are within that request."""

    def __init__(self, problems: Iterable[Problem], index: int | None = None) -> None:
        problems = tuple(problems)
        n = len(problems)
        self.index = index
        where = "the request" if index is None else f"the request at index {index} of the batch"
        super().__init__(problems, f"{n} problem{'s' if n != 1 else ''} in {where}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.problems, self.index))


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
    kind: Literal["request", "platform"] = "request"  # bad input | no policy in force

    @property
    def message(self) -> str:
        return located(self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "error": self.kind,
            "message": self.message,
            "problems": [p.to_dict() for p in self.problems],
        }


def located(problems: Iterable[Problem]) -> str:
    """`where: message` of each problem, joined by `; ` (the one-line `message` of JSON outputs)."""
    return "; ".join(f"{p.where}: {p.message}" for p in problems)
