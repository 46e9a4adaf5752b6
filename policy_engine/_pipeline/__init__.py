"""How a policy becomes a decision, one module per stage, in this order:

    load      files → schema-valid `Policy` objects, and the problems of each file    (load.py)
    check     all policies → problems across documents                               (check.py)
    compile   the policies in force for a platform → a durable_rules network         (compile/)
    run       a request → normalized request → facts → what fired     (request.py, facts.py, runtime.py)
    explain   what fired → a `Decision` with reasons, proofs and remedies            (explain.py)

`facts.py` is the fact encoding: the compiler writes rules over it and its `FactBuilder` writes each
request's facts; `cache.py` keeps compiled networks on disk. `load_documents` and `load_texts` run the
first two stages and raise one LoadError listing every problem: nothing is half-loaded.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from .._language.model import Policy
from ..errors import LoadError, Problem
from .cache import CompileCache
from .check import check_policies
from .gcpause import gc_paused
from .load import parse_sources, read_documents, read_sources, read_texts, rebuild

__all__ = ["CheckedPolicies", "checked", "load_documents", "load_texts"]


class CheckedPolicies(list[Policy]):
    """Policies that passed every check as one set, as the loaders return them.

    A list like any other; an Engine built from this very list, unchanged (the same Policy objects in
    the same order), does not repeat the checks across documents. Anything else (a list joined from
    two loads, an edited copy) is checked when an Engine is built from it."""

    __slots__ = ("_checked",)

    def __init__(self, policies: Iterable[Policy] = ()) -> None:
        super().__init__(policies)
        self._checked = tuple(self)  # held, so no object checked can be replaced by another at its address

    def unchanged(self) -> bool:
        """Whether the list holds exactly the policies that were checked, in order."""
        return len(self) == len(self._checked) and all(map(operator.is_, self, self._checked))

    def __reduce__(self) -> tuple[type[list[Policy]], tuple[list[Policy]]]:
        # A copy, or a pickle of any protocol (sent to a worker): unchanged, the same policies checked as a
        # set; changed since, a plain list (checked again when an Engine is built from it).
        return (CheckedPolicies if self.unchanged() else list, (list(self),))


def checked(policies: Iterable[Policy]) -> CheckedPolicies:
    """The policies as one set that passed every check across documents; LoadError listing the problems
    otherwise. Policies the loaders returned, unchanged, are not checked again.

    TypeError for anything but Policy objects (a folder's path: `Engine.from_directory` loads one)."""
    if isinstance(policies, CheckedPolicies) and policies.unchanged():
        return policies
    if isinstance(policies, Policy):
        raise TypeError(f"expected a list of policies; got one Policy, {policies.key}: write Engine([policy])")
    if isinstance(policies, (str, bytes, os.PathLike)):
        raise TypeError(
            "expected the Policy objects load_documents returns; got a path: "
            f"Engine.from_directory({os.fsdecode(policies)!r}) loads a folder"
        )
    try:
        given = list(policies)
    except TypeError:
        raise TypeError(f"expected a list of the Policy objects load_documents returns; got {policies!r:.80}") from None
    for p in given:
        if not isinstance(p, Policy):
            raise TypeError(f"expected the Policy objects load_documents returns; got {type(p).__name__}: {p!r:.80}")
    return _checked(given, [])


def load_documents(paths: Sequence[str | Path], *, cache: CompileCache | str | Path | None = None) -> list[Policy]:
    """Load and check every policy file under `paths`; raise LoadError listing every problem.

    A file in the policy folders that looks like a policy but would not be loaded (a `.JSON` name, a policy
    in a `tests/` folder or named `taxonomy.json`) is a problem too.

    With a `cache` (a folder, or the `CompileCache` of an engine), a set of files that passed every
    check before, byte for byte, with this package and these schemas, is rebuilt without repeating the
    checks (the folders are still searched and every file read); any other set is checked in full, and
    recorded when it passes.
    """
    if cache is not None and not isinstance(cache, CompileCache):
        cache = CompileCache(cache)
    with gc_paused():
        if cache is None or cache.directory is None:
            return _checked(*read_documents(paths))
        sources, problems = read_sources(paths)
        key, parts, digests = cache.checked_sources(sources)
        if digests is not None and not problems:
            policies = rebuild(sources, digests)
            if policies is not None:  # these very files passed every check before
                return CheckedPolicies(policies)
        parsed, more = parse_sources(sources)
        policies = _checked(parsed, [*problems, *more])
        cache.remember_checked(key, parts, policies)
        return policies


def load_texts(texts: dict[str, str]) -> list[Policy]:
    """Load and check policy documents given as text ({file name: JSON text}, e.g. sent to a worker);
    the problems name the given file names. Raise LoadError listing every problem."""
    with gc_paused():
        return _checked(*read_texts(texts))


def _checked(policies: list[Policy], problems: list[Problem]) -> CheckedPolicies:
    # The checks across documents run on every document that parsed, so one run reports the problems of
    # all files.
    problems = [*problems, *check_policies(policies)]
    if problems:
        raise LoadError(problems)
    return CheckedPolicies(policies)
