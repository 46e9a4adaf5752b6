"""Requests built from the policies themselves: at their constants, at their boundaries, and one condition
away from firing each rule.

`policy_engine diff` searches with it for requests that two policy sets decide differently, and the
hypothesis strategy `policy_engine.testing.policy_requests` draws from it. Every request it yields is valid
against `schemas/request.json`.

How a request is built: for a rule, every condition is made to hold (or, for a near miss, every condition
but one), in order, by setting request values: the constant a comparison names, a category under the one it
names, a list element that satisfies a `some`, as many elements as a `count` needs, a route that derives a
conclusion. A later condition can undo an earlier one; a few repair passes with the reference semantics
settle most of these, and what stays unsettled is still a useful request near the rule.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from .._language import schemas
from .._language.model import (
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
from .._language.operators import operator
from .._language.semantics import MISSING, compare, condition_test, is_under, lookup, merged_count, operand_value
from .._language.strata import stratify
from .._language.vocab import LISTS, field_type
from .._pipeline.request import seller_view

__all__ = [
    "Pools",
    "RequestGenerator",
    "boundary_dates",
    "condition_texts",
    "differing_targets",
    "outcome_rules",
    "signatures",
    "target_nodes",
    "targets",
]

Path = tuple[Any, ...]  # a node of a rule's condition tree: indexes, and ("d", name, k) into derive rules
_MAX_DEPTH = 3  # derive rules followed from a rule, at most
_FIXED = ("request.platform", "request.as_of")  # fields a generated request never changes

# Values the request schema accepts for its enumerated fields, and fresh values for patterned strings.
_ENUMS: dict[str, tuple[str, ...]] = {
    "seller.entity_type": ("enterprise", "individual_business", "individual"),
    "seller.account_status": ("active", "warned", "restricted", "frozen", "suspended", "closed"),
    "seller.trademarks.item.status": ("registered", "pending", "refused", "abandoned", "expired", "cancelled"),
    "seller.trademarks.item.mark_type": ("word", "design_with_text", "design_only"),
    "seller.grants.item.status": ("approved", "pending", "rejected", "revoked", "expired"),
    "seller.violations.item.severity": ("general", "serious"),
    "seller.violations.item.status": ("open", "upheld", "retracted", "expired"),
}
_FRESH: dict[str, str] = {
    "seller.country": "ZZ",
    "product.price.currency": "ZZZ",
    "seller.grants.item.kind": "other_kind",
    "seller.violations.item.kind": "other_kind",
}
# Fields a request may carry but normalization derives from others (the generator sets those instead).
_DERIVED_FIELDS = {
    ("seller.trademarks", "owned_by_seller"),
    ("seller.authorizations", "chain_complete"),
    ("seller.authorizations", "chain_sublicensed"),
}
_SELLER_NAME = "Seller Trading Ltd"  # the seller's legal name, when a trademark must be someone else's
_OTHER_OWNERS = ("Brand Holder Ltd", "Other Holder Ltd")
_DISTRIBUTOR = "Regional Distributor Ltd"

_REQUIRED: dict[str, tuple[str, ...]] = {
    "seller.trademarks": ("mark", "status"),
    "seller.authorizations": ("brand",),
    "seller.grants": ("kind", "status"),
    "seller.violations": ("kind", "status"),
    "product.certifications": ("scheme",),
}
_SEVERITY = {"allow": 0, "review": 1, "deny": 2}
_BRAND_FIELDS = {"product.brand", "seller.trademarks.item.mark", "seller.authorizations.item.brand"}
_DEFAULT_BRANDS = ("Acme", "Bolt")


def _key(path: str, list_path: str | None) -> str:
    """The pool key of a field: `seller.metrics.refund_rate`, or `seller.trademarks.item.mark` inside `some`."""
    return f"{list_path}.{path}" if list_path is not None and path.split(".")[0] == "item" else path


def _type(path: str, list_path: str | None) -> str:
    spec = LISTS.get(list_path) if list_path else None
    return field_type(path, spec) or "scalar"


def _examples(op: str, values: tuple[Any, ...]) -> tuple[Any, ...]:
    """Values worth trying for a field compared by `op` with these values: the operator's own examples
    (texts that contain or match them), else the values themselves."""
    examples = operator(op).examples
    if examples is None:
        return values
    return tuple(e for v in values for e in examples(v))


def _members(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


def _walk(cond: Condition, list_path: str | None = None) -> Iterator[tuple[Condition, str | None]]:
    yield cond, list_path
    if isinstance(cond, (Some, Count)):
        for c in cond.where:
            yield from _walk(c, cond.list_path)
    elif isinstance(cond, Not):
        yield from _walk(cond.condition, list_path)
    elif isinstance(cond, (AnyOf, AllOf)):
        for c in cond.conditions:
            yield from _walk(c, list_path)


def outcome_rules(policies: Iterable[Policy]) -> list[tuple[Policy, Rule]]:
    """Every rule with an outcome (deny, review, allow, advisory), in document order."""
    return [(p, r) for p in policies for r in p.rules if r.outcome is not None]


def boundary_dates(policies: Iterable[Policy], platform: str) -> set[dt.date]:
    """Version boundaries of a platform (and of `*`), and dates its rules compare the decision date with."""
    days: set[dt.date] = set()
    for p in policies:
        if p.platform not in (platform, "*"):
            continue
        days.add(p.effective_from)
        if p.effective_until is not None:
            days.add(p.effective_until)
        for rule in p.rules:
            for cond, _ in _walk(rule.when):
                if isinstance(cond, Compare) and cond.path == "request.as_of" and isinstance(cond.operand, Literal):
                    for v in _members(cond.operand.value):
                        try:
                            days.add(dt.date.fromisoformat(str(v)))
                        except ValueError:
                            continue
    return days


def signatures(policies: Sequence[Policy]) -> dict[tuple[str, str], str]:
    """(policy id, rule id) -> what the outcome rule decides on: its conditions with named data filled in,
    its outcome, and the same of every rule deriving a conclusion it uses (versions, messages, order and
    layout left out). Two sets of policies decide alike where every outcome rule has the same signature."""
    derive: dict[str, list[tuple[Policy, Rule]]] = {}
    for p in policies:
        for r in p.rules:
            if r.derive is not None:
                derive.setdefault(r.derive, []).append((p, r))

    memo: dict[int, str] = {}

    def own(p: Policy, r: Rule) -> str:
        found = memo.get(id(r))
        if found is None:
            conditions = condition_json(r.when, resolved=True)
            found = memo[id(r)] = json.dumps([p.id, r.id, r.outcome, r.derive, conditions], sort_keys=True)
        return found

    def closure(p: Policy, r: Rule) -> str:
        parts, todo, done = [own(p, r)], [r], set()
        while todo:
            rule = todo.pop()
            for cond, _ in _walk(rule.when):
                if isinstance(cond, Derived) and cond.name not in done:
                    done.add(cond.name)
                    for q, d in derive.get(cond.name, ()):
                        parts.append(own(q, d))
                        todo.append(d)
        return json.dumps(sorted(parts))

    defaults = sorted({str(p.default_outcome) for p in policies})
    return {(p.id, r.id): closure(p, r) + json.dumps(defaults) for p in policies for r in p.rules if r.outcome}


def _step(value: float) -> float:
    """A small step at the scale of the value: 1 for whole numbers, 0.001 for 0.05, 100 for 2500.0."""
    if isinstance(value, int):
        return 1
    if value == 0 or not math.isfinite(value):
        return 0.01
    return float(10.0 ** (math.floor(math.log10(abs(value))) - 1))


def _around(value: Any, kind: str) -> list[Any]:
    """Just below, at and just above a number or a date (dates one day either side)."""
    if kind == "date" and isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return []
        out = [value]
        for delta in (-1, 1):
            try:
                out.append((day + dt.timedelta(days=delta)).isoformat())
            except OverflowError:
                continue
        return out
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        step = _step(value)
        below, above = value - step, value + step
        if isinstance(value, float):
            below, above = round(below, 12), round(above, 12)
        return [value, below, above]
    return []


class Pools:
    """The values the policies speak about, per field: constants, categories (with their children), brands."""

    def __init__(self, policies: Iterable[Policy], taxonomy: Iterable[str] = ()) -> None:
        self.values: dict[str, list[Any]] = {}
        categories: set[str] = set()
        for p in policies:
            for rule in p.rules:
                for cond, list_path in _walk(rule.when):
                    if isinstance(cond, Compare) and isinstance(cond.operand, Literal) and cond.op != "exists":
                        kind = _type(cond.path, list_path)
                        for v in _members(cond.operand.value):
                            self._add(_key(cond.path, list_path), v)
                            if kind == "category" and isinstance(v, str):
                                categories.add(v)
        tax = set(taxonomy)
        for c in list(tax):  # a taxonomy path declares its ancestors too
            parts = c.split("/")
            tax.update("/".join(parts[:i]) for i in range(1, len(parts)))
        children: set[str] = set()
        for c in categories:
            below = {t for t in tax if t != c and is_under(t, c)}
            children |= below or ({f"{c}/other"} if c.count("/") < 7 else set())
        self.categories = sorted(categories | tax | children)
        self.rule_categories = sorted(categories)
        brands = {v for k in _BRAND_FIELDS for v in self.values.get(k, ()) if isinstance(v, str) and v}
        self.brands = sorted(brands) + [b for b in _DEFAULT_BRANDS if b not in brands]
        self._memo: dict[tuple[str, str, str, str, str], list[Any]] = {}
        self._passed: dict[tuple[str, str, str, str, str, Any], list[Any]] = {}

    def _add(self, key: str, value: Any) -> None:
        bucket = self.values.setdefault(key, [])
        if not any(type(v) is type(value) and v == value for v in bucket):
            bucket.append(value)

    def candidates(self, key: str, kind: str, related: Sequence[Any], platform: str, as_of: str) -> list[Any]:
        """Values worth trying for a field: near the related values first, then the field's constants."""
        memo = (key, kind, repr(tuple(related)), platform, as_of)
        found = self._memo.get(memo)
        if found is None:
            found = self._memo[memo] = self._candidates(key, kind, related, platform, as_of)
        return list(found)

    def satisfying(
        self, key: str, kind: str, related: Sequence[Any], platform: str, as_of: str, test: Any, test_key: Any
    ) -> list[Any]:
        """The candidates that pass a test; `test_key` names the test (equal keys, equal tests), so a pool
        is filtered once per test, however many requests ask."""
        memo = (key, kind, repr(tuple(related)), platform, as_of, test_key)
        found = self._passed.get(memo)
        if found is None:
            found = self._passed[memo] = [v for v in self.candidates(key, kind, related, platform, as_of) if test(v)]
        return list(found)

    def _candidates(self, key: str, kind: str, related: Sequence[Any], platform: str, as_of: str) -> list[Any]:
        out: list[Any] = []
        constants = self.values.get(key, [])
        if kind == "number":
            for v in [*related, *constants]:
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    out += _around(v, "number")
            out += [0, 1]
        elif kind == "date":
            for v in [*related, *constants, as_of]:
                out += _around(v, "date")
        elif kind == "category":
            for v in related:
                if isinstance(v, str):
                    parts = v.split("/")
                    out += [v, *(c for c in self.categories if is_under(c, v) and c != v)]
                    out += ["/".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]
            out += self.categories or ["other"]
            out.append("other")
        elif kind == "boolean":
            out += [True, False]
        elif kind.startswith("list:"):
            element = [v for v in related if isinstance(v, (str, int)) and not isinstance(v, bool)]
            out += [[v] for v in element] + [[platform]] + [["other"]]
            out += [[*element, "other"]] if element else []
        else:  # string, or an attribute of any plain kind
            enum = _ENUMS.get(key)
            out += [v for v in related if v is not MISSING]
            if enum is not None:
                out += list(enum)
            else:
                out += constants
                if key in _BRAND_FIELDS or key.endswith(".brand"):
                    out += self.brands
                out.append(_FRESH.get(key, "other"))
                if kind == "scalar":
                    for v in [*related, *constants]:
                        if isinstance(v, bool):
                            out.append(not v)
                        elif isinstance(v, (int, float)):
                            out += _around(v, "number")
            if key == "seller.account_status":
                out = [v for v in out if v in _ENUMS[key]]
        out.append(MISSING)
        return [v for v in _distinct(out) if _fits(key, kind, v)]


