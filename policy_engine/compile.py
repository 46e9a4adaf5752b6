"""Compile stage: the documents in force for one platform become one durable_rules ruleset (plain JSON).

Every durable rule is named `policy@version#rule/k` (k numbers the alternatives of a rule with `any`), so
a firing maps straight back to the policy rule. Conditions are put in disjunctive normal form; each
alternative becomes one Rete rule; every request runs in a session of its own. Rules that negate a list or
a derived conclusion wait for a stratum trigger fact, asserted only after everything they negate is
complete, which makes negation stratified (the engine itself has no truth maintenance).

The compiler refuses networks durable_rules would hang or crash on (rule count, alpha fan-out, joins per
rule, expressions per sequence) with a CompileError that points at the policy rule.
"""

from __future__ import annotations

import functools
import itertools
import json
import json.encoder
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from .check import derived_refs, stratify
from .errors import CompileError, Problem
from .gcpause import gc_paused
from .model import (
    AllOf,
    AnyOf,
    AsOf,
    Compare,
    Condition,
    Count,
    Derived,
    FieldRef,
    Literal,
    Not,
    Policy,
    Rule,
    Some,
    condition_json,
)
from .operators import operator
from .vocab import LISTS, field_type

__all__ = ["Atom", "Compiled", "FactPlan", "RuleAction", "compile_policies", "fact_key"]

MAX_RULES = 4096  # durable_rules fails at 4097 actions per ruleset (the `__init` rule counts)
MAX_FANOUT = 256  # durable_rules hangs at 512 alpha children under one node
MAX_STACK = 60  # durable_rules fails (error 303) with 64 alpha nodes pending for one fact
MAX_SHARED = 250  # durable_rules fails (error 108) with 256 rules on one terminal alpha node
TRIGGER_GROUP = 200  # rules per stratum trigger fact, to stay under MAX_SHARED
MAX_PATTERNS = 15  # durable_rules allows 16 facts per rule; one is reserved for the stratum trigger
MAX_SEQUENCE = 32  # expressions per $and/$or sequence
MAX_ALTERNATIVES = 64  # DNF alternatives of one rule
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
_NEVER_TYPE = "__never"


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
    filtered_counts: tuple[tuple[str, str, tuple[Condition, ...]], ...] = ()  # (key, list, where)
    distinct_counts: tuple[tuple[str, str, str | None], ...] = ()  # (key, list, including): main categories
    # (owner, key, field key, operator, operand): the operator's Python meaning, worked out per fact
    computed: tuple[tuple[str, str, str, str, Any], ...] = ()
    # (key, list, where, (date field, days)): counted elements, those close in date once
    merged_counts: tuple[tuple[str, str, tuple[Condition, ...], tuple[str, int]], ...] = ()


@attrs.frozen
class Compiled:
    """The network for one platform and one set of policy versions in force."""

    platform: str
    policies: tuple[Policy, ...]
    ruleset: dict[str, Any] = attrs.field(eq=False)
    actions: dict[str, RuleAction] = attrs.field(eq=False)
    strata: int
    triggers: tuple[tuple[int, int], ...]  # (stratum, group) trigger facts, asserted stratum by stratum
    derived_groups: dict[str, int]  # copies of each derived fact (rules on one copy stay under MAX_SHARED)
    plan: FactPlan
    default_outcome: str

    def to_json(self) -> str:
        return json.dumps(self.ruleset, ensure_ascii=False, sort_keys=True, indent=1)


