"""Compile stage: the documents in force for one platform become one durable_rules ruleset (plain JSON).

Every durable rule is named `policy@version#rule/k` (k numbers the alternatives of a rule with `any`), so
a firing maps straight back to the policy rule. Conditions are put in disjunctive normal form; each
alternative becomes one Rete rule whose patterns join on the request key `q`. Rules that negate a list or
a derived conclusion wait for a stratum trigger fact, asserted only after everything they negate is
complete, which makes negation stratified (the engine itself has no truth maintenance).

The compiler refuses networks durable_rules would hang or crash on (rule count, alpha fan-out, joins per
rule, expressions per sequence) with a CompileError that points at the policy rule.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import attrs

from .check import derived_refs, stratify
from .errors import CompileError, Problem
from .model import AllOf, AnyOf, AsOf, Compare, Condition, Count, Derived, FieldRef, Literal, Not, Policy, Rule, Some
from .vocab import LISTS

__all__ = ["Atom", "Compiled", "FactPlan", "RuleAction", "compile_policies", "fact_key"]

MAX_RULES = 4000  # durable_rules fails at 4097 actions per ruleset
MAX_FANOUT = 256  # durable_rules hangs at 512 alpha children under one node
MAX_PATTERNS = 15  # durable_rules allows 16 facts per rule; one is reserved for the stratum trigger
MAX_SEQUENCE = 32  # expressions per $and/$or sequence
MAX_ALTERNATIVES = 64  # DNF alternatives of one rule
CATEGORY_LEVELS = 8

ROOT_ALIAS = {"request": "rq", "seller": "sl", "product": "pr"}
DERIVED_TYPE = "d"
TRIGGER_TYPE = "__s"
INIT_RULE = "__init"

_MIRROR = {
    "equals": "equals",
    "not_equals": "not_equals",
    "less_than": "greater_than",
    "greater_than": "less_than",
    "at_most": "at_least",
    "at_least": "at_most",
    "in": "equals",
    "not_in": "not_equals",
}
_DURABLE_OP = {"not_equals": "$neq", "less_than": "$lt", "at_most": "$lte", "greater_than": "$gt", "at_least": "$gte"}
_NEGATE = {
    "equals": "not_equals",
    "not_equals": "equals",
    "less_than": "at_least",
    "at_least": "less_than",
    "greater_than": "at_most",
    "at_most": "greater_than",
}


def fact_key(path: str) -> str:
    """The fact property that holds a request field: `seller.metrics.x` -> `metrics__x`, `item.brand` -> `brand`."""
    root, _, rest = path.partition(".")
    if root == "item" and not rest:
        return "v"
    if rest == "id":
        return "id_"
    return rest.replace(".", "__")


def _date_key(shift: AsOf) -> str:
    return "as_of" if shift == AsOf() else "as_of__" + shift.tag.replace("-", "n")


@attrs.frozen
class Atom:
    """One literal of a DNF alternative: the condition, whether it is negated, and the alias it binds."""

    condition: Condition
    negated: bool
    alias: str


@attrs.frozen
class RuleAction:
    """What a firing of one durable rule means."""

    policy: Policy
    rule: Rule
    atoms: tuple[Atom, ...]
    stratum: int
    consumed: bool  # some rule uses the derived conclusion

    @property
    def citation(self) -> str:
        return self.policy.cite(self.rule)


@attrs.frozen
class FactPlan:
    """Which facts and properties the network reads, so the flattener sends nothing else."""

    root_keys: dict[str, frozenset[str]]
    list_keys: dict[str, frozenset[str]]
    category_keys: frozenset[tuple[str, str]]  # (root or list path, key) holding categories
    shifts: tuple[AsOf, ...]
    counts: frozenset[str]


@attrs.frozen
class Compiled:
    """The network for one platform and one set of policy versions in force."""

    platform: str
    policies: tuple[Policy, ...]
    ruleset: dict[str, Any] = attrs.field(eq=False)
    actions: dict[str, RuleAction] = attrs.field(eq=False)
    strata: int
    plan: FactPlan
    default_outcome: str

    def to_json(self) -> str:
        return json.dumps(self.ruleset, ensure_ascii=False, sort_keys=True, indent=1)


def _dnf(cond: Condition, negated: bool = False) -> list[list[tuple[Condition, bool]]]:
    if isinstance(cond, Not):
        return _dnf(cond.condition, not negated)
    if isinstance(cond, (AnyOf, AllOf)):
        parts = [_dnf(c, negated) for c in cond.conditions]
        disjunctive = isinstance(cond, AnyOf) != negated
        if disjunctive:
            return [alt for p in parts for alt in p]
        out: list[list[tuple[Condition, bool]]] = [[]]
        for p in parts:
            out = [a + b for a in out for b in p]
            if len(out) > 4 * MAX_ALTERNATIVES:
                break
        return out
    return [[(cond, negated)]]


def _seq(op: str, items: list[Any]) -> Any:
    """`$and`/`$or` of items, nested so that no sequence is longer than durable_rules accepts."""
    flat: list[Any] = []
    for item in items:
        if isinstance(item, dict) and len(item) == 1 and op in item:
            flat.extend(item[op])
        else:
            flat.append(item)
    items = flat
    if len(items) == 1:
        return items[0]
    while len(items) > MAX_SEQUENCE:
        items = [{op: items[i : i + MAX_SEQUENCE]} if len(items[i : i + MAX_SEQUENCE]) > 1 else items[i]
                 for i in range(0, len(items), MAX_SEQUENCE)]
    return {op: items}


def _level_key(key: str, level: int) -> str:
    return f"{key}__l{level}"


def _under_literal(key: str, category: str) -> Any:
    parts = category.split("/")
    chain = [{_level_key(key, i): "/".join(parts[: i + 1])} for i in range(len(parts))]
    return _seq("$and", chain)


class _RuleCompiler:
    def __init__(self, platform: str, plan: dict[str, Any], problems: list[Problem]) -> None:
        self.platform = platform
        self.plan = plan
        self.problems = problems

    def use(self, owner: str, key: str, category: bool = False) -> None:
        self.plan["keys"][owner].add(key)
        if category:
            self.plan["categories"].add((owner, key))

    # -- operands -------------------------------------------------------------------------------------
    def _owner(self, path: str, item: str | None) -> str:
        root = path.split(".")[0]
        return item if root == "item" and item else root

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
            outs = []
            for v in values:
                lk = _level_key(key, v.count("/"))
                outs.append(_seq("$or", [{"$neq": {lk: v}}, {"$nex": {lk: 1}}]))
            return _seq("$and", outs)
        if op == "includes":
            if not negated:
                return _seq("$or", [{"$iany": {key: {"$i": v}}} for v in values])
            return _seq("$or", [nex, _seq("$and", [{"$iall": {key: {"$neq": {"$i": v}}}} for v in values])])
        (v,) = values
        if negated:
            return _seq("$or", [self.literal_test(_NEGATE[op], key, v, False), nex])
        return {key: v} if op == "equals" else {_DURABLE_OP[op]: {key: v}}

    def join_test(self, op: str, key: str, other_alias: str, other_key: str, mirrored: bool,
                  negated: bool) -> Any:
        if op == "under":
            if mirrored:  # this fact holds the ancestor; the earlier fact holds the category with levels
                alts = [{key: {other_alias: _level_key(other_key, i)}} for i in range(CATEGORY_LEVELS)]
            else:
                alts = [{_level_key(key, i): {other_alias: other_key}} for i in range(CATEGORY_LEVELS)]
            if negated:
                raise _Unsupported("negating `under` between two fields is not supported inside `where`; "
                                   "negate the whole `some` instead")
            return _seq("$or", alts)
        op = _MIRROR[op] if mirrored else {"in": "equals", "not_in": "not_equals"}.get(op, op)
        if negated:
            op = _NEGATE[op]
        ref = {other_alias: other_key}
        test = {key: ref} if op == "equals" else {_DURABLE_OP[op]: {key: ref}}
        return _seq("$or", [test, {"$nex": {key: 1}}]) if negated else test

    def compare_test(self, cond: Compare, negated: bool, here: str, item: str | None,
                     order: list[str]) -> tuple[Any, bool]:
        """The test for a comparison placed on alias `here`. Returns (test, is_join)."""
        owner = self._owner(cond.path, item)
        key = fact_key(cond.path)
        operand = cond.operand
        if isinstance(operand, FieldRef) and operand.path == "request.platform":
            operand = Literal(self.platform)
        if isinstance(operand, Literal) or operand is None:
            self.use(owner, key, category=cond.op == "under")
            value = operand.value if operand is not None else True
            return self.literal_test(cond.op, key, value, negated), False
        if isinstance(operand, AsOf):
            other_owner, other_key = "request", _date_key(operand)
            self.plan["shifts"].add(operand)
        else:
            other_owner, other_key = self._owner(operand.path, item), fact_key(operand.path)
        self.use(owner, key, category=cond.op == "under")
        self.use(other_owner, other_key)
        alias_of = self._alias_of(item)
        if self._mirrored(owner, other_owner, order):
            return self.join_test(cond.op, other_key, alias_of(owner), key, True, negated), True
        return self.join_test(cond.op, key, alias_of(other_owner), other_key, False, negated), True

    def _alias_of(self, item: str | None) -> Any:
        def alias(owner: str) -> str:
            return ROOT_ALIAS.get(owner, "")
        return alias

    @staticmethod
    def _mirrored(owner: str, other_owner: str, order: list[str]) -> bool:
        # The test goes on the later of the two facts; when that is the operand's, mirror the operator.
        return order.index(other_owner) > order.index(owner)

    def item_expr(self, cond: Condition, negated: bool, spec_path: str, order: list[str],
                  joins: set[str]) -> Any:
        if isinstance(cond, Not):
            return self.item_expr(cond.condition, not negated, spec_path, order, joins)
        if isinstance(cond, (AnyOf, AllOf)):
            disjunctive = isinstance(cond, AnyOf) != negated
            parts = [self.item_expr(c, negated, spec_path, order, joins) for c in cond.conditions]
            return _seq("$or" if disjunctive else "$and", parts)
        assert isinstance(cond, Compare)
        for path in (cond.path, cond.operand.path if isinstance(cond.operand, FieldRef) else ""):
            root = path.split(".")[0]
            if root in ROOT_ALIAS and path != "request.platform":
                joins.add(root)
        if isinstance(cond.operand, AsOf):
            joins.add("request")
        test, _ = self.compare_test(cond, negated, spec_path, spec_path, order)
        return test


def _trie_fanout(paths: list[tuple[str, list[str]]]) -> tuple[int, str]:
    children: dict[tuple[str, ...], set[str]] = defaultdict(set)
    worst, where = 0, ""
    for owner, seq in paths:
        prefix: tuple[str, ...] = ()
        for step in seq:
            children[prefix].add(step)
            if len(children[prefix]) > worst:
                worst, where = len(children[prefix]), owner
            prefix = (*prefix, step)
    return worst, where


def _alpha_paths(expr: Any, limit: int = 512) -> list[list[str]]:
    """The alpha test sequences an expression expands to ($or branches are alternatives)."""
    if isinstance(expr, dict) and len(expr) == 1:
        (op, body), = expr.items()
        if op == "$and":
            out: list[list[str]] = [[]]
            for part in body:
                out = [a + b for a in out for b in _alpha_paths(part, limit)][:limit]
            return out
        if op == "$or":
            return [p for part in body for p in _alpha_paths(part, limit)][:limit]
        if op.startswith("$"):
            inner = list(body.values()) if isinstance(body, dict) else []
            is_join = any(isinstance(v, dict) and v and not any(k.startswith("$") for k in v) for v in inner)
        else:
            is_join = isinstance(body, dict)
        return [[]] if is_join else [[json.dumps(expr, sort_keys=True)]]
    return [[json.dumps(expr, sort_keys=True)]]


def compile_policies(platform: str, policies: Sequence[Policy]) -> Compiled:
    """Compile the documents in force for `platform` into one ruleset; CompileError if it cannot run safely."""
    policies = tuple(sorted(policies, key=lambda p: (p.platform == "*", p.id)))
    pairs = [(p, r) for p in policies for r in p.rules]
    problems: list[Problem] = []
    levels, cyc = stratify(pairs)
    problems.extend(cyc)
    consumed = {name for _, r in pairs for name, _, _ in derived_refs(r.when)}
    plan: dict[str, Any] = {"keys": defaultdict(set), "categories": set(), "shifts": set(), "counts": set()}
    rc = _RuleCompiler(platform, plan, problems)
    ruleset: dict[str, Any] = {INIT_RULE: {"all": [{"rq": {"t": "request"}}]}}
    actions: dict[str, RuleAction] = {}
    alpha: list[tuple[str, list[str]]] = []
    plan["keys"]["request"].add("t")
    for index, (policy, rule) in enumerate(pairs):
        alternatives = _dnf(rule.when)
        if len(alternatives) > MAX_ALTERNATIVES:
            problems.append(Problem(policy.file, rule.pointer + "/when",
                                    f"the conditions expand to {len(alternatives)} alternatives; expected at most "
                                    f"{MAX_ALTERNATIVES} (split the rule or derive intermediate conclusions)",
                                    code="too-large"))
            continue
        for k, alternative in enumerate(alternatives, start=1):
            name = f"{policy.cite(rule)}/{k}"
            try:
                body, atoms, needs_trigger = _compile_alternative(rc, alternative, levels[index])
            except _Unsupported as exc:
                problems.append(Problem(policy.file, exc.pointer or rule.pointer, str(exc), code="unsupported"))
                continue
            if len(body) > MAX_PATTERNS:
                problems.append(Problem(policy.file, rule.pointer + "/when",
                                        f"the rule joins {len(body)} facts; expected at most {MAX_PATTERNS}",
                                        code="too-large"))
                continue
            if needs_trigger:
                body.insert(0, {"tk": {"$and": [{"t": TRIGGER_TYPE}, {"k": levels[index]}]}})
            ruleset[name] = {"all": body}
            actions[name] = RuleAction(policy, rule, tuple(atoms), levels[index] if needs_trigger else 0,
                                       bool(rule.derive and rule.derive in consumed))
            for pattern in body:
                (alias, expr), = pattern.items()
                for seq in _alpha_paths(expr):
                    alpha.append((name, seq))
    if len(ruleset) > MAX_RULES:
        problems.append(Problem(policies[0].file if policies else "", "",
                                f"{len(ruleset)} network rules for platform {platform!r}; durable_rules holds at most "
                                f"{MAX_RULES} (split policies by platform or merge rules)", code="too-large"))
    fan, where = _trie_fanout(alpha)
    if fan >= MAX_FANOUT:
        action = actions[where]
        problems.append(Problem(action.policy.file, action.rule.pointer,
                                f"{fan} different tests under one node of the network (at rule {where}); "
                                f"durable_rules hangs at 512, the compiler allows fewer than {MAX_FANOUT}: "
                                "use category subtrees or derived conclusions instead of long value lists",
                                code="fan-out"))
    if problems:
        raise CompileError(problems)
    strata = max((a.stratum for a in actions.values()), default=0)
    keys = plan["keys"]
    root_keys = {r: frozenset(keys.get(r, set())) for r in ROOT_ALIAS}
    list_keys = {p: frozenset(keys[p]) for p in LISTS if p in keys}
    default = next((p.default_outcome for p in policies if p.default_outcome and p.platform != "*"), None) or "allow"
    return Compiled(
        platform=platform,
        policies=policies,
        ruleset=ruleset,
        actions=actions,
        strata=strata,
        plan=FactPlan(root_keys, list_keys, frozenset(plan["categories"]),
                      tuple(sorted(plan["shifts"], key=lambda s: s.tag)), frozenset(plan["counts"])),
        default_outcome=default,
    )


class _Unsupported(Exception):
    def __init__(self, message: str, pointer: str = "") -> None:
        super().__init__(message)
        self.pointer = pointer


_ORDER_BASE = ["request", "seller", "product"]


def _compile_alternative(rc: _RuleCompiler, alternative: list[tuple[Condition, bool]],
                         stratum: int) -> tuple[list[dict[str, Any]], list[Atom], bool]:
    root_tests: dict[str, list[Any]] = defaultdict(list)
    root_joins: dict[str, list[Any]] = defaultdict(list)
    needed: set[str] = set()
    extra: list[tuple[str, Any, bool]] = []  # (alias, expr, negated) for item, derived and negated patterns
    atoms: list[Atom] = []
    counter = itertools.count()
    order = list(_ORDER_BASE)
    needs_trigger = False

    def root_of(path: str) -> str:
        return path.split(".")[0]

    for cond, negated in alternative:
        if isinstance(cond, Compare):
            owner = root_of(cond.path)
            other = None
            if isinstance(cond.operand, FieldRef) and cond.operand.path != "request.platform":
                other = root_of(cond.operand.path)
            elif isinstance(cond.operand, AsOf):
                other = "request"
            if other is None or not negated:
                here = owner if other is None or order.index(owner) >= order.index(other) else other
                test, is_join = rc.compare_test(cond, negated, here, None, order)
                (root_joins if is_join else root_tests)[here].append(test)
                needed.update({owner} | ({other} if other else set()))
                atoms.append(Atom(cond, negated, ROOT_ALIAS[owner]))
            else:
                # Negated comparison between two facts: no fact of `owner` satisfies it.
                here = owner if order.index(owner) >= order.index(other) else other
                test, _ = rc.compare_test(cond, False, here, None, order)
                alias = f"n{next(counter)}"
                needed.add(other if here == owner else owner)
                rc.use(here, "t")
                extra.append((alias + "$not", _seq("$and", [{"t": here}, test]), True))
                atoms.append(Atom(cond, True, alias))
                needs_trigger = True
        elif isinstance(cond, Count):
            key = "n__" + LISTS[cond.list_path].key
            owner = root_of(cond.list_path)
            rc.use(owner, key)
            rc.plan["counts"].add(cond.list_path)
            op = _NEGATE[cond.op] if negated else cond.op
            root_tests[owner].append(rc.literal_test(op, key, cond.value, False))
            needed.add(owner)
            atoms.append(Atom(cond, negated, ROOT_ALIAS[owner]))
        elif isinstance(cond, Some):
            spec = LISTS[cond.list_path]
            joins: set[str] = set()
            rc.use(cond.list_path, "i")
            expr = rc.item_expr(AllOf(cond.where), False, cond.list_path, [*order, cond.list_path], joins)
            needed.update(joins)
            alias = f"x{next(counter)}"
            extra.append((alias + ("$not" if negated else ""), _seq("$and", [{"t": spec.fact_type}, expr]), negated))
            atoms.append(Atom(cond, negated, alias))
            needs_trigger |= negated
        elif isinstance(cond, Derived):
            alias = f"d{next(counter)}"
            expr = {"$and": [{"t": DERIVED_TYPE}, {"n": cond.name}]}
            extra.append((alias + ("$not" if negated else ""), expr, negated))
            atoms.append(Atom(cond, negated, alias))
            needs_trigger |= negated
        else:  # pragma: no cover - _dnf leaves only atoms
            raise _Unsupported(f"unexpected condition {cond!r}")
    body: list[dict[str, Any]] = []
    anchor: str | None = None
    positives = any(not neg for _, _, neg in extra)
    if not needed and not positives:
        needed.add("request")
    for root in _ORDER_BASE:
        if root not in needed and root not in root_tests and root not in root_joins:
            continue
        alias = ROOT_ALIAS[root]
        parts: list[Any] = [{"t": root}, *sorted(root_tests[root], key=lambda t: json.dumps(t, sort_keys=True))]
        if anchor is None:
            anchor = alias
        else:
            parts.append({"q": {anchor: "q"}})
        parts.extend(root_joins[root])
        body.append({alias: _seq("$and", parts)})
    ordered = [e for e in extra if not e[2]] + [e for e in extra if e[2]]
    for alias, expr, negated in ordered:
        parts = [expr]
        if anchor is None:
            anchor = alias
        else:
            parts.append({"q": {anchor: "q"}})
        body.append({alias: _seq("$and", parts) if len(parts) > 1 else expr})
    for root in needed:
        rc.use(root, "t")
    return body, atoms, needs_trigger
