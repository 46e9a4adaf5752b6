"""A small, independent reference evaluator of the policy language.

Naive stratified forward chaining straight over the request dict: no durable_rules, no compilation, no
facts. The property tests check that the compiled network computes exactly this least fixpoint.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import attrs

from .model import (
    AllOf,
    AnyOf,
    AsOf,
    Compare,
    Condition,
    Count,
    Derived,
    FieldRef,
    Literal,
    Not,
    Policy,
    Some,
)
from .semantics import MISSING, Request, compare, main_categories
from .strata import stratify

__all__ = ["ReferenceResult", "evaluate"]

_SEVERITY = {"allow": 0, "review": 1, "deny": 2}


@attrs.frozen
class ReferenceResult:
    outcome: str
    rules: tuple[str, ...]
    advisories: tuple[str, ...]
    derived: tuple[str, ...]


def _value(req: dict[str, Any], path: str, item: Any) -> Any:
    parts = path.split(".")
    if parts[0] == "item":
        value = item
        parts = parts[1:]
    elif parts[0] == "request":
        value = req
        parts = parts[1:]
    else:
        value = req
    for p in parts:
        if not isinstance(value, dict) or p not in value:
            return MISSING
        value = value[p]
    if value is None or (isinstance(value, list) and not value):
        return MISSING
    return tuple(value) if isinstance(value, list) else value


def _operand(req: dict[str, Any], operand: Any, item: Any) -> Any:
    if isinstance(operand, Literal):
        return operand.value
    if isinstance(operand, FieldRef):
        return _value(req, operand.path, item)
    if isinstance(operand, AsOf):
        return operand.iso(dt.date.fromisoformat(req["as_of"]))
    return MISSING


def _merged(elements: list[Any], path: str, days: int) -> int:
    """Elements counted once per group of dates: each element opens a group unless its date falls less
    than `days` days after the date that opened the latest group; an element without a date is a group."""
    dates: list[dt.date] = []
    groups = 0
    for e in elements:
        value = _value({}, path, e)
        if isinstance(value, str):
            try:
                dates.append(dt.date.fromisoformat(value))
                continue
            except ValueError:
                pass
        groups += 1
    opened: list[dt.date] = []
    for d in sorted(dates):
        if not opened or (d - opened[-1]).days >= days:
            opened.append(d)
    return groups + len(opened)


def holds(cond: Condition, req: dict[str, Any], derived: set[str], item: Any = None) -> bool:
    """Whether a condition holds for the request, given the conclusions derived so far."""
    if isinstance(cond, Compare):
        right = True if cond.op == "exists" and cond.operand is None else _operand(req, cond.operand, item)
        if cond.op == "exists":
            right = cond.operand.value if isinstance(cond.operand, Literal) else True
        return compare(cond.op, _value(req, cond.path, item), right)
    if isinstance(cond, Count):
        root, key = cond.list_path.split(".")
        elements = (req.get(root) or {}).get(key) or ()
        if cond.distinct:
            also = _value(req, cond.including, None) if cond.including else None
            return compare(cond.op, len(main_categories(elements, also)), cond.value)
        counted = [e for e in elements if all(holds(c, req, derived, e) for c in cond.where)]
        if cond.merge:
            return compare(cond.op, _merged(counted, *cond.merge), cond.value)
        return compare(cond.op, len(counted), cond.value)
    if isinstance(cond, Some):
        root, key = cond.list_path.split(".")
        return any(
            all(holds(c, req, derived, element) for c in cond.where) for element in (req.get(root) or {}).get(key) or ()
        )
    if isinstance(cond, Derived):
        return cond.name in derived
    if isinstance(cond, Not):
        return not holds(cond.condition, req, derived, item)
    if isinstance(cond, AnyOf):
        return any(holds(c, req, derived, item) for c in cond.conditions)
    assert isinstance(cond, AllOf)
    return all(holds(c, req, derived, item) for c in cond.conditions)


def evaluate(policies: Sequence[Policy], request: Request, default_outcome: str = "allow") -> ReferenceResult:
    """Outcome, deciding rules, advisories and derived conclusions of a (normalised) request.

    It reads the request's body with its own path reader (not the pipeline's `lookup`): a second opinion
    shares as little as it can with what it checks."""
    req = request.body
    pairs = [(p, r) for p in policies for r in p.rules]
    levels, problems = stratify(pairs)
    if problems:
        raise ValueError(str(problems[0]))
    derived: set[str] = set()
    for level in sorted(set(levels.values()) | {0}):
        layer = [(p, r) for i, (p, r) in enumerate(pairs) if levels[i] == level and r.derive]
        changed = True
        while changed:
            changed = False
            for _, rule in layer:
                if rule.derive not in derived and holds(rule.when, req, derived):
                    derived.add(rule.derive)  # type: ignore[arg-type]
                    changed = True
    fired = [(p, r) for p, r in pairs if r.outcome and holds(r.when, req, derived)]
    decisive = [(p, r) for p, r in fired if r.outcome != "advisory"]
    outcome = max((str(r.outcome) for _, r in decisive), key=_SEVERITY.__getitem__, default=default_outcome)
    return ReferenceResult(
        outcome=outcome,
        rules=tuple(sorted(p.cite(r) for p, r in decisive if r.outcome == outcome)),
        advisories=tuple(sorted(p.cite(r) for p, r in fired if r.outcome == "advisory")),
        derived=tuple(sorted(derived)),
    )