def _text_encoder() -> Callable[[Any], str]:
    """`json.dumps(value, sort_keys=True)`, the same text, without building an encoder for every call
    (compiling a large policy asks for the text of every test of every rule)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython has the C encoder
        return functools.partial(json.dumps, sort_keys=True)

    def default(value: Any) -> Any:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    encode = make(None, default, json.encoder.encode_basestring_ascii, None, ": ", ", ", True, False, True)

    def text(value: Any) -> str:
        return "".join(encode(value, 0))

    return text


json_text = _text_encoder()

Lit = tuple[Any, bool, Any]  # (condition, negated, detail): detail is a Some branch or an `under` depth


def _is_join(cond: Compare) -> bool:
    if isinstance(cond.operand, AsOf):
        return True
    return isinstance(cond.operand, FieldRef) and cond.operand.path != "request.platform"


def _always_present(cond: Compare) -> bool:
    return isinstance(cond.operand, AsOf) or (
        isinstance(cond.operand, FieldRef) and cond.operand.path in ("request.as_of", "request.platform")
    )


def _compare_lits(cond: Compare, negated: bool) -> list[list[Lit]]:
    """Alternatives for one comparison, so that no alternative holds an `$or` around a join.

    durable_rules evaluates `$or` around joins wrongly and fails on joins to missing properties, so a
    negated join becomes "the opposite comparison, or the field is missing", and `under` between two
    fields becomes one alternative per depth of the ancestor category.
    """
    if not _is_join(cond):
        return [[(cond, negated, None)]]
    spec = operator(cond.op)
    if negated:
        if spec.negation is None or not _always_present(cond):
            raise _Unsupported(
                "negating a comparison between two request fields is supported only against "
                "as_of; compare with the opposite operator instead",
                cond.pointer,
            )
        flipped = Compare(cond.path, spec.negation, cond.operand, cond.pointer)
        missing = Compare(cond.path, "exists", Literal(False), cond.pointer)
        return [[(flipped, False, None)], [(missing, False, None)]]
    if cond.op == "under":
        return [[(cond, False, depth)] for depth in range(CATEGORY_LEVELS)]
    if not spec.field_operand or spec.mirror is None:
        raise _Unsupported(f"`{cond.op}` compares with values or named data, not with another field", cond.pointer)
    return [[(cond, False, None)]]


def _product(parts: list[list[list[Lit]]]) -> list[list[Lit]]:
    out: list[list[Lit]] = [[]]
    for p in parts:
        out = [a + b for a in out for b in p]
        if len(out) > 4 * MAX_ALTERNATIVES:
            break
    return out


# Keys of literals, by the literal's identity (the literal is kept, so its id is not reused); emptied
# after each compile. Only a memo: a miss computes the same key again.
_LIT_KEYS: dict[int, tuple[Lit, tuple[str, bool, Any]]] = {}


def _lit_key(lit: Lit) -> tuple[str, bool, Any]:
    hit = _LIT_KEYS.get(id(lit))
    if hit is not None and hit[0] is lit:
        return hit[1]
    cond, negated, detail = lit
    shown = detail if not isinstance(detail, tuple) else tuple(_lit_key(d) for d in detail)
    key = _cond_text(cond), negated, shown
    _LIT_KEYS[id(lit)] = (lit, key)
    return key


_COND_TEXTS: dict[int, tuple[Condition, str]] = {}


def _cond_text(cond: Condition) -> str:
    """The condition as canonical JSON text (memoized by identity, like `_lit_key`)."""
    hit = _COND_TEXTS.get(id(cond))
    if hit is not None and hit[0] is cond:
        return hit[1]
    text = json_text(condition_json(cond))
    _COND_TEXTS[id(cond)] = (cond, text)
    return text


def _prune(alternatives: list[list[Lit]]) -> list[list[Lit]]:
    """Drop repeated literals, and alternatives that put one ancestor category at two depths."""
    out: list[list[Lit]] = []
    seen_alts: set[tuple[Any, ...]] = set()
    for alt in alternatives:
        lits: list[Lit] = []
        keys: list[tuple[str, bool, Any]] = []
        depths: dict[str, int] = {}
        ok = True
        for lit in alt:
            cond, _, detail = lit
            if isinstance(cond, Compare) and cond.op == "under" and isinstance(detail, int):
                anc = cond.operand.path if isinstance(cond.operand, FieldRef) else ""
                if depths.setdefault(anc, detail) != detail:
                    ok = False
                    break
            lit_key = _lit_key(lit)
            if lit_key not in keys:
                lits.append(lit)
                keys.append(lit_key)
        key = tuple(keys)
        if ok and key not in seen_alts:
            seen_alts.add(key)
            out.append(lits)
    return out


def _where_dnf(conds: tuple[Condition, ...], negated: bool = False) -> list[list[Lit]]:
    """`where` conditions of a `some` as alternatives of plain comparisons."""
    out: list[list[list[Lit]]] = []
    for cond in conds:
        out.append(_item_dnf(cond, negated))
    return _prune(_product(out))


def _item_dnf(cond: Condition, negated: bool) -> list[list[Lit]]:
    if isinstance(cond, Not):
        return _item_dnf(cond.condition, not negated)
    if isinstance(cond, (AnyOf, AllOf)):
        parts = [_item_dnf(c, negated) for c in cond.conditions]
        if isinstance(cond, AnyOf) != negated:
            return [alt for p in parts for alt in p]
        return _product(parts)
    assert isinstance(cond, Compare)
    return _compare_lits(cond, negated)


def _unique(conds: tuple[Condition, ...]) -> list[Condition]:
    """The conditions without repeats (`a and a` is `a`; repeats would multiply the alternatives)."""
    seen: dict[str, Condition] = {}
    for c in conds:
        seen.setdefault(_cond_text(c), c)
    return list(seen.values())


def _dnf(cond: Condition, negated: bool = False) -> list[list[Lit]]:
    if isinstance(cond, Not):
        return _dnf(cond.condition, not negated)
    if isinstance(cond, (AnyOf, AllOf)):
        parts = [_dnf(c, negated) for c in _unique(cond.conditions)]
        if isinstance(cond, AnyOf) != negated:
            return [alt for p in parts for alt in p]
        return _product(parts)
    if isinstance(cond, Some):
        branches = _where_dnf(cond.where)
        if negated:
            # No element satisfies any branch. A branch that joins to a field the request may lack holds
            # for no element when that field is missing: (field missing) or (field present and none).
            per_branch: list[list[list[Lit]]] = []
            for b in branches:
                guards = sorted(
                    {
                        lit.operand.path
                        for lit, _, _ in b
                        if isinstance(lit.operand, FieldRef)
                        and not lit.operand.path.startswith("item")
                        and not _always_present(lit)
                        and (lit.operand.path.split(".")[0], fact_key(lit.operand.path)) not in _ALWAYS
                    }
                    | {
                        lit.path
                        for lit, _, _ in b
                        if not lit.path.startswith("item")
                        and (lit.path.split(".")[0], fact_key(lit.path)) not in _ALWAYS
                    }
                )
                alts: list[list[Lit]] = [
                    [(Compare(g, "exists", Literal(False), cond.pointer), False, None)] for g in guards
                ]
                alts.append(
                    [(Compare(g, "exists", Literal(True), cond.pointer), False, None) for g in guards]
                    + [(cond, True, tuple(b))]
                )
                per_branch.append(alts)
            return _product(per_branch)
        return [[(cond, False, tuple(b))] for b in branches]
    if isinstance(cond, Compare):
        return _compare_lits(cond, negated)
    return [[(cond, negated, None)]]


def _seq(op: str, items: list[Any]) -> Any:
    """`$and`/`$or` of items, nested so that no sequence is longer than durable_rules accepts."""
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
    while len(items) > MAX_SEQUENCE:
        items = [
            {op: items[i : i + MAX_SEQUENCE]} if len(items[i : i + MAX_SEQUENCE]) > 1 else items[i]
            for i in range(0, len(items), MAX_SEQUENCE)
        ]
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
            return _seq("$and", [{"$neq": {_level_key(key, v.count("/")): v}} for v in values])
        if op == "includes":
            if not negated:
                return _seq("$or", [{"$iany": {key: {"$i": v}}} for v in values])
            return _seq("$or", [nex, _seq("$and", [{"$iall": {key: {"$neq": {"$i": v}}}} for v in values])])
        (v,) = values
        spec = operator(op)
        if negated:
            if spec.negation is None:
                raise _Unsupported(f"`{op}` cannot be negated here; negate a derived conclusion instead")
            return _seq("$or", [self.literal_test(spec.negation, key, v, False), nex])
        if spec.durable is None:
            raise _Unsupported(f"`{op}` has no durable_rules test for one value")
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
        if (
            (item is None or not cond.path.startswith("item"))
            and field_type(cond.path) == "scalar"
            and cond.op != "exists"
            and isinstance(operand, Literal)
        ):
            # Values of any kind: the fact holds one property per kind, so "220" never compares with 110.
            first = operand.value[0] if isinstance(operand.value, tuple) else operand.value
            key = typed_key(key, first)
        if not isinstance(operand, (FieldRef, AsOf)) and operator(cond.op).network == "fact":
            assert isinstance(operand, Literal)
            key = self.computed(owner, key, cond.op, operand.value)
            self.use(owner, key)
            return [self.literal_test("equals", key, True, negated)], [], {}, owner
        if not isinstance(operand, (FieldRef, AsOf)):
            self.use(owner, key, category=cond.op == "under")
            value = operand.value if operand is not None else True
            return [self.literal_test(cond.op, key, value, negated)], [], {}, owner
        assert not negated
        if isinstance(operand, AsOf):
            other, other_key = "request", _date_key(operand)
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
        if (there, there_key) not in _ALWAYS and not (there == "request" and there_key.startswith("as_of")):
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
                join = {anc_key: {ROOT_ALIAS[desc]: _level_key(desc_key, depth)}}
            else:
                guards[anc].append(depth_test)
                join = {_level_key(desc_key, depth): {ROOT_ALIAS[anc]: anc_key}}
            return alpha, [join], guards, here
        spec = operator(cond.op)
        if mirrored:
            if spec.mirror is None:
                raise _Unsupported(f"`{cond.op}` cannot compare these two fields in this order", cond.pointer)
            spec = operator(spec.mirror)
        if spec.durable is None:
            raise _Unsupported(f"`{cond.op}` compares with values or named data, not with another field", cond.pointer)
        ref: dict[str, str] = {"$m": there_key} if here == there else {ref_alias: there_key}
        test: dict[str, Any] = {here_key: ref} if spec.durable == "" else {spec.durable: {here_key: ref}}
        return alpha, [test], guards, here


def _expression_count(expr: Any) -> int:
    """Entries durable_rules keeps in one pattern's expression sequence: an open and a close per `$and` or
    `$or`, and one per join (it fails at 32)."""
    if isinstance(expr, dict) and len(expr) == 1:
        ((op, body),) = expr.items()
        if op in ("$and", "$or"):
            return 2 + sum(_expression_count(e) for e in body)
        if op.startswith("$"):
            inner = list(body.values()) if isinstance(body, dict) else []
            return int(any(isinstance(v, dict) and v and not any(k.startswith("$") for k in v) for v in inner))
        return int(isinstance(body, dict))
    return 0


_Step = tuple[str, str]  # (kind, text): kind "eq:<key>" for an equality on a literal, "join", or "other"


def _alpha_paths(expr: Any, limit: int = 512) -> list[list[_Step]]:
    """The chains of alpha nodes an expression becomes (`$or` branches are alternatives)."""
    if isinstance(expr, dict) and len(expr) == 1:
        ((op, body),) = expr.items()
        if op == "$and":
            out: list[list[_Step]] = [[]]
            for part in body:
                out = [a + b for a in out for b in _alpha_paths(part, limit)][:limit]
            return out
        if op == "$or":
            # an `$or` adds a merging node of its own to every rule that uses it (never shared)
            merge: _Step = ("join", "$or:" + json_text(expr))
            return [[merge, *p] for part in body for p in _alpha_paths(part, limit)][:limit]
        text = json_text(expr)
        if op.startswith("$"):
            inner = list(body.values()) if isinstance(body, dict) else []
            refers = any(isinstance(v, dict) and v and not any(k.startswith("$i") for k in v) for v in inner)
            return [[("join" if refers else "other", text)]]
        if isinstance(body, dict):
            return [[("join", text)]]
        return [[(f"eq:{op}", text)]]
    return [[("other", json_text(expr))]]


class _Trie:
    """The alpha network of one fact type, as durable_rules builds it: literal tests are shared between
    rules, join tests are not (each rule gets its own)."""

    __slots__ = ("children", "ending", "kinds")

    def __init__(self) -> None:
        self.children: dict[str, _Trie] = {}
        self.kinds: dict[str, str] = {}
        self.ending = 0  # patterns whose tests end here (durable_rules holds 256)

    def add(self, path: list[_Step], rule: str) -> None:
        node = self
        for kind, text in path:
            key = f"{text}#{rule}" if kind == "join" else text
            if key not in node.children:
                node.children[key] = _Trie()
                node.kinds[key] = kind
            node = node.children[key]
        node.ending += 1

    def fanout(self) -> int:
        return max([len(self.children), *(c.fanout() for c in self.children.values())])

    def endings(self) -> int:
        return max([self.ending, *(c.endings() for c in self.children.values())])

    def stack(self) -> int:
        """An upper bound on the alpha nodes durable_rules keeps pending for one fact below this node:
        every join child and every non-equality child may match, equalities on one key at most once."""
        if not self.children:
            return 0
        eq_keys = {k for k in self.kinds.values() if k.startswith("eq:")}
        matched = len(eq_keys) + sum(1 for k in self.kinds.values() if not k.startswith("eq:"))
        return matched + max(c.stack() for c in self.children.values())


def compile_policies(platform: str, policies: Sequence[Policy]) -> Compiled:
    """Compile the documents in force for `platform` into one ruleset; CompileError if it cannot run safely."""
    try:
        with gc_paused():
            return _compile(platform, policies)
    finally:
        _LIT_KEYS.clear()
        _COND_TEXTS.clear()


def _compile(platform: str, policies: Sequence[Policy]) -> Compiled:
    policies = tuple(sorted(policies, key=lambda p: (p.platform == "*", p.id)))
    pairs = [(p, r) for p in policies for r in p.rules]
    problems: list[Problem] = []
    levels, cyc = stratify(pairs)
    problems.extend(cyc)
    consumed = {name for _, r in pairs for name, _, _ in derived_refs(r.when)}
    plan: dict[str, Any] = {
        "keys": defaultdict(set),
        "categories": set(),
        "shifts": set(),
        "filtered": {},
        "distinct": {},
        "computed": {},
        "merged": {},
    }
    rc = _RuleCompiler(platform, plan, problems)
    ruleset: dict[str, Any] = {
        INIT_RULE: {"all": [{"rq": {"t": "request"}}]},
        SEEN_RULE: {"all": [{"sn": {"t": SEEN_TYPE}}, {"nv": {"t": _NEVER_TYPE}}]},
    }
    actions: dict[str, RuleAction] = {}
    tries: dict[str, _Trie] = defaultdict(_Trie)  # per fact type
    triggered: dict[int, int] = defaultdict(int)  # rules waiting on each stratum's trigger
    owners: dict[str, str] = {}
    users: dict[str, dict[int, int]] = defaultdict(dict)  # per fact type: tests per policy
    latest: dict[tuple[str, int], str] = {}  # a rule of that policy on that fact type
    plan["keys"]["request"].add("t")
    work: list[tuple[int, Policy, Rule, list[list[Lit]]]] = []
    if len(pairs) + len(ruleset) > MAX_RULES:  # refuse before any work: each rule needs a network rule
        raise CompileError(
            [_too_many_rules(platform, policies, [*ruleset, *(p.cite(r).partition("#")[0] for p, r in pairs)])]
        )
    for index, (policy, rule) in enumerate(pairs):
        try:
            alternatives = _prune(_dnf(rule.when))
        except _Unsupported as exc:
            problems.append(
                Problem(file=policy.file, pointer=exc.pointer or rule.pointer, message=str(exc), code="PE035")
            )
            continue
        if len(alternatives) > MAX_ALTERNATIVES:
            problems.append(
                Problem(
                    file=policy.file,
                    pointer=rule.pointer + "/when",
                    message=f"the conditions expand to {len(alternatives)} alternatives; expected at most "
                    f"{MAX_ALTERNATIVES} (split the rule or derive intermediate conclusions)",
                    code="PE036",
                )
            )
            continue
        work.append((index, policy, rule, alternatives))
    internal = _share_some(work, levels, consumed)
    for index, policy, rule, alternatives in [*internal, *work]:
        for k, alternative in enumerate(alternatives, start=1):
            name = f"{policy.cite(rule)}/{k}"
            try:
                body, atoms, needs_trigger = _compile_alternative(rc, alternative, levels[index])
            except _Unsupported as exc:
                problems.append(
                    Problem(file=policy.file, pointer=exc.pointer or rule.pointer, message=str(exc), code="PE035")
                )
                continue
            budget = max(_expression_count(next(iter(p.values()))) for p in body)
            if budget >= MAX_SEQUENCE - 1:
                problems.append(
                    Problem(
                        file=policy.file,
                        pointer=rule.pointer + "/when",
                        message=f"one fact of the rule needs {budget} engine expressions; durable_rules "
                        f"holds at most {MAX_SEQUENCE - 2} (fewer alternatives with `any`/`not`, "
                        "or derive intermediate conclusions)",
                        code="PE036",
                    )
                )
                continue
            if len(body) > MAX_PATTERNS:
                problems.append(
                    Problem(
                        file=policy.file,
                        pointer=rule.pointer + "/when",
                        message=f"the rule joins {len(body)} facts; expected at most {MAX_PATTERNS}",
                        code="PE036",
                    )
                )
                continue
            if needs_trigger:
                level = levels[index]
                group = triggered[level] // TRIGGER_GROUP
                triggered[level] += 1
                body.insert(0, {"tk": {"$and": [{"t": TRIGGER_TYPE}, {"k": level}, {"g": group}]}})
            ruleset[name] = {"all": body, "dist": 0}
            actions[name] = RuleAction(
                policy,
                rule,
                tuple(atoms),
                levels[index] if needs_trigger else 0,
                bool(rule.derive and rule.derive in consumed),
            )
            for pattern in body:
                ((_alias, expr),) = pattern.items()
                for seq in _alpha_paths(expr):
                    fact_type = seq[0][1] if seq and seq[0][0] == "eq:t" else ""
                    tries[fact_type].add(seq[1:], name)
                    owners.setdefault(fact_type, name)
                    users[fact_type][id(policy)] = users[fact_type].get(id(policy), 0) + 1
                    latest[(fact_type, id(policy))] = name
    if len(ruleset) > MAX_RULES:
        problems.append(_too_many_rules(platform, policies, [name.partition("#")[0] for name in ruleset]))
    for fact_type, trie in tries.items():
        fan, stack, ending = trie.fanout(), trie.stack(), trie.endings()
        if users[fact_type]:  # blame the policy that puts the most tests on these facts
            heaviest = max(users[fact_type].items(), key=lambda kv: kv[1])[0]
            owners[fact_type] = latest[(fact_type, heaviest)]
        if ending >= MAX_SHARED:
            action = actions[owners[fact_type]]
            problems.append(
                Problem(
                    file=action.policy.file,
                    pointer=action.rule.pointer,
                    message=f"{ending} rules test facts {fact_type or 'of every type'} in exactly the same "
                    f"way; durable_rules holds at most {MAX_SHARED}: make the rules' conditions "
                    "on these facts differ, or derive a shared conclusion once",
                    code="PE036",
                )
            )
        if fan >= MAX_FANOUT or stack >= MAX_STACK:
            action = actions[owners[fact_type]]
            what = (
                f"{fan} different tests under one node of the network"
                if fan >= MAX_FANOUT
                else f"up to {stack} tests pending for one fact"
            )
            problems.append(
                Problem(
                    file=action.policy.file,
                    pointer=action.rule.pointer,
                    message=f"{what} (facts {fact_type or 'of every type'}); durable_rules hangs or fails "
                    f"beyond {MAX_FANOUT if fan >= MAX_FANOUT else MAX_STACK}: use category "
                    "subtrees, shorter value lists or derived conclusions",
                    code="PE036",
                )
            )
    if problems:
        raise CompileError(problems)
    strata = max((a.stratum for a in actions.values()), default=0)
    triggers = tuple((k, g) for k in range(1, strata + 1) for g in range(-(-triggered[k] // TRIGGER_GROUP)))
    derived_groups = {n: -(-c // TRIGGER_GROUP) for n, c in rc.group_counts.items()}
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
        triggers=triggers,
        derived_groups=derived_groups,
        plan=FactPlan(
            root_keys,
            list_keys,
            frozenset(plan["categories"]),
            tuple(sorted(plan["shifts"], key=lambda s: s.tag)),
            tuple((name, path, where) for (path, _), (name, where) in sorted(plan["filtered"].items())),
            tuple((name, path, inc or None) for (path, inc), name in sorted(plan["distinct"].items())),
            tuple(sorted(plan["computed"].values(), key=lambda c: c[1])),
            tuple((name, path, where, merge) for (path, _), (name, where, merge) in sorted(plan["merged"].items())),
        ),
        default_outcome=default,
    )


def _too_many_rules(platform: str, policies: Sequence[Policy], owners: list[str]) -> Problem:
    """The problem for a network over MAX_RULES, pointing at the policy whose rules crossed the limit.

    `owners` holds, per network rule in compile order, the `policy@version` it comes from (internal rules
    have names of their own).
    """
    counts: dict[str, int] = defaultdict(int)
    for owner in owners:
        counts[owner] += 1
    total, culprit = 0, policies[-1] if policies else None
    for policy in policies:
        key = f"{policy.id}@{policy.version}"
        total += counts.get(key, 0)
        if total > MAX_RULES - (len(owners) - sum(counts.get(f"{p.id}@{p.version}", 0) for p in policies)):
            culprit = policy
            break
    mine = counts.get(f"{culprit.id}@{culprit.version}", 0) if culprit else 0
    return Problem(
        file=culprit.file if culprit else "",
        pointer="/rules",
        message=f"the policies in force for platform {platform!r} need {len(owners)} network rules, {mine} of them "
        f"for this policy's rules; durable_rules holds at most {MAX_RULES} (split the policy, or merge "
        "rules with `any`)",
        code="PE036",
    )


SHARE_MIN = 3  # a `some` used by this many rule alternatives is derived once


def _share_some(
    work: list[tuple[int, Policy, Rule, list[list[Lit]]]], levels: dict[int, int], consumed: set[str]
) -> list[tuple[int, Policy, Rule, list[list[Lit]]]]:
    """Derive each `some` that several rules use once, in an internal rule, and rewrite the rules to read
    the derived fact: durable_rules gives every rule its own join nodes, and a fact fails with more than
    64 of them pending. Returns the internal rules (stratum 0); `work` is rewritten in place."""

    def key(lit: Lit) -> tuple[str, bool, Any]:
        return _lit_key((lit[0], False, lit[2]))

    uses: dict[tuple[str, bool, Any], int] = defaultdict(int)
    for _, _, _, alternatives in work:
        for alt in alternatives:
            for lit in alt:
                if isinstance(lit[0], Some):
                    uses[key(lit)] += 1
    names: dict[tuple[str, bool, Any], str] = {}
    internal: list[tuple[int, Policy, Rule, list[list[Lit]]]] = []
    for i, (index, policy, rule, alternatives) in enumerate(work):
        rewritten: list[list[Lit]] = []
        for alt in alternatives:
            new_alt: list[Lit] = []
            for lit in alt:
                cond, negated, detail = lit
                if isinstance(cond, Some) and uses[key(lit)] >= SHARE_MIN:
                    name = names.get(key(lit))
                    if name is None:
                        name = names[key(lit)] = f"__some-{len(names)}"
                        consumed.add(name)
                        helper = Rule(
                            id=name,
                            when=AllOf((cond,), cond.pointer),
                            derive=name,
                            outcome=None,
                            message=None,
                            remedies=(),
                            pointer=rule.pointer,
                            provenance=rule.provenance,
                        )
                        levels[-len(names)] = 0
                        internal.append((-len(names), policy, helper, [[(cond, False, detail)]]))
                    new_alt.append((cond, negated, ("shared", name)))
                else:
                    new_alt.append(lit)
            rewritten.append(new_alt)
        work[i] = (index, policy, rule, rewritten)
    return internal


class _Unsupported(Exception):
    def __init__(self, message: str, pointer: str = "") -> None:
        super().__init__(message)
        self.pointer = pointer


_ORDER_BASE = ["request", "seller", "product"]
# Fields every normalised request has (required by the schema, or filled with a default).
_ALWAYS = {
    ("request", "as_of"),
    ("request", "platform"),
    ("product", "category"),
    ("seller", "account_status"),
}


def _compile_alternative(
    rc: _RuleCompiler, alternative: list[Lit], stratum: int
) -> tuple[list[dict[str, Any]], list[Atom], bool]:
    root_tests: dict[str, list[Any]] = defaultdict(list)
    root_joins: dict[str, list[Any]] = defaultdict(list)
    needed: set[str] = set()
    extra: list[tuple[str, Any, bool]] = []  # (alias, expr, negated) for item, derived and negated patterns
    atoms: list[Atom] = []
    counter = itertools.count()
    order = list(_ORDER_BASE)
    needs_trigger = False

    for cond, negated, detail in alternative:
        if isinstance(cond, Compare):
            alpha, root_join, guards, here = rc.compare_tests(cond, negated, detail, None, order)
            root_tests[here].extend(alpha)
            root_joins[here].extend(root_join)
            for other, tests in guards.items():
                root_tests[other].extend(tests)
                needed.add(other)
            needed.add(here)
            atoms.append(Atom(cond, negated, ROOT_ALIAS[cond.path.split(".")[0]]))
        elif isinstance(cond, Count):
            key = "n__" + LISTS[cond.list_path].key
            owner = cond.list_path.split(".")[0]
            if cond.merge:  # counted while the facts are built, elements close in date counted once
                merged = rc.plan["merged"]
                text = json.dumps([condition_json(c) for c in cond.where] + [list(cond.merge)], sort_keys=True)
                key = merged.setdefault((cond.list_path, text), (f"{key}__g{len(merged)}", cond.where, cond.merge))[0]
            elif cond.where:  # counted while the facts are built (durable_rules cannot aggregate)
                filters = rc.plan["filtered"]
                text = json_text([condition_json(c) for c in cond.where])
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
                    raise _Unsupported("inside `some`, every comparison must involve an element field", lit.pointer)
                alphas.extend(a)
                joins.extend(j)
                for other, tests in guards.items():
                    if negated and any("$ex" not in t for t in tests):
                        raise _Unsupported(
                            "inside a negated `some`, `under` may not compare with a request "
                            "category as the ancestor; negate a derived conclusion instead",
                            lit.pointer,
                        )
                    root_tests[other].extend(tests)
                    needed.add(other)
                for j_test in j:
                    needed.update(_refs(j_test))
            alias = f"x{next(counter)}"
            sorted_alpha = sorted(alphas, key=json_text)
            expr = _seq("$and", [{"t": spec.fact_type}, *sorted_alpha, *joins])
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
        else:  # pragma: no cover - _dnf leaves only atoms
            raise _Unsupported(f"unexpected condition {cond!r}")
    body: list[dict[str, Any]] = []
    positives = any(not neg for _, _, neg in extra)
    if not needed and not positives and not root_tests:
        needed.add("request")
    for root in _ORDER_BASE:
        if root not in needed and root not in root_tests and root not in root_joins:
            continue
        alias = ROOT_ALIAS[root]
        rc.use(root, "t")
        unique = {json_text(t): t for t in root_tests[root]}
        parts: list[Any] = [{"t": root}, *(unique[k] for k in sorted(unique)), *root_joins[root]]
        body.append({alias: _seq("$and", parts)})
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
