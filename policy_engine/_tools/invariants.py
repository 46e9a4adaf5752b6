"""Invariants: promises a platform's policies keep, written by analysts as data and checked with requests
generated from the policies.

`policies/<platform>/invariants.json` (schema `schemas/invariants.json`) holds invariants of two kinds:

* `never`: for every request that meets `when` (policy conditions; default every request), on any
  date, the decision is never one of these outcomes ("a closed account is never allowed").
* `versions_of`: between each two consecutive versions of a policy, no decision becomes more
  permissive for requests that meet `when`, except those that meet `except_when`. The two sides differ
  only in that policy: the same request is decided on the new version's first day with the new
  version, and with the old version in its place.

Conditions are the policy language's; `derived` conditions read the conclusions the decision derived.
A violation comes with a minimal request (hypothesis shrinks it), the decisions and their proofs, and
can be written out as an analyst test case.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from .._language import schemas
from .._language.model import AllOf, Compare, Condition, Count, Literal, Policy
from .._language.operators import operator, satisfying
from .._language.reference import holds
from .._pipeline.check import _TypeChecker
from .._pipeline.explain import render_text
from .._pipeline.load import _Parser, path_list, read_json, unique_paths
from .._pipeline.request import normalize_request
from ..decision import SEVERITY, Decision
from ..engine import Engine
from ..errors import LoadError, RequestError

__all__ = ["Invariant", "InvariantSet", "Violation", "check_invariants", "discover_invariants", "load_invariants"]

FILE_NAME = "invariants.json"


@attrs.frozen(kw_only=True)
class Invariant:
    id: str
    description: str
    pointer: str
    when: tuple[Condition, ...] = ()
    never: tuple[str, ...] = ()
    versions_of: str | None = None
    except_when: tuple[Condition, ...] = ()


@attrs.frozen(kw_only=True)
class InvariantSet:
    file: str
    platform: str
    invariants: tuple[Invariant, ...]


def discover_invariants(paths: Iterable[str | Path]) -> list[Path]:
    """Every `invariants.json` under the given policy folders (sorted)."""
    found: list[Path] = []
    for root in path_list(paths):
        if root.is_file() and root.name == FILE_NAME:
            found.append(root)
        elif root.is_dir():
            found.extend(p for p in root.rglob(FILE_NAME) if "tests" not in p.relative_to(root).parts)
    return sorted(unique_paths(found))  # a file reached twice (a folder and one inside it) is checked once


def load_invariants(path: str | Path) -> InvariantSet:
    """An invariants file, validated against its schema and the request vocabulary; LoadError if not."""
    file = str(path)
    doc, problems = read_json(Path(path))
    if not problems:
        problems = schemas.validate("invariants", doc, file)
    if problems:
        raise LoadError(problems, what="invariants")
    parser = _Parser({"data": doc.get("data", {})}, file)
    shell = Policy(
        id=f"{doc['platform']}.invariants",
        version="0",
        platform=doc["platform"],
        effective_from=dt.date.min,
        effective_until=None,
        title="invariants",
        description="",
        sources=(),
        data={},
        rules=(),
        default_outcome=None,
        file=file,
        digest="",
    )
    checker = _TypeChecker(shell, derivable=_AnyName())
    invariants: list[Invariant] = []
    seen: set[str] = set()
    for i, raw in enumerate(doc["invariants"]):
        pointer = f"/invariants/{i}"
        if raw["id"] in seen:
            parser.problem(pointer + "/id", f"invariant {raw['id']!r} is defined twice in this file", code="PE026")
        seen.add(raw["id"])

        def conds(key: str, raw: dict[str, Any] = raw, pointer: str = pointer) -> tuple[Condition, ...]:
            out = tuple(parser.condition(c, f"{pointer}/{key}/{n}") for n, c in enumerate(raw.get(key, ())))
            for c in out:
                checker.condition(c)
            return out

        invariants.append(
            Invariant(
                id=raw["id"],
                description=raw["description"],
                pointer=pointer,
                when=conds("when"),
                never=tuple(raw.get("never", ())),
                versions_of=raw.get("versions_of"),
                except_when=conds("except_when"),
            )
        )
    problems = parser.problems + checker.problems
    if problems:
        raise LoadError(problems, what="invariants")
    return InvariantSet(file=file, platform=doc["platform"], invariants=tuple(invariants))


class _AnyName(set[str]):
    """Invariants may name any conclusion: they read what the decision derived."""

    def __contains__(self, item: object) -> bool:
        return True


@attrs.frozen(kw_only=True)
class Violation:
    """An invariant broken by a (minimal) request, with the decisions that break it."""

    file: str
    invariant: Invariant
    request: dict[str, Any]
    decisions: tuple[tuple[str, Decision], ...]  # (label, decision)
    message: str

    def describe(self, lang: str = "en") -> str:
        lines = [
            f"{self.file}:{self.invariant.pointer}: invariant {self.invariant.id!r} does not hold: {self.message}",
            f"  {self.invariant.description}",
            "  request: " + json.dumps(self.request, ensure_ascii=False, sort_keys=True),
        ]
        for label, decision in self.decisions:
            lines.append(f"  -- {label}:")
            lines += ["    " + line for line in render_text(decision, lang, proofs=True).splitlines()]
        return "\n".join(lines)

    def to_case(self) -> dict[str, Any]:
        """An analyst test case that fails until the invariant holds for this request again."""
        allowed = [o for o in ("deny", "review", "allow") if o not in self.invariant.never]
        if self.invariant.versions_of is not None:
            old = self.decisions[0][1].outcome
            allowed = [o for o in ("deny", "review", "allow") if SEVERITY[o] >= SEVERITY[old]]
        return {
            "name": f"invariant-{self.invariant.id}",
            "description": f"{self.invariant.description} (a counterexample of the invariant: {self.message})",
            "request": self.request,
            "expect": {"outcome_not": [o for o in ("allow", "review", "deny") if o not in allowed]},
        }


def _holds_all(conds: Sequence[Condition], req: dict[str, Any], decision: Decision) -> bool:
    return holds(AllOf(tuple(conds)), req, set(decision.derived)) if conds else True


def _never(engine: Engine, inv: Invariant, raw: dict[str, Any]) -> tuple[str, tuple[tuple[str, Decision], ...]] | None:
    try:
        decision = engine.decide(raw, proofs=False)  # the proofs only for a violation (decided again below)
    except RequestError:  # a request aimed at the invariant that is not valid (or no policy in force)
        return None
    req = normalize_request(raw).body
    if decision.outcome in inv.never and _holds_all(inv.when, req, decision):
        decision = engine.decide(raw)
        return f"decided {decision.outcome} on {decision.as_of}", (("decision", decision),)
    return None


@attrs.frozen
class _VersionPair:
    """The same policies on the new version's first day, with the new version and with the old one."""

    day: dt.date
    old: Engine
    new: Engine
    label: str


