"""Which rules a request can reach: the rules left out of a network that decides only that request.

A rule's conditions are all of its top-level conditions. One that compares the request's own fields
(`{"field": "product.category", "under": "shoes"}`) holds or fails whatever the rules derive, so a rule
with such a comparison failing for a request cannot fire for it: a network without that rule reaches the
same least fixpoint for that request (it derives nothing the request could see, and nothing it negates
could have been derived). A first decision on a policy of thousands of rules, each gated by the product's
category, then compiles the few rules the product's category reaches instead of all of them.

The comparisons are evaluated with the pipeline's meaning of each operator (`semantics.condition_test`,
which the property tests hold to the reference evaluator); one that cannot be evaluated keeps its rule.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..._language.model import AsOf, Compare, FieldRef, Policy
from ..._language.semantics import Test, condition_test, lookup

__all__ = ["Reach"]

_KNOWN = 4096  # requests' gate values remembered, per set of policies


def _root(path: str) -> str:
    return path.partition(".")[0]


class Reach:
    """The rules of a set of policies, with the comparisons of request fields that gate them."""

    def __init__(self, policies: Sequence[Policy]) -> None:
        self.rules = 0
        gates: list[tuple[str, tuple[Test, ...]]] = []
        paths: set[str] = set()
        dated = False
        for policy in policies:
            for rule in policy.rules:
                self.rules += 1
                tests = []
                for cond in rule.when.conditions:
                    if not isinstance(cond, Compare) or _root(cond.path) == "item":
                        continue
                    if isinstance(cond.operand, FieldRef):
                        if _root(cond.operand.path) == "item":
                            continue
                        paths.add(cond.operand.path)
                    dated = dated or isinstance(cond.operand, AsOf)
                    paths.add(cond.path)
                    tests.append(condition_test(cond))
                if tests:
                    gates.append((policy.cite(rule), tuple(tests)))
        self._gates = gates
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
        found = frozenset(citation for citation, tests in self._gates if not all(_holds(t, body) for t in tests))
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