def _distinct(values: Iterable[Any]) -> list[Any]:
    """The values in order, each once: equal values of one type are one (1, 1.0 and True stay three)."""
    kept: list[Any] = []
    hashed: set[tuple[type, Any]] = set()
    unhashable: list[Any] = []
    for v in values:
        try:
            key = (type(v), v)
            if key in hashed:
                continue
            hashed.add(key)
        except TypeError:  # a list value: compared one by one
            if any(type(u) is type(v) and u == v for u in unhashable):
                continue
            unhashable.append(v)
        kept.append(v)
    return kept


def _fits(key: str, kind: str, value: Any) -> bool:
    """Whether a value may stand in the request at that field (the request schema's forms)."""
    if value is MISSING:
        return True
    enum = _ENUMS.get(key)
    if enum is not None:
        return value in enum
    if (kind in ("date", "category", "string") or key in _FRESH) and not isinstance(value, str):
        return False
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if key in ("product.price.amount",) and value < 0:
            return False
        if key == "seller.authorizations.item.level" and (not isinstance(value, int) or value < 1):
            return False
    if kind == "category":
        return bool(schemas.fast_checker("request")({"platform": "x", "seller": {}, "product": {"category": value}}))
    if kind == "date":
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return False
    if kind == "scalar" and not isinstance(value, (str, int, float, bool)):
        return False
    if kind.startswith("list:"):
        return isinstance(value, list) and bool(value)
    return not (key.endswith((".brand", ".mark", ".scheme")) and value == "")


