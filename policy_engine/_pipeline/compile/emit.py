"""Emit: one DNF alternative of a rule becomes one durable_rules rule (plain JSON): a pattern per root fact
with its literal tests and joins, a pattern per list element, derived conclusion or negated fact, and a
stratum trigger first when the rule negates something; `RuleCompiler` records what each rule reads
(the fact plan).
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from typing import Any

from ..._language.model import AsOf, Compare, Count, Derived, FieldRef, Literal, Some, condition_json
from ..._language.operators import operator
from ..._language.vocab import LISTS, field_type
from ...errors import Problem
from ..facts import DERIVED_TYPE, ROOT_ALIAS, date_key, fact_key, level_key, typed_key
from .limits import closing_join, is_closing_join, join_alias
from .network import Atom
from .normal_form import ALWAYS, Lit, Unsupported, json_text

__all__ = ["MAX_SEQUENCE", "TRIGGER_GROUP", "RuleCompiler", "close_joins", "compile_alternative"]

MAX_SEQUENCE = 32  # entries of one pattern's expression sequence (and tests per `$or`)
TRIGGER_GROUP = 200  # rules per stratum trigger fact (and per copy of a derived fact), under MAX_SHARED
ROOT_ORDER = ["request", "seller", "product"]


def _seq(op: str, items: list[Any]) -> Any:
    """`$and`/`$or` of items: one `$and`, keeping at most one `$or` in it, last; an `$or` of more than
    MAX_SEQUENCE items nested in groups."""
    flat: list[Any] = []
    for item in items:
        if isinstance(item, dict) and len(item) == 1 and op in item:
            flat.extend(item[op])
        else:
            flat.append(item)
    items = flat
    if op == "$and":
        ors = [i for i in items if isinstance(i, dict) and len(i) == 1 and "$or" in i]
        if ors:
            # durable_rules ignores every test that follows an `$or` inside an `$and`: keep one `$or`, last,
            # distributing the others into its branches.
            plain = [i for i in items if not (isinstance(i, dict) and len(i) == 1 and "$or" in i)]
            first, rest = ors[0]["$or"], ors[1:]
            branches = [_seq("$and", [b, *rest]) if rest else b for b in first]
            last = {"$or": branches} if len(branches) > 1 else branches[0]
            if not plain:
                return last
            items = [*plain, last]
            return {"$and": items} if len(items) > 1 else items[0]
    if len(items) == 1:
        return items[0]
    if op == "$and":
        # one flat `$and` whatever its length (durable_rules limits the joins of a pattern, not its tests):
        # a nested sequence would end the engine's evaluation of the joins that follow it
        return {op: items}
    while len(items) > MAX_SEQUENCE:
        items = [
            {op: items[i : i + MAX_SEQUENCE]} if len(items[i : i + MAX_SEQUENCE]) > 1 else items[i]
            for i in range(0, len(items), MAX_SEQUENCE)
        ]
    return {op: items}


# Operators that hold for a value of another kind than the operand's (present, and so not equal to any of
# them): the typed property the test reads is missing then, as it is when the field is.
_OTHER_KINDS_HOLD = ("not_equals", "not_in")


def close_joins(expr: Any) -> Any:
    """The pattern with every `$and` whose expression sequence would end with a join closed by a join that
    always holds, right after it: stopping at a false join, durable_rules skips one entry too many and
    would read past the sequence's end (`limits.sequence_fault`). An `$or` holds no join."""
    if not (isinstance(expr, dict) and len(expr) == 1 and "$and" in expr):
        return expr
    items = list(expr["$and"])
    last, alias = -1, None  # the last entry of the sequence, and the alias it joins to if it is a join
    for n, part in enumerate(items):
        if isinstance(part, dict) and len(part) == 1 and ("$and" in part or "$or" in part):
            items[n] = close_joins(part)
            last, alias = n, None
        else:
            joined = join_alias(part)
            if joined is not None:
                last, alias = n, (None if is_closing_join(part) else joined)
    if alias is not None:
        items.insert(last + 1, closing_join(alias))
    return {"$and": items}


def _under_literal(key: str, category: str) -> Any:
    parts = category.split("/")
    chain = [{level_key(key, i): "/".join(parts[: i + 1])} for i in range(len(parts))]
    return _seq("$and", chain)


