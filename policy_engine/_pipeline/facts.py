"""The fact encoding: how a request is laid out as durable_rules facts, shared by the compiler (which writes
rules over these facts) and the fact builder (which writes the facts of each request).

The request becomes one fact per root (`request`, `seller`, `product`; types `request`, `seller`,
`product`) and one per element of each list a rule reads. A field's property is `fact_key(path)`; scalar
fields of any kind hold one property per kind (`typed_key`); category fields carry every level
(`level_key`) padded to CATEGORY_LEVELS with `""`, and their depth; shifted decision dates are properties
of the request fact (`date_key`). The runtime adds facts of its own: derived conclusions
(DERIVED_TYPE), stratum triggers (TRIGGER_TYPE) and the closing SEEN_TYPE fact.
"""

from __future__ import annotations

from typing import Any

import attrs

from .._language.model import AsOf, Condition

__all__ = [
    "CATEGORY_LEVELS",
    "DERIVED_TYPE",
    "INIT_RULE",
    "NEVER_TYPE",
    "ROOT_ALIAS",
    "SEEN_RULE",
    "SEEN_TYPE",
    "TRIGGER_TYPE",
    "FactPlan",
    "date_key",
    "fact_key",
    "level_key",
    "typed_key",
]

CATEGORY_LEVELS = 8

ROOT_ALIAS = {"request": "rq", "seller": "sl", "product": "pr"}
DERIVED_TYPE = "d"
TRIGGER_TYPE = "__s"
INIT_RULE = "__init"
# Every request ends with one fact of type SEEN_TYPE. The SEEN_RULE joins it to a fact type that is never
# asserted, so it never fires but keeps the fact in the network; asserting it a second time must then be
# refused as "already observed", which proves the engine parsed and matched every fact sent before it.
SEEN_TYPE = "__seen"
SEEN_RULE = "__seen"
NEVER_TYPE = "__never"


def fact_key(path: str) -> str:
    """The fact property that holds a request field: `seller.metrics.x` -> `metrics__x`, `item.brand` -> `brand`."""
    root, _, rest = path.partition(".")
    if root == "item" and not rest:
        return "v"
    if rest == "id":
        return "id_"
    return rest.replace(".", "__")


_KIND_SUFFIX = {bool: "__B", int: "__N", float: "__N", str: "__S"}


def typed_key(key: str, value: Any) -> str:
    """The property holding a value of `value`'s kind, for fields whose values may be of any kind."""
    return key + _KIND_SUFFIX[type(value)]


def date_key(shift: AsOf) -> str:
    """The request fact's property holding the decision date shifted by `shift`."""
    return "as_of" if shift == AsOf() else "as_of__" + shift.tag.replace("-", "n")


def level_key(key: str, level: int) -> str:
    """The property holding a category's ancestor at `level` (0: the main category)."""
    return f"{key}__l{level}"


@attrs.frozen
class FactPlan:
    """Which facts and properties the network reads, so the flattener sends nothing else."""

    root_keys: dict[str, frozenset[str]]
    list_keys: dict[str, frozenset[str]]
    category_keys: frozenset[tuple[str, str]]  # (root or list path, key) holding categories
    shifts: tuple[AsOf, ...]
    filtered_counts: tuple[tuple[str, str, tuple[Condition, ...]], ...] = ()  # (key, list, where)
    distinct_counts: tuple[tuple[str, str, str | None], ...] = ()  # (key, list, including): main categories
    # (owner, key, field key, operator, operand): the operator's Python meaning, worked out per fact
    computed: tuple[tuple[str, str, str, str, Any], ...] = ()
    # (key, list, where, (date field, days)): counted elements, those close in date once
    merged_counts: tuple[tuple[str, str, tuple[Condition, ...], tuple[str, int]], ...] = ()