def targets(rule: Rule, derive_rules: dict[str, list[Rule]]) -> list[Path]:
    """The nodes of a rule's conditions that a near miss may flip: comparisons, counts, `some`, conclusions,
    and the same inside `where` and inside the rules that derive a conclusion the rule uses."""
    return [path for path, _, _ in target_nodes(rule, derive_rules)]


def target_nodes(rule: Rule, derive_rules: dict[str, list[Rule]]) -> list[tuple[Path, Condition, Rule]]:
    """`targets`, each with its condition and the rule whose conditions hold it."""
    out: list[tuple[Path, Condition, Rule]] = []

    def visit(cond: Condition, path: Path, depth: int, owner: Rule) -> None:
        if isinstance(cond, (Compare, Count, Some, Derived)):
            out.append((path, cond, owner))
        if isinstance(cond, (Some, Count)):
            for i, c in enumerate(cond.where):
                visit(c, (*path, i), depth, owner)
        elif isinstance(cond, Not):
            visit(cond.condition, (*path, 0), depth, owner)
        elif isinstance(cond, (AnyOf, AllOf)):
            for i, c in enumerate(cond.conditions):
                visit(c, (*path, i), depth, owner)
        elif isinstance(cond, Derived) and depth < 2:
            for k, r in enumerate(derive_rules.get(cond.name, ())):
                visit(r.when, (*path, "d", k), depth + 1, r)

    visit(rule.when, (), 0, rule)
    return out


RuleKey = tuple[str, str | None, str | None]  # a rule as the other side's version of it is found: id, derive, outcome


def _rule_key(rule: Rule) -> RuleKey:
    return (rule.id, rule.derive, rule.outcome)


def condition_texts(policies: Iterable[Policy]) -> dict[RuleKey, set[str]]:
    """Per rule, the canonical text of every condition of it, at every depth (named data as its value: a
    version that changes only a value in `data` changes the conditions that read it)."""
    out: dict[RuleKey, set[str]] = {}
    for policy in policies:
        for rule in policy.rules:
            texts = out.setdefault(_rule_key(rule), set())
            texts.update(_text(cond) for cond, _ in _walk(rule.when))
    return out


