"""Analyst test suites: test cases next to the policies, run against the engine, with coverage.

A test case (`schemas/testcase.json`) is a request, or a request file plus JSON-pointer overrides, and
the decision analysts expect: the outcome (or that no policy is in force), and optionally the deciding
rules, advisories, remedy codes and derived conclusions. A file holds one case, or a table of cases: a
base request and `cases`, each merged into the base (RFC 7386 JSON merge patch) with its expectation.
Cases live in `tests/` folders beside the policies (`policies/<platform>/tests/*.json`).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import attrs

from .._language import schemas
from .._language.model import AllOf, AnyOf, Compare, Condition, Count, Literal, Not, Policy, Rule, Some
from .._language.operators import operator
from .._language.reference import holds
from .._language.semantics import compare, lookup
from .._pipeline.explain import render_text
from .._pipeline.load import json_pointer, path_list, read_json, unique_paths
from ..decision import Decision
from ..engine import Engine
from ..errors import LoadError, PolicyEngineError, Problem, RequestError, UnknownPlatformError

__all__ = [
    "REQUESTS_FOLDER",
    "Case",
    "CaseResult",
    "Coverage",
    "discover_cases",
    "load_case",
    "load_cases",
    "measure_coverage",
    "merge_patch",
    "run_cases",
]


@attrs.frozen
class Case:
    """One test case, with its request resolved (request file read, merge and overrides applied).

    `pointer` is the JSON pointer of the case in its file: `""` for a file of one case, `/cases/3` for the
    fourth case of a table."""

    file: str
    name: str
    description: str
    request: dict[str, Any] = attrs.field(eq=False)
    expect: dict[str, Any] = attrs.field(eq=False)
    as_of: dt.date | None = None
    pointer: str = ""

    @property
    def where(self) -> str:
        """The file, and the case's pointer in it for a case of a table: `tests/t.json:/cases/3`."""
        return f"{self.file}:{self.pointer}" if self.pointer else self.file


@attrs.frozen
class CaseResult:
    case: Case
    passed: bool
    differences: tuple[str, ...]
    decision: Decision | None = attrs.field(eq=False)
    seconds: float = 0.0


REQUESTS_FOLDER = "requests"
"""A folder of a `tests/` folder that holds request files for the cases (`request_file`), not cases."""


def _is_case_file(f: Path, root: Path) -> bool:
    parts = f.relative_to(root).parts[:-1]
    if root.name == "tests":
        parts = ("tests", *parts)
    if "tests" not in parts:
        return False
    return REQUESTS_FOLDER not in parts[parts.index("tests") + 1 :]


def discover_cases(paths: Iterable[str | Path]) -> list[Path]:
    """Test case files: JSON files in `tests/` folders under the given folders (not in a `requests/`
    folder of a `tests/` folder, which holds request files), or the given files."""
    found: list[Path] = []
    for p in path_list(paths):
        if p.is_dir():
            found.extend(f for f in sorted(p.rglob("*.json")) if _is_case_file(f, p))
        elif p.suffix == ".json":
            found.append(p)
    return sorted(unique_paths(found))  # a case reached twice (a folder and one inside it) runs once


def merge_patch(target: Any, patch: Any) -> Any:
    """`patch` merged into `target` as an RFC 7386 JSON merge patch, as a new value that shares nothing with
    either: objects merge key by key, a `null` removes the key, any other value (a list too) replaces the
    target."""
    return _merge_into(copy.deepcopy(target), patch)