class RuleCompiler:
    def __init__(self, platform: str, plan: dict[str, Any], problems: list[Problem]) -> None:
        self.platform = platform
        self.plan = plan
        self.problems = problems
        self.group_counts: dict[str, int] = defaultdict(int)

    def group_for(self, name: str) -> int:
        """The copy of a derived fact the next rule pattern on it reads (about TRIGGER_GROUP rules each)."""
        self.group_counts[name] += 1
        return (self.group_counts[name] - 1) // TRIGGER_GROUP

    def use(self, owner: str, key: str, category: bool = False) -> None:
        self.plan["keys"][owner].add(key)
        if category:
            self.plan["categories"].add((owner, key))

    def literal_test(self, op: str, key: str, value: Any, negated: bool) -> Any:
        values = value if isinstance(value, tuple) else (value,)
        nex = {"$nex": {key: 1}}
        if op == "exists":
            present = bool(value) != negated
            return {"$ex": {key: 1}} if present else nex
        if op in ("in", "not_in"):
            pos = _seq("$or", [{key: v} for v in values])
            neg = _seq("$and", [{"$neq": {key: v}} for v in values])
            inside = op == "in"
            if not negated:
                return pos if inside else _seq("$and", [{"$ex": {key: 1}}, neg])
            return _seq("$or", [nex, neg]) if inside else _seq("$or", [nex, pos])
        if op == "under":
            if not negated:
                return _seq("$or", [_under_literal(key, v) for v in values])
            # category levels are always present (padded), so "not under" needs no "or missing" branch
            return _seq("$and", [{"$neq": {level_key(key, v.count("/")): v}} for v in values])
        if op == "includes":
            if not negated:
                return _seq("$or", [{"$iany": {key: {"$i": v}}} for v in values])
            return _seq("$or", [nex, _seq("$and", [{"$iall": {key: {"$neq": {"$i": v}}}} for v in values])])
        (v,) = values
        spec = operator(op)
        if negated:
            if spec.negation is None:
                raise Unsupported(f"`{op}` cannot be negated here; negate a derived conclusion instead")
            return _seq("$or", [self.literal_test(spec.negation, key, v, False), nex])
        if spec.durable is None:
            raise Unsupported(f"`{op}` has no durable_rules test for one value")
        return {key: v} if spec.durable == "" else {spec.durable: {key: v}}

    def computed(self, owner: str, key: str, op: str, value: Any) -> str:
        """The fact property holding the result of `op value` on `key`, worked out while the facts are built
        (for operators the engine cannot evaluate as Python does)."""
        table = self.plan["computed"]
        text = json.dumps([owner, key, op, value], sort_keys=True)
        if text not in table:
            table[text] = (owner, f"{key}__{op}{len(table)}", key, op, value)
        return str(table[text][1])

    def compare_tests(
        self, cond: Compare, negated: bool, depth: int | None, item: str | None, order: list[str]
    ) -> tuple[list[Any], list[Any], dict[str, list[Any]], str]:
        """(alpha tests, join tests, alpha guards for other facts, owner of the pattern that gets the tests)."""

        def owner_of(path: str) -> str:
            root = path.split(".")[0]
            return item if root == "item" and item else root

        owner, key = owner_of(cond.path), fact_key(cond.path)
        operand: Any = cond.operand
        if isinstance(operand, FieldRef) and operand.path == "request.platform":
            operand = Literal(self.platform)
        present = None  # the property that holds the field's value whatever its kind, when a test needs it
        if (
            (item is None or not cond.path.startswith("item"))
            and field_type(cond.path) == "scalar"
            and cond.op != "exists"
            and isinstance(operand, Literal)
        ):
            # Values of any kind: the fact holds one property per kind, so "220" never compares with 110.
            first = operand.value[0] if isinstance(operand.value, tuple) else operand.value
            if cond.op in _OTHER_KINDS_HOLD:  # a value of another kind is present, and differs
                present = key
                self.use(owner, present)
            key = typed_key(key, first)
        if not isinstance(operand, (FieldRef, AsOf)) and operator(cond.op).network == "fact":
            assert isinstance(operand, Literal)
            key = self.computed(owner, key, cond.op, operand.value)
            self.use(owner, key)
            return [self.literal_test("equals", key, True, negated)], [], {}, owner
        if not isinstance(operand, (FieldRef, AsOf)):
            self.use(owner, key, category=cond.op == "under")
            value = operand.value if operand is not None else True
            if present is None:
                literal = self.literal_test(cond.op, key, value, negated)
            elif not negated:  # a value of another kind is present and equals none of the values: it holds
                other_kind = {"$and": [{"$ex": {present: 1}}, {"$nex": {key: 1}}]}
                literal = _seq("$or", [self.literal_test(cond.op, key, value, False), other_kind])
            else:  # negated, it holds only when the field is missing, or equals one of the values
                equal = self.literal_test("in" if cond.op == "not_in" else "equals", key, value, False)
                literal = _seq("$or", [{"$nex": {present: 1}}, equal])
            return [literal], [], {}, owner
        assert not negated
        if isinstance(operand, AsOf):
            other, other_key = "request", date_key(operand)
            self.plan["shifts"].add(operand)
        else:
            other, other_key = owner_of(operand.path), fact_key(operand.path)
        mirrored = order.index(other) > order.index(owner)
        here, here_key, there, there_key = (
            (other, other_key, owner, key) if mirrored else (owner, key, other, other_key)
        )
        ref_alias = ROOT_ALIAS[there]
        guards: dict[str, list[Any]] = defaultdict(list)
        alpha: list[Any] = [{"$ex": {here_key: 1}}]
        if (there, there_key) not in ALWAYS and not (there == "request" and there_key.startswith("as_of")):
            if there == here:
                alpha.append({"$ex": {there_key: 1}})
            else:
                guards[there].append({"$ex": {there_key: 1}})
        self.use(here, here_key)
        self.use(there, there_key)
        if cond.op == "under":
            assert depth is not None
            # the descendant is `owner` (cond.path); the ancestor sits at `depth`
            desc, desc_key, anc, anc_key = owner, key, other, other_key
            self.use(desc, desc_key, category=True)
            self.use(anc, anc_key, category=True)
            depth_test = {anc_key + "__d": depth}
            if anc == here:
                alpha.append(depth_test)
                join = {anc_key: {ROOT_ALIAS[desc]: level_key(desc_key, depth)}}
            else:
                guards[anc].append(depth_test)
                join = {level_key(desc_key, depth): {ROOT_ALIAS[anc]: anc_key}}
            return alpha, [join], guards, here
        spec = operator(cond.op)
        if mirrored:
            if spec.mirror is None:
                raise Unsupported(f"`{cond.op}` cannot compare these two fields in this order", cond.pointer)
            spec = operator(spec.mirror)
        if spec.durable is None:
            raise Unsupported(f"`{cond.op}` compares with values or named data, not with another field", cond.pointer)
        ref: dict[str, str] = {"$m": there_key} if here == there else {ref_alias: there_key}
        test: dict[str, Any] = {here_key: ref} if spec.durable == "" else {spec.durable: {here_key: ref}}
        return alpha, [test], guards, here


