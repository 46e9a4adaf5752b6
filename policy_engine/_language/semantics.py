"""What each comparison operator means on plain values (each operator's `meaning` in the registry,
`operators`). Shared by the reference evaluator and the proof checker; the compiled network implements
the same meanings with durable_rules tests.

A missing (absent or null) value satisfies no operator except `exists: false`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .operators import is_under, operator

__all__ = ["MISSING", "compare", "is_under", "main_categories", "merged_count"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


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
