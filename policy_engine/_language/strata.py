"""Stratified negation: which conclusions a condition reads (and whether under negation), and the stratum of
every rule, so that everything a rule negates is complete before the rule is tried. A cycle through
negation has no stratification and is a problem.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from ..errors import Problem
from .model import AllOf, AnyOf, Compare, Condition, Derived, FieldRef, Not, Policy, Rule, Some

__all__ = ["derived_refs", "has_negation", "stratify"]


def derived_refs(cond: Condition, negated: bool = False) -> Iterator[tuple[str, bool, Derived]]:
    """(name, under negation, node) for every derived conclusion a condition uses."""
    if isinstance(cond, Derived):
        yield cond.name, negated, cond
    elif isinstance(cond, Not):
        yield from derived_refs(cond.condition, not negated)
    elif isinstance(cond, (AnyOf, AllOf)):
        for c in cond.conditions:
            yield from derived_refs(c, negated)


def has_negation(cond: Condition, negated: bool = False) -> bool:
    """Whether the condition negates anything that needs a complete working memory (a list or a conclusion)."""
    if isinstance(cond, Not):
        return has_negation(cond.condition, not negated)
    if isinstance(cond, (AnyOf, AllOf)):
        return any(has_negation(c, negated) for c in cond.conditions)
    if isinstance(cond, (Some, Derived)):
        return negated
    if isinstance(cond, Compare) and negated:
        return isinstance(cond.operand, FieldRef)
    return False


def stratify(rules: Sequence[tuple[Policy, Rule]]) -> tuple[dict[int, int], list[Problem]]:
    """Stratum of every rule (by index) so that negated conclusions are complete before use.

    Stratum 0 rules need no trigger; a rule that negates a list or conclusion sits at least one stratum
    above everything it negates. A cycle through negation is a problem.
    """
    derivers: dict[str, list[int]] = defaultdict(list)
    for i, (_, rule) in enumerate(rules):
        if rule.derive:
            derivers[rule.derive].append(i)
    level: dict[int, int] = {}
    state: dict[int, int] = {}  # 1 visiting, 2 done
    problems: list[Problem] = []

    def visit(i: int, stack: list[tuple[int, bool]]) -> int:
        if state.get(i) == 2:
            return level[i]
        if state.get(i) == 1:
            # A cycle: fine if no step of it is negative.
            cut = next(k for k, (j, _) in enumerate(stack) if j == i)
            if any(neg for _, neg in stack[cut + 1 :]):
                pol, rule = rules[i]
                names = " -> ".join(rules[j][1].id for j, _ in stack[cut:])
                problems.append(
                    Problem(
                        file=pol.file,
                        pointer=rule.pointer,
                        message=f"cycle through negation: {names}; negation must be stratified",
                        code="PE031",
                    )
                )
            return 0
        state[i] = 1
        _, rule = rules[i]
        lvl = 1 if has_negation(rule.when) else 0
        for name, neg, _node in derived_refs(rule.when):
            for j in derivers.get(name, ()):
                sub = visit(j, [*stack, (j, neg)])
                lvl = max(lvl, sub + 1 if neg else sub)
        state[i] = 2
        level[i] = lvl
        return lvl

    for i in range(len(rules)):
        visit(i, [(i, False)])
    return level, problems