def _merge_into(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = target if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge_into(out.get(key), value)
    return out


def _set_pointer(doc: dict[str, Any], pointer: str, value: Any) -> None:
    """Set the value at a JSON pointer in the request; ValueError saying what is wrong if it does not apply.

    Every step but the last must exist (an override changes a request, it does not invent its shape: use
    `merge` to add objects); the last step is a member of an object (set or added), an index of a list
    (replaced) or `-` (appended)."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]
    target: Any = doc
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        if isinstance(target, list):
            if last and part == "-":
                target.append(value)
                return
            if not (part.isdigit() and (part == "0" or part[0] != "0") and int(part) < len(target)):
                expected = f"an index from 0 to {len(target) - 1}" if target else "none (the list is empty)"
                raise ValueError(
                    f"{json_pointer(parts[:n])} has no element {part!r}; expected {expected}, or - to append"
                )
            if last:
                target[int(part)] = value
                return
            target = target[int(part)]
        elif isinstance(target, dict):
            if last:
                target[part] = value
                return
            if part not in target:
                members = ", ".join(sorted(target)) or "none"
                raise ValueError(
                    f"{json_pointer(parts[:n]) or '/'} has no member {part!r}; expected one of its members "
                    f"({members}), or a `merge` to add it"
                )
            target = target[part]
        else:
            raise ValueError(f"{json_pointer(parts[:n])} is {json.dumps(target)}, not an object or a list")


def _tests_folder(path: Path) -> Path | None:
    """The `tests/` folder that holds a case file (the platform's), if any."""
    return next((p for p in path.resolve().parents if p.name == "tests"), None)


def _read_request(path: Path, name: str, pointer: str) -> dict[str, Any]:
    """The request file `name` of the case file `path`: relative to the case's folder, or else to the
    platform's `tests/` folder."""
    candidates = [path.parent / name]
    tests = _tests_folder(path)
    if tests is not None:
        candidates.append(tests / name)
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        tried = " or ".join(str(c) for c in dict.fromkeys(candidates))
        raise LoadError(
            [
                Problem(
                    file=str(path),
                    pointer=pointer,
                    message=f"no request file {name!r}; looked for {tried}",
                    code="PE001",
                )
            ]
        )
    request, problems = read_json(found.resolve())
    if problems:
        raise LoadError(
            [Problem(file=str(path), pointer=pointer, message=f"{p.where}: {p.message}", code=p.code) for p in problems]
        )
    if not isinstance(request, dict):
        raise LoadError(
            [
                Problem(
                    file=str(path),
                    pointer=pointer,
                    message=f"{found} holds no JSON object; expected a request",
                    code="PE050",
                )
            ]
        )
    return request


def _apply_overrides(request: dict[str, Any], overrides: dict[str, Any], file: str, pointer: str) -> None:
    for ptr, value in overrides.items():
        try:
            _set_pointer(request, ptr, value)
        except ValueError as exc:
            where = pointer + json_pointer([ptr])  # the override's own member
            raise LoadError(
                [Problem(file=file, pointer=where, message=f"cannot apply {ptr!r} to the request: {exc}", code="PE050")]
            ) from None


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def load_cases(path: Path) -> list[Case]:
    """Read and validate a test case file: one case, or a table of cases sharing a base request (LoadError
    with the file and the JSON pointer of the case when it is not valid)."""
    try:
        return _load_cases(path)
    except LoadError as exc:
        raise LoadError(exc.problems, what="test cases") from None


def _load_cases(path: Path) -> list[Case]:
    doc, problems = read_json(path)
    if not problems and not schemas.fast_checker("testcase")(doc):  # the schema's problems, when there are any
        problems = schemas.validate("testcase", doc, str(path))
    if problems:
        raise LoadError(problems)
    file = str(path)
    if "request" in doc:
        base = copy.deepcopy(doc["request"])
    else:
        base = _read_request(path, doc["request_file"], "/request_file")
    _apply_overrides(base, doc.get("overrides", {}), file, "/overrides")
    if "cases" not in doc:
        return [Case(file, doc["name"], doc.get("description", ""), base, doc["expect"], _date(doc.get("as_of")))]
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(doc["cases"]):
        pointer = f"/cases/{i}"
        if row["name"] in seen:
            message = (
                f"the case name {row['name']!r} is also the name of /cases/{seen[row['name']]}; expected each once"
            )
            raise LoadError([Problem(file=file, pointer=f"{pointer}/name", message=message, code="PE026")])
        seen[row["name"]] = i
        request = merge_patch(base, row["merge"]) if "merge" in row else copy.deepcopy(base)
        _apply_overrides(request, row.get("overrides", {}), file, f"{pointer}/overrides")
        as_of = _date(row.get("as_of") or doc.get("as_of"))
        cases.append(Case(file, row["name"], row.get("description", ""), request, row["expect"], as_of, pointer))
    return cases


def load_case(path: Path) -> Case:
    """Read and validate a file of one test case (LoadError with file and JSON pointer when it is not
    valid, or when the file is a table of several cases: read those with `load_cases`)."""
    cases = load_cases(path)
    if len(cases) != 1 or cases[0].pointer:
        raise LoadError(
            [
                Problem(
                    file=str(path),
                    pointer="/cases",
                    message="a table of cases; expected one case (use load_cases)",
                    code="PE060",
                )
            ]
        )
    return cases[0]


def _compare(expect: dict[str, Any], decision: Decision) -> list[str]:
    diffs = []
    if "outcome" in expect and expect["outcome"] != decision.outcome:
        diffs.append(f"outcome: expected {expect['outcome']}, got {decision.outcome}")
    if decision.outcome in expect.get("outcome_not", ()):
        diffs.append(f"outcome: expected anything but {' or '.join(expect['outcome_not'])}, got {decision.outcome}")
    got_lists = {
        "rules": set(decision.rules),
        "advisories": {a.rule for a in decision.advisories},
        "remedies": {r.code for r in decision.remedies},
        "derived": set(decision.derived),
    }
    for key, got in got_lists.items():
        if key not in expect:
            continue
        want = set(expect[key])
        for item in sorted(want - got):
            diffs.append(f"{key}: expected {item}, missing")
        for item in sorted(got - want):
            diffs.append(f"{key}: got {item}, not expected")
    if decision.error:
        diffs.append(f"engine error: {decision.error}")
    return diffs


def run_case(engine: Engine, case: Case) -> CaseResult:
    """Decide one case and compare with what it expects."""
    start = time.perf_counter()
    try:
        decision = engine.decide(case.request, as_of=case.as_of)
    except UnknownPlatformError as exc:
        passed = case.expect.get("error") == "no-policy"
        refused: tuple[str, ...] = () if passed else (f"no policy is in force: {exc.problems[0].message}",)
        return CaseResult(case, passed, refused, None, time.perf_counter() - start)
    except RequestError as exc:
        invalid = tuple(f"invalid request: {p.pointer or '/'}: {p.message}" for p in exc.problems)
        return CaseResult(case, False, invalid, None, time.perf_counter() - start)
    if "error" in case.expect:
        diffs_list = [f"expected no policy in force, got a decision: {decision.outcome}"]
    else:
        diffs_list = _compare(case.expect, decision)
    return CaseResult(case, not diffs_list, tuple(diffs_list), decision, time.perf_counter() - start)


def run_cases(engine: Engine, cases: Sequence[Case]) -> list[CaseResult]:
    return [run_case(engine, c) for c in cases]


def report_failure(result: CaseResult, lang: str = "en") -> str:
    """A readable account of a failed case: expected against actual, then the decision with proofs."""
    lines = [f"FAIL {result.case.where}: {result.case.name}"]
    if result.case.description:
        lines.append(f"  {result.case.description}")
    lines += [f"  - {d}" for d in result.differences]
    if result.decision is not None:
        lines.append("  decision:")
        lines += ["    " + line for line in render_text(result.decision, lang).splitlines()]
    return "\n".join(lines)


def junit_xml(results: Sequence[CaseResult]) -> str:
    """JUnit XML for CI systems."""
    suite = ElementTree.Element(
        "testsuite",
        name="policy-engine",
        tests=str(len(results)),
        failures=str(sum(not r.passed for r in results)),
        time=f"{sum(r.seconds for r in results):.3f}",
    )
    for r in results:
        case = ElementTree.SubElement(
            suite,
            "testcase",
            classname=Path(r.case.file).parent.parent.name,
            name=r.case.name,
            file=r.case.file,
            time=f"{r.seconds:.3f}",
        )
        if not r.passed:
            failure = ElementTree.SubElement(case, "failure", message="; ".join(r.differences)[:500])
            failure.text = report_failure(r)
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True)


# -- coverage in policy terms -------------------------------------------------------------------------


@attrs.frozen
class Item:
    """One thing coverage counts: a rule, a condition, a date boundary, a named-set member."""

    kind: str  # "rule" | "condition" | "boundary" | "member"
    policy: str
    file: str
    pointer: str
    label: str


@attrs.frozen
class Coverage:
    items: tuple[Item, ...]
    covered: frozenset[Item]

    def percent(self, kind: str | None = None, policy: str | None = None) -> float:
        chosen = [i for i in self.items if (kind is None or i.kind == kind) and (policy is None or i.policy == policy)]
        return 100.0 if not chosen else 100.0 * sum(i in self.covered for i in chosen) / len(chosen)

    def missing(self) -> list[Item]:
        return [i for i in self.items if i not in self.covered]

    def report(self) -> str:
        kinds = ("rule", "condition", "boundary", "member")
        heads = {
            "rule": "rules decisive",
            "condition": "conditions true+false",
            "boundary": "date boundaries",
            "member": "set members matched",
        }
        lines = ["| policy | " + " | ".join(heads[k] for k in kinds) + " |", "|---" * (len(kinds) + 1) + "|"]

        def cell(kind: str, policy: str | None) -> str:
            chosen = [i for i in self.items if i.kind == kind and (policy is None or i.policy == policy)]
            if not chosen:
                return "-"
            got = sum(i in self.covered for i in chosen)
            return f"{100.0 * got / len(chosen):.0f}% ({got}/{len(chosen)})"

        for policy in sorted({i.policy for i in self.items}):
            lines.append(f"| {policy} | " + " | ".join(cell(k, policy) for k in kinds) + " |")
        lines.append("| **total** | " + " | ".join(cell(k, None) for k in kinds) + " |")
        lines.append(f"\ncoverage: {self.percent():.1f}% of {len(self.items)} items")
        missing = self.missing()
        if missing:
            lines.append("never exercised:")
            lines += [f"  {i.kind:9} {i.file}:{i.pointer}  {i.label}" for i in missing]
        return "\n".join(lines)


def _conditions(cond: Condition) -> Iterable[Condition]:
    yield cond
    if isinstance(cond, Not):
        yield from _conditions(cond.condition)
    elif isinstance(cond, (AnyOf, AllOf)):
        for c in cond.conditions:
            yield from _conditions(c)


def _rule_items(policy: Policy, rule: Rule) -> list[Item]:
    items = [Item("rule", policy.key, policy.file, rule.pointer, policy.cite(rule))]
    for top in rule.when.conditions:
        for cond in _conditions(top):
            items.append(Item("condition", policy.key, policy.file, cond.pointer, policy.cite(rule)))
    return items


def _members(policy: Policy) -> list[tuple[Item, str | None, str, tuple[str, Any]]]:
    """(item, list path or None, field path, (op, member)) for each member of named data a rule uses."""
    out: list[tuple[Item, str | None, str, tuple[str, Any]]] = []
    for rule in policy.rules:
        for top in rule.when.conditions:
            for cond, list_path in _all_compares(top, None):
                operand = cond.operand
                member_op = operator(cond.op).member_op
                if not (isinstance(operand, Literal) and operand.ref and member_op is not None):
                    continue
                values = operand.value if isinstance(operand.value, tuple) else (operand.value,)
                for k, v in enumerate(values):
                    pointer = f"/data/{operand.ref}/{k}" if isinstance(operand.value, tuple) else f"/data/{operand.ref}"
                    item = Item("member", policy.key, policy.file, pointer, f"{operand.ref}: {v}")
                    # every use counts: a member is matched if any condition that uses it matched it
                    out.append((item, list_path, cond.path, (member_op, v)))
    return out


def _all_compares(cond: Condition, list_path: str | None) -> Iterable[tuple[Compare, str | None]]:
    if isinstance(cond, Compare):
        yield cond, list_path
    elif isinstance(cond, Not):
        yield from _all_compares(cond.condition, list_path)
    elif isinstance(cond, (AnyOf, AllOf)):
        for c in cond.conditions:
            yield from _all_compares(c, list_path)
    elif isinstance(cond, (Some, Count)):
        for c in cond.where:
            yield from _all_compares(c, cond.list_path)


def _values(request: dict[str, Any], list_path: str | None, path: str) -> list[Any]:
    if list_path is None or not path.startswith("item"):
        return [lookup(request, path)]
    out = []
    for element in lookup(request, list_path) or ():
        if path == "item":
            out.append(element)
        elif isinstance(element, dict):
            out.append(element.get(path[5:]))
    return out


def measure_coverage(engine: Engine, results: Sequence[CaseResult]) -> Coverage:
    """What the cases exercised, in policy terms: rules that decided, conditions seen both true and false,
    effective-date boundaries tested on the day before and the day of, named-set members matched.

    Only the policies of the platforms the cases ask about count (and the policies for every platform)."""
    items: list[Item] = []
    covered: set[Item] = set()
    seen_values: dict[Item, set[bool]] = defaultdict(set)
    days_by_platform: dict[str, set[str]] = defaultdict(set)
    member_hits: list[tuple[Item, str | None, str, tuple[str, Any]]] = []
    tested = {r.case.request.get("platform") for r in results}
    policies = [p for p in engine.policies if p.platform in tested or p.platform == "*"]
    for policy in policies:
        for rule in policy.rules:
            items.extend(_rule_items(policy, rule))
        member_hits.extend(_members(policy))
    items.extend(dict.fromkeys(m[0] for m in member_hits))
    decided: set[str] = set()
    for r in results:
        req = r.case.request
        platform = req.get("platform", "")
        day = (r.case.as_of.isoformat() if r.case.as_of else req.get("as_of")) or ""
        days_by_platform[platform].add(day)
        if r.decision is None:
            continue
        d = r.decision
        decided.update(d.rules)
        decided.update(a.rule for a in d.advisories)
        decided.update(rule for _, rule in d.derivations)
        if d.request is None:
            continue
        derived = set(d.derived)
        for policy in (p for p in policies if p.key in {f"{x.id}@{x.version}" for x in d.policies}):
            for rule in policy.rules:
                for top in rule.when.conditions:
                    for cond in _conditions(top):
                        item = Item("condition", policy.key, policy.file, cond.pointer, policy.cite(rule))
                        seen_values[item].add(holds(cond, d.request, derived))
            for item, list_path, path, (op, value) in (m for m in member_hits if m[0].policy == policy.key):
                if any(v is not None and compare(op, v, value) for v in _values(d.request, list_path, path)):
                    covered.add(item)
    for item in items:
        if item.kind == "rule" and item.label in decided:
            covered.add(item)
        if item.kind == "condition" and seen_values.get(item) == {True, False}:
            covered.add(item)
    for policy in policies:
        platforms = sorted(engine.platforms) if policy.platform == "*" else [policy.platform]
        for field, day in (("effective_from", policy.effective_from), ("effective_until", policy.effective_until)):
            if day is None:
                continue
            before = (day - dt.timedelta(days=1)).isoformat()
            item = Item("boundary", policy.key, policy.file, f"/{field}", f"{before} and {day.isoformat()}")
            items.append(item)
            if any({before, day.isoformat()} <= days_by_platform[p] for p in platforms):
                covered.add(item)
    return Coverage(tuple(items), frozenset(covered))


def cases_from(paths: Sequence[str | Path]) -> tuple[list[Case], list[Problem]]:
    cases: list[Case] = []
    problems: list[Problem] = []
    for f in discover_cases(paths):
        try:
            cases.extend(load_cases(f))
        except PolicyEngineError as exc:
            problems.extend(
                getattr(exc, "problems", ()) or [Problem(file=str(f), pointer="", message=str(exc), code="PE050")]
            )
    return cases, problems
