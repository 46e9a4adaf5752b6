"""What each comparison operator means on plain values. Shared by the reference evaluator and the
proof checker; the compiled network implements the same table with durable_rules tests.

A missing (absent or null) value satisfies no operator except `exists: false`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = ["MISSING", "compare", "is_under", "main_categories", "merged_count"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

_ORDER = {"less_than", "at_most", "greater_than", "at_least"}


def is_under(category: str, ancestor: str) -> bool:
    """`shoes/sneakers` is under `shoes`, and `shoes` is under itself."""
    return category == ancestor or category.startswith(ancestor + "/")


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


def _same_kind(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return True
    return type(a) is type(b)


def compare(op: str, left: Any, right: Any) -> bool:
    """Evaluate `left op right`; `right` is a scalar, a tuple of scalars, or MISSING."""
    if op == "exists":
        return (left is not MISSING and left is not None) == bool(right)
    if left is MISSING or left is None or right is MISSING or right is None:
        return False
    if op == "equals":
        return _same_kind(left, right) and left == right
    if op == "not_equals":
        return not (_same_kind(left, right) and left == right)
    if op in _ORDER:
        if not _same_kind(left, right) or isinstance(left, bool):
            return False
        if op == "less_than":
            return bool(left < right)
        if op == "at_most":
            return bool(left <= right)
        if op == "greater_than":
            return bool(left > right)
        return bool(left >= right)
    values = right if isinstance(right, tuple) else (right,)
    if op == "in":
        return any(_same_kind(left, v) and left == v for v in values)
    if op == "not_in":
        return not any(_same_kind(left, v) and left == v for v in values)
    if op == "under":
        return isinstance(left, str) and any(isinstance(v, str) and is_under(left, v) for v in values)
    if op == "includes":
        items = left if isinstance(left, (list, tuple)) else ()
        return any(_same_kind(i, v) and i == v for v in values for i in items)
    raise ValueError(f"unknown operator {op!r}")