def _version_pairs(engine: Engine, platform: str, policy_id: str) -> list[_VersionPair]:
    versions = sorted((p for p in engine.policies if p.id == policy_id), key=lambda p: p.effective_from)
    pairs = []
    for before, after in itertools.pairwise(versions):
        day = after.effective_from
        others = [p for p in engine.policies if p.platform in (platform, "*") and p.id != policy_id]
        moved = attrs.evolve(before, effective_from=day, effective_until=after.effective_until)
        pairs.append(
            _VersionPair(
                day,
                Engine([*others, moved]),
                Engine([*others, after]),
                f"{policy_id} {before.version} -> {after.version} on {day}",
            )
        )
    return pairs


def _loosened(
    pair: _VersionPair, inv: Invariant, raw: dict[str, Any]
) -> tuple[str, tuple[tuple[str, Decision], ...]] | None:
    raw = {**raw, "as_of": pair.day.isoformat()}
    try:
        old, new = pair.old.decide(raw, proofs=False), pair.new.decide(raw, proofs=False)
    except RequestError:
        return None
    if SEVERITY[new.outcome] >= SEVERITY[old.outcome]:
        return None
    req = normalize_request(raw).body
    if not _holds_all(inv.when, req, new) or (inv.except_when and _holds_all(inv.except_when, req, new)):
        return None
    old, new = pair.old.decide(raw), pair.new.decide(raw)  # with their proofs, for the report
    return (
        f"{pair.label}: {old.outcome} became {new.outcome}",
        ((f"old version ({pair.label})", old), (f"new version ({pair.label})", new)),
    )


