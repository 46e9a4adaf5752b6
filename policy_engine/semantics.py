"""What each comparison operator means on plain values (each operator's `meaning` in the registry,
`operators`). Shared by the reference evaluator and the proof checker; the compiled network implements
the same meanings with durable_rules tests.

A missing (absent or null) value satisfies no operator except `exists: false`.
"""

from __future__ import annotations

from typing import Any

from .operators import is_under, operator

__all__ = ["MISSING", "compare", "is_under", "main_categories"]


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
