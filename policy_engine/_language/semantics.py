"""What each comparison operator means on plain values (each operator's `meaning` in the registry,
`operators`), and the request as the pipeline reads it. Shared by the reference evaluator and the proof
checker; the compiled network implements the same meanings with durable_rules tests.

A missing (absent or null) value satisfies no operator except `exists: false`; an empty list is missing too.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

import attrs

from .model import AllOf, AnyOf, AsOf, Compare, Condition, Count, Derived, FieldRef, Literal, Not, Some
from .operators import is_under, operator

__all__ = [
    "MISSING",
    "Request",
    "compare",
    "condition_test",
    "is_under",
    "lookup",
    "main_categories",
    "merged_count",
    "operand_value",
]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@functools.lru_cache(maxsize=4096)
def _split(path: str) -> tuple[str, tuple[str, ...]]:
    root, *rest = path.split(".")
    return root, tuple(rest)


def lookup(body: dict[str, Any], path: str, element: Any = None) -> Any:
    """The JSON value at a policy path (`seller.metrics.refund_rate`, `request.as_of`, `item.mark`), as it is
    in the request: None when the path leads nowhere. `item` is the list element a `some` or `count` visits.

    This is the one reader of request paths: the fact builder, the proofs, the messages and the request
    generator read through it (the reference evaluator keeps its own, being the second opinion).
    """
    root, rest = _split(path)
    value: Any = element if root == "item" else (body if root == "request" else body.get(root))
    for part in rest:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def operand_value(value: Any) -> Any:
    """A request value as operators compare it: MISSING for null or an empty list, a tuple for a list."""
    if value is None or value == []:
        return MISSING
    return tuple(value) if isinstance(value, list) else value


@attrs.frozen(kw_only=True)
class Request:
    """A checked, normalized request: the platform and the decision date, typed, and the JSON body.

    `body` is the request as decided (what a decision carries and its receipt digests): `as_of` in it is
    the same date as ISO text, and `seller.account_status` and the derived fields are filled in. It is
    shared, not copied: read it, never change it. `filled` holds the JSON pointers of the values the
    request did not carry and normalization filled in with their defaults (`/as_of`, today;
    `/seller/account_status`, active).
    """

    platform: str
    as_of: dt.date
    body: dict[str, Any]
    filled: frozenset[str] = frozenset()

    def read(self, path: str, element: Any = None) -> Any:
        """The JSON value at a policy path, None when absent (see `lookup`)."""
        return lookup(self.body, path, element)

    def value(self, path: str, element: Any = None) -> Any:
        """The value at a policy path as operators compare it (see `operand_value`)."""
        return operand_value(lookup(self.body, path, element))

    def with_body(self, body: dict[str, Any]) -> Request:
        """This request's platform and date with another body (a catalog's next product): what
        `Request(platform=..., as_of=..., body=body)` makes, without its call per field."""
        request: Request = _new_request(Request)
        _set_platform(request, self.platform)
        _set_as_of(request, self.as_of)
        _set_body(request, body)
        _set_filled(request, self.filled)
        return request


_new_request = Request.__new__
_set_platform, _set_as_of, _set_body, _set_filled = (
    Request.__dict__[name].__set__ for name in ("platform", "as_of", "body", "filled")
)


def main_categories(values: Any, including: Any = None) -> set[str]:
    """The distinct main categories (first levels) of a list of categories, and of `including` if it is one."""
    cats = [v for v in (values or ()) if isinstance(v, str)]
    if isinstance(including, str):
        cats.append(including)
    return {c.split("/", 1)[0] for c in cats}


def merged_count(dates: Any, days: int) -> int:
    """The number of groups of dates, a group being a date and every later date less than `days` days after it.

    Dates are ISO strings; the earliest date starts a group, which takes in every date before the `days`-th
    day after it (with `days` 3: the day itself and the two days after); the first date after that starts the
    next group. A value that is not a date counts once on its own.
    """
    parsed: list[dt.date] = []
    alone = 0
    for v in dates or ():
        try:
            parsed.append(dt.date.fromisoformat(v))
        except (TypeError, ValueError):
            alone += 1
    groups = 0
    start: dt.date | None = None
    for d in sorted(parsed):
        if start is None or (d - start).days >= days:
            groups, start = groups + 1, d
    return groups + alone


def compare(op: str, left: Any, right: Any) -> bool:
    """Evaluate `left op right`; `right` is a scalar, a tuple of scalars, or MISSING.

    ValueError for a name that is not an operator (see `operators`).
    """
    meaning = operator(op).meaning
    if op == "exists":
        return (left is not MISSING and left is not None) == bool(right)
    if left is MISSING or left is None or right is MISSING or right is None:
        return False
    return meaning(left, right)


Test = Callable[[dict[str, Any], Any, Any], bool]
"""`test(body, derived, item)`: whether a condition holds for a request body, given the conclusions derived so
far (a set of names) and the list element a `some` or `count` visits (None outside one)."""

_TESTS: dict[int, tuple[Condition, Test]] = {}


@functools.lru_cache(maxsize=256)
def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def condition_test(cond: Condition) -> Test:
    """A condition's meaning as a Python function, made once per condition (memoized by identity).

    What the fact builder computes for counts with a `where`, what proofs name as counted, and what the
    request generator tests while it builds requests. The reference evaluator keeps its own reading
    (`reference.holds`); a property test holds the two to the same answers.
    """
    known = _TESTS.get(id(cond))
    if known is not None and known[0] is cond:
        return known[1]
    made = _make_test(cond)
    if len(_TESTS) > 65536:
        _TESTS.clear()
    _TESTS[id(cond)] = (cond, made)  # the condition is kept: its id is not reused meanwhile
    return made


def _make_test(cond: Condition) -> Test:
    if isinstance(cond, Compare):
        path, op, operand = cond.path, cond.op, cond.operand

        def left(body: dict[str, Any], item: Any) -> Any:
            return operand_value(lookup(body, path, item))

        if op == "exists":
            want = operand.value if isinstance(operand, Literal) else True
            return lambda body, derived, item: compare("exists", left(body, item), want)
        if isinstance(operand, Literal):
            value = operand.value
            return lambda body, derived, item: compare(op, left(body, item), value)
        if isinstance(operand, FieldRef):
            other = operand.path
            return lambda body, derived, item: compare(op, left(body, item), operand_value(lookup(body, other, item)))
        if isinstance(operand, AsOf):
            shift = operand
            return lambda body, derived, item: compare(op, left(body, item), shift.iso(_day(body["as_of"])))
        return lambda body, derived, item: False  # no operand: nothing to compare with
    if isinstance(cond, Derived):
        name = cond.name
        return lambda body, derived, item: name in derived
    if isinstance(cond, Not):
        inner = condition_test(cond.condition)
        return lambda body, derived, item: not inner(body, derived, item)
    if isinstance(cond, (AnyOf, AllOf)):
        parts = [condition_test(c) for c in cond.conditions]
        if isinstance(cond, AnyOf):
            return lambda body, derived, item: any(p(body, derived, item) for p in parts)
        return lambda body, derived, item: all(p(body, derived, item) for p in parts)
    assert isinstance(cond, (Some, Count))
    root, key = cond.list_path.split(".")
    where = [condition_test(c) for c in cond.where]

    def elements(body: dict[str, Any]) -> Any:
        return (body.get(root) or {}).get(key) or ()

    def counted(body: dict[str, Any], derived: Any) -> list[Any]:
        return [e for e in elements(body) if all(w(body, derived, e) for w in where)]

    if isinstance(cond, Some):
        return lambda body, derived, item: any(all(w(body, derived, e) for w in where) for e in elements(body))
    op, value = cond.op, cond.value
    if cond.distinct:
        including = cond.including
        return lambda body, derived, item: compare(
            op,
            len(main_categories(elements(body), lookup(body, including) if including else None)),
            value,
        )
    if cond.merge:
        field, days = cond.merge
        return lambda body, derived, item: compare(
            op, merged_count([operand_value(lookup(body, field, e)) for e in counted(body, derived)], days), value
        )
    return lambda body, derived, item: compare(op, len(counted(body, derived)), value)