def _text(cond: Condition) -> str:
    return json.dumps(condition_json(cond, resolved=True), sort_keys=True)


def differing_targets(rule: Rule, derive_rules: dict[str, list[Rule]], theirs: dict[RuleKey, set[str]]) -> list[Path]:
    """The `targets` of a rule whose condition the other side's version of the rule holding it lacks
    (`condition_texts` of the other policies): where a near miss tells the two apart, such as a condition one
    side dropped or changed."""
    return [
        path
        for path, cond, owner in target_nodes(rule, derive_rules)
        if _text(cond) not in theirs.get(_rule_key(owner), ())
    ]


def _inside(target: Path | None, path: Path) -> bool:
    return target is not None and len(target) > len(path) and target[: len(path)] == path


_DERIVED_READ: dict[int, tuple[Condition, frozenset[str]]] = {}


def _derived_read(cond: Condition) -> frozenset[str]:
    """The derived conclusions a condition refers to anywhere inside it (none: it holds or fails whatever
    has been derived, and the conclusions need not be worked out to test it)."""
    known = _DERIVED_READ.get(id(cond))
    if known is not None and known[0] is cond:
        return known[1]
    if isinstance(cond, Derived):
        found = frozenset((cond.name,))
    elif isinstance(cond, Not):
        found = _derived_read(cond.condition)
    elif isinstance(cond, (AnyOf, AllOf)):
        found = frozenset().union(*(_derived_read(c) for c in cond.conditions))
    elif isinstance(cond, (Some, Count)):
        found = frozenset().union(*(_derived_read(c) for c in cond.where))
    else:
        found = frozenset()
    if len(_DERIVED_READ) > 65536:
        _DERIVED_READ.clear()
    _DERIVED_READ[id(cond)] = (cond, found)  # the condition is kept: its id is not reused meanwhile
    return found


def _reads_derived(cond: Condition) -> bool:
    return bool(_derived_read(cond))


class _Element:
    """A list element under construction: its list and its index in the request."""

    __slots__ = ("index", "list_path")

    def __init__(self, list_path: str, index: int) -> None:
        self.list_path = list_path
        self.index = index


_Plan = tuple["_Side", Rule, "Path | None", "tuple[Path, Any] | None", bool]


class _Side:
    """One policy set: its outcome rules, its derive rules by conclusion, and those in strata."""

    def __init__(self, policies: Iterable[Policy]) -> None:
        unique: dict[tuple[str, str], Policy] = {}
        for p in policies:
            unique.setdefault((p.key, p.digest), p)
        self.policies = list(unique.values())
        self.rules = outcome_rules(self.policies)
        self.derive_rules: dict[str, list[Rule]] = {}
        for p in self.policies:
            for r in p.rules:
                if r.derive is not None:
                    self.derive_rules.setdefault(r.derive, []).append(r)
        pairs = [(p, r) for p in self.policies for r in p.rules]
        levels, problems = stratify(pairs)
        self.strata: list[list[Rule]] = (
            []
            if problems
            else [
                [r for i, (_, r) in enumerate(pairs) if levels[i] == level and r.derive]
                for level in sorted(set(levels.values()) | {0})
            ]
        )