def check_invariants(
    engine: Engine, invariants: InvariantSet, *, max_examples: int = 200, seed: int | None = 0
) -> list[Violation]:
    """Each invariant checked with `max_examples` requests generated from the engine's policies.

    Returns one violation (with a shrunk request) per invariant that does not hold. `seed` makes the
    search reproducible (None: random).
    """
    found: list[Violation] = []
    for inv in invariants.invariants:
        pairs = _version_pairs(engine, invariants.platform, inv.versions_of) if inv.versions_of else []
        try:
            violation = _search(engine, invariants, inv, pairs, max_examples, seed)
        finally:
            for pair in pairs:
                pair.old.close()
                pair.new.close()
        if violation is not None:
            found.append(violation)
    return found


def _aimed(requests: Any, inv: Invariant) -> Any:
    """Requests from the policies, half of them changed to meet the invariant's `when` where it says how.

    A policy that stopped mentioning a value (the change that broke the invariant) would otherwise never
    make the generator produce it: the invariant's own conditions name the values to try.
    """
    from hypothesis import strategies as st

    @st.composite
    def aimed(draw: Any) -> dict[str, Any]:
        raw: dict[str, Any] = draw(requests)
        if not inv.when or not draw(st.booleans()):
            return raw
        raw = json.loads(json.dumps(raw))
        for cond in inv.when:
            if isinstance(cond, Count) and cond.op == "equals" and not cond.where:
                root, key = cond.list_path.split(".")
                raw.setdefault(root, {})[key] = [] if cond.value == 0 else raw.get(root, {}).get(key, [])
            if not isinstance(cond, Compare) or not isinstance(cond.operand, Literal):
                continue
            values = cond.operand.value if isinstance(cond.operand.value, tuple) else (cond.operand.value,)
            if operator(cond.op).member_op and values and not cond.path.startswith(("item.", "request.")):
                value = satisfying(cond.op, draw(st.sampled_from(values)))
                *parents, last = cond.path.split(".")
                target = raw
                for part in parents:
                    target = target.setdefault(part, {})
                    if not isinstance(target, dict):
                        break
                else:
                    target[last] = value
        return raw

    return aimed()


def _property(
    engine: Engine, invariants: InvariantSet, inv: Invariant, pair: _VersionPair | None, last: list[Violation]
) -> Any:
    """The property one invariant states, over one request; each violation is recorded in `last`."""

    def prop(raw: dict[str, Any]) -> None:
        hit = _loosened(pair, inv, raw) if pair is not None else _never(engine, inv, raw)
        if hit is None:
            return
        request = normalize_request(raw if pair is None else {**raw, "as_of": pair.day.isoformat()}).body
        last.append(Violation(file=invariants.file, invariant=inv, request=request, decisions=hit[1], message=hit[0]))
        raise AssertionError(hit[0])

    return prop


def _search(
    engine: Engine,
    invariants: InvariantSet,
    inv: Invariant,
    pairs: list[_VersionPair],
    max_examples: int,
    seed: int | None,
) -> Violation | None:
    """The shrunk violation of one invariant, or None when `max_examples` requests found none."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st

    from ..testing import policy_requests

    checks: list[tuple[_VersionPair | None, Engine]] = [(p, p.new) for p in pairs] if inv.versions_of else []
    if not inv.versions_of:
        checks = [(None, engine)]
    for pair, source in checks:
        last: list[Violation] = []

        prop = _property(engine, invariants, inv, pair, last)
        if pair is None:
            base = policy_requests(source, platform=invariants.platform)
        else:  # built from the rules that differ between the versions, on both sides
            base = st.one_of(
                policy_requests(pair.old, platform=invariants.platform, as_of=pair.day, against=pair.new),
                policy_requests(pair.new, platform=invariants.platform, as_of=pair.day, against=pair.old),
            )
        strategy = _aimed(base, inv)
        decorate: Any = given(strategy)
        test: Any = decorate(prop)
        test = settings(
            max_examples=max_examples,
            database=None,
            deadline=None,
            derandomize=seed is not None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate, Phase.shrink],
            print_blob=False,
        )(test)
        if seed is not None:
            test = hypothesis_seed(seed)(test)
        try:
            test()
        except Exception:  # the property failed (hypothesis may wrap it): the last failure is the shrunk one
            if last:
                return last[-1]
            raise
    return None
