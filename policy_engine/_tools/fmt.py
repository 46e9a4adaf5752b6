"""One canonical layout for policy JSON: a fixed key order, two-space indentation, short objects and
lists on one line, a final newline. Diffs between versions then show only real changes."""

from __future__ import annotations

import json
from typing import Any

from .._language.operators import COMPARISON_OPS

__all__ = ["format_document"]

WIDTH = 110

_ORDER = [
    # document
    "$schema",
    "id",
    "version",
    "platform",
    "effective_from",
    "effective_until",
    "effective_from_basis",
    "effective_from_note",
    "default_outcome",
    "title",
    "description",
    "sources",
    "data",
    "rules",
    # rule, then source and remedy fields
    "when",
    "derive",
    "outcome",
    "message",
    "remedies",
    "url",
    "document",
    "date",
    "provenance",
    "note",
    "source_refs",
    "code",
    # texts
    "en",
    "zh",
    # conditions
    "field",
    "some",
    "count",
    "derived",
    "not",
    "any",
    "all",
    "where",
    "distinct",
    "including",
    "merge",
    "within_days",
    *COMPARISON_OPS,
    "ref",
    "as_of",
    "years",
    "months",
    "days",
]
_RANK = {k: i for i, k in enumerate(_ORDER)}


def _ordered(value: Any) -> Any:
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (_RANK.get(k, len(_RANK)), k))
        if "data" in value and "rules" in value:  # named data keeps the analyst's order
            return {k: (value[k] if k == "data" else _ordered(value[k])) for k in keys}
        return {k: _ordered(value[k]) for k in keys}
    if isinstance(value, list):
        return [_ordered(v) for v in value]
    return value


def _render(value: Any, indent: int) -> str:
    flat = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    expand = isinstance(value, dict) and ("rules" in value or "when" in value or "sources" in value)
    if not isinstance(value, (dict, list)) or (len(flat) + indent <= WIDTH and not expand) or not value:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, list):
        items = [pad + _render(v, indent + 2) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    items = [f"{pad}{json.dumps(k, ensure_ascii=False)}: {_render(v, indent + 2)}" for k, v in value.items()]
    return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"


def format_document(doc: Any) -> str:
    """The canonical text of a policy document."""
    return _render(_ordered(doc), 0) + "\n"
