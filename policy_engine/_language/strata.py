"""Stratified negation: which conclusions a condition reads (and whether under negation), and the stratum of
every rule, so that everything a rule negates is complete before the rule is tried. A cycle through
negation has no stratification and is a problem.
"""

from __future__ import annotations

from collections import defaultdict, deque
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
    above everything it negates. Rules that derive one another's conclusions in a cycle (a strongly
    connected component of "reads a conclusion of") share one stratum, the highest any of them needs,
    whatever order they are listed in; a cycle with a negative step is a problem.
    """
    derivers: dict[str, list[int]] = defaultdict(list)
    for i, (_, rule) in enumerate(rules):
        if rule.derive:
            derivers[rule.derive].append(i)
    edges = [
        [(j, neg) for name, neg, _node in derived_refs(rule.when) for j in derivers.get(name, ())] for _, rule in rules
    ]
    components = _components(edges)  # every component after the components it reads
    member_of = {i: c for c, members in enumerate(components) for i in members}
    stratum: list[int] = []
    problems: list[Problem] = []
    for c, members in enumerate(components):
        lvl = 0
        negative: list[tuple[int, int]] = []
        for i in members:
            if has_negation(rules[i][1].when):
                lvl = max(lvl, 1)
            for j, neg in edges[i]:
                if member_of[j] != c:
                    lvl = max(lvl, stratum[member_of[j]] + 1 if neg else stratum[member_of[j]])
                elif neg:
                    negative.append((i, j))
        stratum.append(lvl)
        if negative:
            i, j = min(negative)
            pol, rule = rules[i]
            names = " -> ".join(rules[k][1].id for k in [i, *_path(edges, j, i, set(members))])
            problems.append(
                Problem(
                    file=pol.file,
                    pointer=rule.pointer,
                    message=f"cycle through negation: {names}; negation must be stratified",
                    code="PE031",
                )
            )
    return {i: stratum[member_of[i]] for i in range(len(rules))}, problems


def _components(edges: Sequence[Sequence[tuple[int, bool]]]) -> list[list[int]]:
    """The strongly connected components of the graph (Tarjan's algorithm, without recursion: a chain of
    thousands of rules is fine), each listed after every component it has an edge to."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    found: list[list[int]] = []
    for root in range(len(edges)):
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, 0)]
        while work:
            v, k = work[-1]
            if k < len(edges[v]):
                work[-1] = (v, k + 1)
                w = edges[v][k][0]
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, 0))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                u = work[-1][0]
                low[u] = min(low[u], low[v])
            if low[v] == index[v]:
                members: list[int] = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    members.append(w)
                    if w == v:
                        break
                found.append(sorted(members))
    return found


def _path(edges: Sequence[Sequence[tuple[int, bool]]], start: int, goal: int, within: set[int]) -> list[int]:
    """The shortest path of rules from `start` to `goal` inside one component (both ends included)."""
    before: dict[int, int] = {start: start}
    queue = deque([start])
    while queue:
        v = queue.popleft()
        if v == goal:
            break
        for w, _neg in edges[v]:
            if w in within and w not in before:
                before[w] = v
                queue.append(w)
    path = [goal]
    while path[-1] != start:
        path.append(before[path[-1]])
    return path[::-1]
