"""Which rules a request can reach: the rules left out of a network that decides only that request.

A rule's conditions are all of its top-level conditions. One that compares the request's own fields
(`{"field": "product.category", "under": "shoes"}`) holds or fails whatever the rules derive, so a rule
with such a comparison failing for a request cannot fire for it: a network without that rule reaches the
same least fixpoint for that request (it derives nothing the request could see, and nothing it negates
could have been derived). A first decision on a policy of thousands of rules, each gated by the product's
category, then compiles the few rules the product's category reaches instead of all of them.

The comparisons are evaluated with the pipeline's meaning of each operator (`semantics.condition_test`,
which the property tests hold to the reference evaluator); one that cannot be evaluated keeps its rule.
`under` a text (a category gate) is looked up instead: a category is under exactly itself and its
prefixes that end before a `/` (`operators.is_under`), so the gates that hold are those naming one of
them, found in an index of the gates' texts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..._language.model import AsOf, Compare, FieldRef, Literal, Policy
from ..._language.semantics import Test, condition_test, lookup, operand_value

__all__ = ["Reach"]

_KNOWN = 4096  # requests' gate values remembered, per set of policies


def _root(path: str) -> str:
    return path.partition(".")[0]


def _ancestors(category: str) -> list[str]:
    """Every text `category` is `under` (`is_under`): itself, and each prefix that ends before a `/`."""
    parts = category.split("/")
    return ["/".join(parts[:k]) for k in range(1, len(parts) + 1)]


class Reach:
    """The rules of a set of policies, with the comparisons of request fields that gate them.

    A comparison `under` a text or texts (a category gate, the common case) is looked up in an index of
    the texts by the request's value and its ancestors; any other comparison is evaluated."""

    def __init__(self, policies: Sequence[Policy]) -> None:
        self.rules = 0
        # (citation, `under` gates it needs, other comparisons it needs), for every rule with a gate
        self._gated: list[tuple[str, tuple[int, ...], tuple[Test, ...]]] = []
        self._under: dict[str, dict[str, list[int]]] = {}  # path -> text -> the `under` gates naming it
        paths: set[str] = set()
        dated = False
        gates = 0
        for policy in policies:
            for rule in policy.rules:
                self.rules += 1
                indexed: list[int] = []
                tests: list[Test] = []
                for cond in rule.when.conditions:
                    if not isinstance(cond, Compare) or _root(cond.path) == "item":
                        continue
                    operand = cond.operand
                    if isinstance(operand, FieldRef):
                        if _root(operand.path) == "item":
                            continue
                        paths.add(operand.path)
                    dated = dated or isinstance(operand, AsOf)
                    paths.add(cond.path)
                    if cond.op == "under" and isinstance(operand, Literal):
                        texts = operand.value if isinstance(operand.value, tuple) else (operand.value,)
                        by_text = self._under.setdefault(cond.path, {})
                        for text in texts:
                            if isinstance(text, str):  # `under` ignores anything else
                                by_text.setdefault(text, []).append(gates)
                        indexed.append(gates)
                        gates += 1
                    else:
                        tests.append(condition_test(cond))
                if indexed or tests:
                    self._gated.append((policy.cite(rule), tuple(indexed), tuple(tests)))
        self._paths = tuple(sorted(paths | ({"as_of"} if dated else set())))
        self._known: dict[str, frozenset[str]] = {}

    def unreachable(self, body: dict[str, Any]) -> frozenset[str]:
        """Citations of the rules that cannot fire for this (normalized) request body: a comparison of
        its own fields among their conditions fails."""
        try:  # the values the gates read decide the answer: requests that agree on them share it
            key: str | None = json.dumps([lookup(body, path) for path in self._paths], sort_keys=True)
        except (TypeError, ValueError):
            key = None
        if key is not None:
            known = self._known.get(key)
            if known is not None:
                return known
        held: set[int] = set()  # the `under` gates that hold
        for path, by_text in self._under.items():
            value = operand_value(lookup(body, path))
            if isinstance(value, str):  # as `under` reads it
                for ancestor in _ancestors(value):
                    held.update(by_text.get(ancestor, ()))
        found = frozenset(
            citation
            for citation, indexed, tests in self._gated
            if not (all(g in held for g in indexed) and all(_holds(t, body) for t in tests))
        )
        if key is not None:
            if len(self._known) >= _KNOWN:
                self._known.clear()
            self._known[key] = found
        return found


def _holds(test: Test, body: dict[str, Any]) -> bool:
    try:
        return test(body, frozenset(), None)
    except Exception:  # a comparison that cannot be evaluated here keeps its rule in the network
        return True