class RequestGenerator:
    """Requests for one platform on one date, guided by the rules of one or more policy sets.

    `sides` are the policy sets being compared (for `diff`, the versions in force on the date on each side;
    for a strategy, one set); the rules of `focus` (policy id, rule id) are built first. A request is
    built for a rule of one side with that side's derive rules, so that a near miss on one side is not
    undone by the other side's rules. `structured()` yields, rule by rule, a request that fires the rule,
    one near miss per condition, and one request per constant of each comparison; `random()` mixes and
    mutates those.
    """

    def __init__(
        self,
        sides: Sequence[Sequence[Policy]],
        platform: str,
        as_of: dt.date,
        pools: Pools,
        rng: random.Random,
        focus: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.platform = platform
        self.focus = set(focus)  # (policy id, rule id) of the rules to build first
        self.day = as_of
        self.as_of = as_of.isoformat()
        self.pools = pools
        self.rng = rng
        self._sides = [_Side(policies) for policies in sides]
        seen: set[tuple[str, str, str]] = set()
        self.rules: list[tuple[_Side, Rule]] = []
        for side in self._sides:
            for p, r in side.rules:
                if (p.key, p.digest, r.id) not in seen:
                    seen.add((p.key, p.digest, r.id))
                    self.rules.append((side, r))
        self._side = self._sides[0] if self._sides else _Side(())
        self.seen: list[dict[str, Any]] = []
        self._req: dict[str, Any] = {}
        self._target: Path | None = None
        self._force: tuple[Path, Any] | None = None
        self._depth = 0
        self._derived_cache: tuple[int, str, set[str]] | None = None

    @property
    def derive_rules(self) -> dict[str, list[Rule]]:
        """The derive rules, by conclusion, of the side of the rule being built."""
        return self._side.derive_rules

    def rule(self, index: int) -> Rule:
        """The outcome rule at `index` of `rules`, with its side chosen for the builds that follow."""
        self._side, rule = self.rules[index]
        return rule

    def constants(self, rule: Rule) -> list[tuple[Path, Any]]:
        """The (comparison, value) pairs worth forcing in `build`: each constant's neighbours and members."""
        return self._forces(rule)

    def plain(self) -> dict[str, Any] | None:
        """A request with only a category: what no rule asked for."""
        return self._finish(self._base())

    # --- the request under construction -------------------------------------------------------------

    def _derived(self) -> set[str]:
        snapshot = json.dumps(self._req, sort_keys=True)
        cache = self._derived_cache
        if cache is not None and cache[0] == id(self._side) and cache[1] == snapshot:
            return cache[2]
        req = self._normal()
        derived: set[str] = set()
        for layer in self._side.strata:
            pending = layer
            while pending:
                added: set[str] = set()
                for rule in pending:
                    if rule.derive not in derived and condition_test(rule.when)(req, derived, None):
                        derived.add(rule.derive)  # type: ignore[arg-type]
                        added.add(rule.derive)  # type: ignore[arg-type]
                # Only a rule that reads a conclusion just derived can hold now if it did not before.
                pending = [r for r in layer if r.derive not in derived and added & _derived_read(r.when)]
        self._derived_cache = (id(self._side), snapshot, derived)
        return derived

    def _normal(self) -> dict[str, Any]:
        """The request as the rules read it (defaults and derived fields filled in, as when deciding)."""
        req = dict(self._req)
        req["seller"] = seller_view(req["seller"])
        return req

    def _holds(self, cond: Condition, element: _Element | None = None) -> bool:
        item = None
        if element is not None:
            item = self._list(element.list_path)[element.index]
        return condition_test(cond)(self._normal(), self._derived() if _reads_derived(cond) else set(), item)

    def _list(self, list_path: str) -> list[Any]:
        root, key = list_path.split(".")
        container: dict[str, Any] = self._req[root]
        value = container.get(key)
        if not isinstance(value, list):
            value = []
            container[key] = value
        return value

    def _get(self, path: str, element: _Element | None) -> Any:
        item = None
        if path == "item" or path.startswith("item."):
            assert element is not None
            item = self._list(element.list_path)[element.index]
            if (element.list_path, path[5:]) in _DERIVED_FIELDS:  # as the rules read it
                item = self._normal()["seller"][element.list_path.split(".")[1]][element.index]
        return operand_value(lookup(self._req, path, item))

    def _set(self, path: str, value: Any, element: _Element | None) -> None:
        parts = path.split(".")
        if parts[0] == "item":
            assert element is not None
            items = self._list(element.list_path)
            if len(parts) == 1:
                if value is not MISSING:
                    items[element.index] = value
                return
            node: dict[str, Any] = items[element.index]
            key = element.list_path
            if (key, parts[1]) in _DERIVED_FIELDS:  # made by setting what it is derived from
                self._set_derived(node, parts[1], value)
                return
            if value is MISSING and parts[1] in _REQUIRED.get(key, ()):
                return
            parts = parts[1:]
        elif parts[0] == "request":
            node, parts = self._req, parts[1:]
        else:
            node = self._req
        if path in ("product.price.amount", "product.price.currency"):
            if value is MISSING:
                self._req["product"].pop("price", None)
                return
            price = self._req["product"].setdefault("price", {})
            price.setdefault("amount", 10)
            price.setdefault("currency", "USD")
        if path == "product.category" and value is MISSING:
            return
        for p in parts[:-1]:
            child = node.get(p)
            if not isinstance(child, dict):
                if value is MISSING:
                    return
                child = node[p] = {}
            node = child
        if value is MISSING:
            node.pop(parts[-1], None)
        else:
            node[parts[-1]] = list(value) if isinstance(value, tuple) else value

    def _set_derived(self, item: dict[str, Any], name: str, value: Any) -> None:
        """Make a derived field of a trademark or an authorization read `value` by setting the fields it is
        derived from (normalization overwrites the derived field itself): a trademark is the seller's when
        its `owner` is missing or the seller's `legal_name`; an authorization's chain is complete when its
        letters link down to its `grantor` and its `level` counts them, and sublicensed when every letter
        allows it. A derived field cannot be made missing on its own."""
        if name == "owned_by_seller":
            if value is True:
                item.pop("owner", None)
            elif value is not MISSING:
                legal = self._req["seller"].setdefault("legal_name", _SELLER_NAME)
                item["owner"] = next(n for n in _OTHER_OWNERS if n != legal)
            return
        current = seller_view({"authorizations": [item]})["authorizations"][0]
        wanted = {k: current.get(k, MISSING) for k in ("chain_complete", "chain_sublicensed")}
        wanted[name] = value
        if all(v is MISSING for v in wanted.values()):
            for key in ("level", "chain"):
                item.pop(key, None)
            return
        if value is MISSING:
            return
        complete, sublicensed = (wanted[k] is not False for k in ("chain_complete", "chain_sublicensed"))
        item["level"] = 2
        item["chain"] = [{"grantor": _OTHER_OWNERS[0], "grantee": _DISTRIBUTOR, "sublicensable": sublicensed}]
        item["grantor"] = _DISTRIBUTOR if complete else _OTHER_OWNERS[1]

    def _new_element(self, list_path: str) -> _Element:
        items = self._list(list_path)
        spec = LISTS[list_path]
        if "" in spec.fields:
            items.append(self.rng.choice(self.pools.categories or ["other"]))
        else:
            element: dict[str, Any] = {}
            for name in _REQUIRED.get(list_path, ()):
                key = f"{list_path}.item.{name}"
                pool = [v for v in self.pools.candidates(key, spec.fields[name], (), self.platform, self.as_of)]
                pool = [v for v in pool if v is not MISSING]
                if name in ("mark", "brand") and self._get("product.brand", None) is not MISSING:
                    pool.insert(0, self._get("product.brand", None))
                element[name] = pool[0] if self.rng.random() < 0.5 else self.rng.choice(pool)
            items.append(element)
        return _Element(list_path, len(items) - 1)

    # --- making conditions hold or fail -------------------------------------------------------------

    def _make(self, cond: Condition, want: bool, path: Path, element: _Element | None = None) -> None:
        if path == self._target:
            want = not want
        if isinstance(cond, AllOf):
            if want:
                for i, c in enumerate(cond.conditions):
                    self._make(c, True, (*path, i), element)
                return
            k = self._pick_child(cond.conditions, path, prefer_lists=True)
            self._make(cond.conditions[k], False, (*path, k), element)
        elif isinstance(cond, AnyOf):
            if want:
                k = self._pick_child(cond.conditions, path)
                self._make(cond.conditions[k], True, (*path, k), element)
                return
            for i, c in enumerate(cond.conditions):
                self._make(c, False, (*path, i), element)
        elif isinstance(cond, Not):
            self._make(cond.condition, not want, (*path, 0), element)
        elif isinstance(cond, Derived):
            self._make_derived(cond, want, path)
        elif isinstance(cond, Some):
            self._make_some(cond, want, path)
        elif isinstance(cond, Count):
            self._make_count(cond, want, path)
        else:
            self._make_compare(cond, want, path, element)

    def _pick_child(self, children: Sequence[Condition], path: Path, prefer_lists: bool = False) -> int:
        for k in range(len(children)):
            if _inside(self._target, (*path, k)) or self._target == (*path, k):
                return k
        if prefer_lists:
            listy = [k for k, c in enumerate(children) if isinstance(c, (Some, Count, Derived))]
            if listy and self.rng.random() < 0.7:
                return self.rng.choice(listy)
        return self.rng.randrange(len(children))

    def _make_derived(self, cond: Derived, want: bool, path: Path) -> None:
        rules = self.derive_rules.get(cond.name, [])
        if not rules or self._depth >= _MAX_DEPTH:
            return
        self._depth += 1
        try:
            if want:
                k = next((k for k in range(len(rules)) if _inside(self._target, (*path, "d", k))), None)
                if k is None:
                    k = self.rng.randrange(len(rules))
                self._make(rules[k].when, True, (*path, "d", k))
                return
            for k, rule in enumerate(rules):
                if _inside(self._target, (*path, "d", k)):
                    self._make(rule.when, True, (*path, "d", k))  # all but the target: a near miss
                elif self._holds(rule.when):
                    self._make(rule.when, False, (*path, "d", k))
            for k, rule in enumerate(rules):  # a later rule's value can make an earlier one hold again
                if not _inside(self._target, (*path, "d", k)) and self._holds(rule.when):
                    self._make(rule.when, False, (*path, "d", k))
        finally:
            self._depth -= 1

    def _satisfying(self, cond: Some | Count) -> list[int]:
        items = self._list(cond.list_path)
        req, derived = self._normal(), self._derived() if _reads_derived(cond) else set()
        tests = [condition_test(c) for c in cond.where]
        return [i for i, e in enumerate(items) if all(t(req, derived, e) for t in tests)]

    def _fill(self, cond: Some | Count, path: Path) -> None:
        element = self._new_element(cond.list_path)
        for i, c in enumerate(cond.where):
            self._make(c, True, (*path, i), element)

    def _steered(self, path: Path) -> bool:
        """Whether a near-miss target or a forced value lies inside this node."""
        return _inside(self._target, path) or (self._force is not None and _inside(self._force[0], path))

    def _make_some(self, cond: Some, want: bool, path: Path) -> None:
        if want or _inside(self._target, path):
            if want and not self._steered(path) and self._satisfying(cond):
                return  # an element already satisfies it: adding one could undo a `count` of the same list
            self._fill(cond, path)
            return
        items = self._list(cond.list_path)
        for i in reversed(self._satisfying(cond)):
            del items[i]

    def _make_count(self, cond: Count, want: bool, path: Path) -> None:
        items = self._list(cond.list_path)
        counted = self._satisfying(cond) if cond.where else list(range(len(items)))
        size = len(counted)
        if cond.merge:
            size = merged_count([items[i].get(cond.merge[0].partition(".")[2]) for i in counted], cond.merge[1])
        if compare(cond.op, size, cond.value) == want and not self._steered(path) and counted:
            return
        options = [n for n in {cond.value - 1, cond.value, cond.value + 1, 0} if n >= 0]
        options = [n for n in sorted(options) if compare(cond.op, n, cond.value) == want]
        if not options:
            return
        n = self.rng.choice(options)
        # Keep n of the elements counted now (chosen at random), drop the others, add what is missing.
        keep = set(self.rng.sample(counted, min(n, len(counted))))
        for i in reversed(counted):
            if i not in keep:
                del items[i]
        for _ in range(n - len(keep)):
            self._fill(cond, path)
        if cond.merge:
            self._spread(cond)

    def _spread(self, cond: Count) -> None:
        """Counted elements of a `merge` count a group each: their dates `within_days` apart, back from as_of
        (an element keeps its date when the new one would leave the `where`)."""
        assert cond.merge is not None
        field, days = cond.merge[0].partition(".")[2], cond.merge[1]
        items = self._list(cond.list_path)
        day = self.day
        for k, i in enumerate(self._satisfying(cond)):
            old = items[i].get(field)
            try:
                items[i][field] = (day - dt.timedelta(days=k * days)).isoformat()
            except OverflowError:
                continue
            if i not in self._satisfying(cond):
                if old is None:
                    del items[i][field]
                else:
                    items[i][field] = old

    def _make_compare(self, cond: Compare, want: bool, path: Path, element: _Element | None) -> None:
        list_path = element.list_path if element is not None else None
        operand = cond.operand
        left_path = cond.path
        if isinstance(operand, FieldRef):
            right_path = operand.path
            # Set the element's side, never the platform or the date, else the left side.
            set_right = right_path.startswith("item") and not left_path.startswith("item")
            if left_path in _FIXED:
                set_right = True
            if right_path in _FIXED:
                set_right = False
            fixed_path, moving_path = (left_path, right_path) if set_right else (right_path, left_path)
            if self._get(fixed_path, element) is MISSING and fixed_path not in _FIXED:
                kind = _type(fixed_path, list_path)
                pool = self.pools.candidates(_key(fixed_path, list_path), kind, (), self.platform, self.as_of)
                present = [v for v in pool if v is not MISSING]
                if present:
                    self._set(fixed_path, self.rng.choice(present), element)
            other = self._get(fixed_path, element)
            related: tuple[Any, ...] = _members(other) if other is not MISSING else ()

            def test(v: Any) -> bool:
                value = tuple(v) if isinstance(v, list) else v
                pair = (other, value) if set_right else (value, other)
                return compare(cond.op, *pair) == want

            test_key = ("field", cond.op, want, set_right, type(other), repr(other))
            self._choose(moving_path, list_path, related, test, path, element, test_key)
            return
        if isinstance(operand, AsOf):
            right: Any = operand.iso(self.day)
        elif isinstance(operand, Literal):
            right = operand.value
        else:
            right = True

        def test_literal(v: Any) -> bool:
            return compare(cond.op, tuple(v) if isinstance(v, list) else v, right) == want

        related = () if cond.op == "exists" else _examples(cond.op, _members(right))
        self._choose(left_path, list_path, related, test_literal, path, element, ("value", cond.op, want, repr(right)))

    def _choose(
        self,
        field: str,
        list_path: str | None,
        related: Sequence[Any],
        test: Any,
        path: Path,
        element: _Element | None,
        test_key: Any,
    ) -> None:
        if field in _FIXED:
            return
        kind = _type(field, list_path)
        key = _key(field, list_path)
        if self._force is not None and self._force[0] == path:
            self._set(field, self._force[1], element)
            return
        options = self.pools.satisfying(key, kind, related, self.platform, self.as_of, test, test_key)
        if not options:
            return
        present = [v for v in options if v is not MISSING]
        if present and (MISSING not in options or self.rng.random() < 0.6):
            value = present[0] if self.rng.random() < 0.5 else self.rng.choice(present)
        else:
            value = MISSING
        self._set(field, value, element)

    # --- whole requests -----------------------------------------------------------------------------

    def _base(self) -> dict[str, Any]:
        categories = self.pools.rule_categories or self.pools.categories or ["other"]
        return {
            "platform": self.platform,
            "as_of": self.as_of,
            "seller": {},
            "product": {"category": self.rng.choice(categories)},
        }

    def build(
        self,
        rule: Rule,
        target: Path | None = None,
        force: tuple[Path, Any] | None = None,
        base: dict[str, Any] | None = None,
        decisive: bool = False,
    ) -> dict[str, Any] | None:
        """A request that satisfies the rule, except the target node (a near miss), with a forced value at
        a comparison; None when it comes out invalid. `decisive`: also make every rule of a higher outcome
        fail, so that the rule decides."""
        self._req = json.loads(json.dumps(base)) if base is not None else self._base()
        self._target, self._force, self._depth = target, force, 0
        try:
            for _ in range(3):
                self._make(rule.when, True, ())
                if self._holds(rule.when) == (target is None and force is None):
                    break
            if decisive:
                self._decisive(rule)
        except (RecursionError, ValueError, TypeError, IndexError):
            return None
        finally:
            self._target, self._force = None, None
        return self._finish(self._req)

    def _decisive(self, rule: Rule) -> None:
        """Make every other rule of the same or a higher outcome fail, sparing the conditions they share with
        the rule, so that the rule alone decides."""
        rank = _SEVERITY.get(str(rule.outcome), -1)
        protected = {json.dumps(condition_json(c), sort_keys=True) for c in rule.when.conditions}
        for _ in range(3):
            req, derived = self._normal(), self._derived()
            blockers = [
                r
                for _, r in self._side.rules
                if r is not rule
                and _SEVERITY.get(str(r.outcome), -1) >= max(rank, 0)
                and condition_test(r.when)(req, derived, None)
            ]
            if not blockers:
                return
            for blocker in blockers:
                free = [
                    k
                    for k, c in enumerate(blocker.when.conditions)
                    if json.dumps(condition_json(c), sort_keys=True) not in protected
                ]
                if not free:
                    continue
                k = self.rng.choice(free)
                self._make(blocker.when.conditions[k], False, ("blocker", k))
            self._make(rule.when, True, ())

    def _finish(self, req: dict[str, Any]) -> dict[str, Any] | None:
        for root in ("seller", "product"):
            for key in [k for k, v in req[root].items() if v == [] or v == {}]:
                del req[root][key]
        if not schemas.fast_checker("request")(req):
            return None
        return req

    def _forces(self, rule: Rule) -> list[tuple[Path, Any]]:
        """For every comparison with a constant: each value worth trying there (below, at, above, members)."""
        out: list[tuple[Path, Any]] = []

        def visit(cond: Condition, path: Path, list_path: str | None) -> None:
            if isinstance(cond, Compare) and isinstance(cond.operand, (Literal, AsOf)) and cond.op != "exists":
                if cond.path in _FIXED:
                    return
                if isinstance(cond.operand, AsOf):
                    related: tuple[Any, ...] = (cond.operand.iso(self.day),)
                else:
                    related = _examples(cond.op, _members(cond.operand.value))
                kind = _type(cond.path, list_path)
                key = _key(cond.path, list_path)
                values = self.pools.candidates(key, kind, related, self.platform, self.as_of)
                if kind == "category":  # each category named and its children, and one that is none of them
                    named = [v for v in values if any(isinstance(r, str) and is_under(str(v), r) for r in related)]
                    values = named + [v for v in values if v not in named][:1]
                out.extend((path, v) for v in values[:24])
            elif isinstance(cond, (Some, Count)):
                for i, c in enumerate(cond.where):
                    visit(c, (*path, i), cond.list_path)
            elif isinstance(cond, Not):
                visit(cond.condition, (*path, 0), list_path)
            elif isinstance(cond, (AnyOf, AllOf)):
                for i, c in enumerate(cond.conditions):
                    visit(c, (*path, i), list_path)

        visit(rule.when, (), None)
        return out

    def structured(self) -> Iterator[dict[str, Any]]:
        """Rule by rule, round robin: the rule firing, its near misses, then its constants one by one.

        The rules of `focus` come first, all of their plans, then the other rules."""
        focused = [(side, rule) for side, rule in self.rules if self._cite_key(side, rule) in self.focus]
        rest = [(side, rule) for side, rule in self.rules if self._cite_key(side, rule) not in self.focus]
        for group in (focused, rest):
            yield from self._round_robin(group)

    def _cite_key(self, side: _Side, rule: Rule) -> tuple[str, str]:
        policy = next(p for p in side.policies if rule in p.rules)
        return (policy.id, rule.id)

    def _round_robin(self, rules: list[tuple[_Side, Rule]]) -> Iterator[dict[str, Any]]:
        plans: list[list[_Plan]] = []
        for side, rule in rules:
            self._side = side
            mine: list[_Plan] = [(side, rule, None, None, False)]
            mine += [(side, rule, None, None, True)] * 2
            near = targets(rule, self.derive_rules)
            mine += [(side, rule, t, None, False) for t in near] + [(side, rule, t, None, True) for t in near[:1]]
            mine += [(side, rule, None, f, True) for f in self._forces(rule)]
            mine.append((side, rule, None, None, False))
            plans.append(mine)
        longest = max((len(p) for p in plans), default=0)
        for i in range(longest):
            for mine in plans:
                if i < len(mine):
                    side, rule, target, force, decisive = mine[i]
                    self._side = side
                    req = self.build(rule, target, force, decisive=decisive)
                    if req is not None:
                        self.seen.append(req)
                        yield req

    def random(self) -> dict[str, Any] | None:
        """A mix of what came before: two earlier requests merged, or one rule built on another's request,
        with a few values changed to other values the policies speak about."""
        rng = self.rng
        if self.seen and self.rules and rng.random() < 0.5:
            base = rng.choice(self.seen)
            self._side, rule = rng.choice(self.rules)
            targets_ = targets(rule, self.derive_rules)
            target = rng.choice(targets_) if targets_ and rng.random() < 0.5 else None
            req = self.build(rule, target, base=base)
        else:
            req = json.loads(json.dumps(rng.choice(self.seen))) if self.seen else self._base()
        if req is None:
            return None
        for _ in range(rng.randint(1, 3)):
            self._mutate(req)
        return self._finish(req)

    def _mutate(self, req: dict[str, Any]) -> None:
        rng = self.rng
        self._req = req
        keys = sorted(self.pools.values)
        key = rng.choice(keys) if keys else "product.category"
        path, _, rest = key.partition(".item")
        if path in LISTS:
            items = self._list(path)
            if not items or rng.random() < 0.3:
                element = self._new_element(path)
            else:
                element = _Element(path, rng.randrange(len(items)))
            field = "item" + rest
            kind = _type(field, path)
            options = self.pools.candidates(key, kind, (), self.platform, self.as_of)
            self._set(field, rng.choice(options), element)
        elif key not in _FIXED:
            kind = _type(key, None)
            options = self.pools.candidates(key, kind, (), self.platform, self.as_of)
            self._set(key, rng.choice(options), None)

    def stream(self, budget: int) -> Iterator[dict[str, Any]]:
        """Up to `budget` distinct valid requests: the structured ones first, then random ones."""
        seen: set[str] = set()
        count = 0
        misses = 0
        for req in self._all():
            if req is None:
                misses += 1
                if misses > 4 * budget + 100:
                    return
                continue
            text = json.dumps(req, sort_keys=True)
            if text in seen:
                misses += 1
                if misses > 4 * budget + 100:
                    return
                continue
            seen.add(text)
            yield req
            count += 1
            if count >= budget:
                return

    def _all(self) -> Iterator[dict[str, Any] | None]:
        yield from self.structured()
        while True:
            yield self.random()