def compile_alternative(
    rc: RuleCompiler, alternative: list[Lit], stratum: int
) -> tuple[list[dict[str, Any]], list[Atom], bool]:
    root_tests: dict[str, list[Any]] = defaultdict(list)
    root_joins: dict[str, list[Any]] = defaultdict(list)
    needed: set[str] = set()
    extra: list[tuple[str, Any, bool]] = []  # (alias, expr, negated) for item, derived and negated patterns
    atoms: list[Atom] = []
    counter = itertools.count()
    order = list(ROOT_ORDER)
    needs_trigger = False

    for cond, negated, detail in alternative:
        if isinstance(cond, Compare):
            alpha, root_join, guards, here = rc.compare_tests(cond, negated, detail, None, order)
            root_tests[here].extend(alpha)
            root_joins[here].extend(root_join)
            for other, tests in guards.items():
                root_tests[other].extend(tests)
                needed.add(other)
            for j_test in root_join:  # the fact joined to, even when no test guards it (a field always present)
                needed.update(_refs(j_test))
            needed.add(here)
            atoms.append(Atom(cond, negated, ROOT_ALIAS[cond.path.split(".")[0]]))
        elif isinstance(cond, Count):
            key = "n__" + LISTS[cond.list_path].key
            owner = cond.list_path.split(".")[0]
            if cond.merge:  # counted while the facts are built, elements close in date counted once
                merged = rc.plan["merged"]
                where = [condition_json(c, resolved=True) for c in cond.where]  # named data as its value
                text = json.dumps([*where, list(cond.merge)], sort_keys=True)
                key = merged.setdefault((cond.list_path, text), (f"{key}__g{len(merged)}", cond.where, cond.merge))[0]
            elif cond.where:  # counted while the facts are built (durable_rules cannot aggregate)
                filters = rc.plan["filtered"]
                text = json_text([condition_json(c, resolved=True) for c in cond.where])  # as for `merge`
                key = filters.setdefault((cond.list_path, text), (f"{key}__w{len(filters)}", cond.where))[0]
            elif cond.distinct:  # distinct main categories, also counted while the facts are built
                distinct = rc.plan["distinct"]
                key = distinct.setdefault((cond.list_path, cond.including or ""), f"{key}__m{len(distinct)}")
            rc.use(owner, key)
            op = str(operator(cond.op).negation) if negated else cond.op
            root_tests[owner].append(rc.literal_test(op, key, cond.value, False))
            needed.add(owner)
            atoms.append(Atom(cond, negated, ROOT_ALIAS[owner]))
        elif isinstance(cond, Some) and not (isinstance(detail, tuple) and detail[:1] == ("shared",)):
            spec = LISTS[cond.list_path]
            rc.use(cond.list_path, "i")
            item_order = [*order, cond.list_path]
            alphas: list[Any] = []
            joins: list[Any] = []
            for lit, lit_neg, depth in detail:
                a, j, guards, here = rc.compare_tests(lit, lit_neg, depth, cond.list_path, item_order)
                if here != cond.list_path:
                    raise Unsupported("inside `some`, every comparison must involve an element field", lit.pointer)
                alphas.extend(a)
                joins.extend(j)
                for other, tests in guards.items():
                    if negated and any("$ex" not in t for t in tests):
                        raise Unsupported(
                            "inside a negated `some`, `under` may not compare with a request "
                            "category as the ancestor; negate a derived conclusion instead",
                            lit.pointer,
                        )
                    root_tests[other].extend(tests)
                    needed.add(other)
                for j_test in j:
                    needed.update(_refs(j_test))
            alias = f"x{next(counter)}"
            sorted_alpha = sorted(alphas, key=json_text) if len(alphas) > 1 else alphas
            expr = _seq("$and", [{"t": spec.fact_type}, *sorted_alpha, *joins])
            if joins:
                expr = close_joins(expr)
            extra.append((alias + ("$not" if negated else ""), expr, negated))
            if not any(a.condition is cond and a.negated for a in atoms) or not negated:
                atoms.append(Atom(cond, negated, alias))
            needs_trigger |= negated
        elif isinstance(cond, Some) and isinstance(detail, tuple) and detail[:1] == ("shared",):
            # a `some` many rules share, derived once by an internal rule (joins are not shared by the engine)
            name = detail[1]
            alias = f"d{next(counter)}"
            expr = {"$and": [{"t": DERIVED_TYPE}, {"n": name}, {"g": rc.group_for(name)}]}
            extra.append((alias + ("$not" if negated else ""), expr, negated))
            if not negated or not any(a.condition is cond and a.negated for a in atoms):
                atoms.append(Atom(cond, negated, "@" + name))
            needs_trigger |= negated
        elif isinstance(cond, Derived):
            alias = f"d{next(counter)}"
            expr = {"$and": [{"t": DERIVED_TYPE}, {"n": cond.name}, {"g": rc.group_for(cond.name)}]}
            extra.append((alias + ("$not" if negated else ""), expr, negated))
            atoms.append(Atom(cond, negated, alias))
            needs_trigger |= negated
        else:  # pragma: no cover - dnf leaves only atoms
            raise Unsupported(f"unexpected condition {cond!r}")
    body: list[dict[str, Any]] = []
    positives = any(not neg for _, _, neg in extra)
    if not needed and not positives and not root_tests:
        needed.add("request")
    for root in ROOT_ORDER:
        if root not in needed and root not in root_tests and root not in root_joins:
            continue
        alias = ROOT_ALIAS[root]
        rc.use(root, "t")
        tests = root_tests[root]
        if len(tests) > 1:  # each test once, in the order of their texts
            unique = {json_text(t): t for t in tests}
            tests = [unique[k] for k in sorted(unique)]
        parts: list[Any] = [{"t": root}, *tests, *root_joins[root]]
        body.append({alias: close_joins(_seq("$and", parts)) if root_joins[root] else _seq("$and", parts)})
    ordered = [e for e in extra if not e[2]] + [e for e in extra if e[2]]
    for alias, expr, _negated in ordered:
        body.append({alias: expr})
    return body, atoms, needs_trigger


def _refs(join: Any) -> set[str]:
    """Root facts a join test refers to."""
    found: set[str] = set()
    if isinstance(join, dict):
        for _k, v in join.items():
            if isinstance(v, dict):
                for alias in v:
                    for root, a in ROOT_ALIAS.items():
                        if alias == a:
                            found.add(root)
                found |= _refs(v)
    return found
