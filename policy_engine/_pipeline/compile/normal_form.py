"""Normal form: each rule's conditions as alternatives (disjunctive normal form) of literals, shaped for
the network (no `$or` around a join, negated joins as "opposite, or missing", `under` between fields
as one alternative per depth), and a `some` that many rules use derived once (`share_some`).
"""

from __future__ import annotations

import functools
import json
import json.encoder
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from ..._language.model import (
    AllOf,
    AnyOf,
    AsOf,
    Compare,
    Condition,
    FieldRef,
    Literal,
    Not,
    Policy,
    Rule,
    Some,
    condition_json,
)
from ..._language.operators import operator
from ..facts import CATEGORY_LEVELS, fact_key

__all__ = [
    "ALWAYS",
    "MAX_ALTERNATIVES",
    "Lit",
    "TooManyAlternatives",
    "Unsupported",
    "always_present",
    "clear_memos",
    "cond_text",
    "dnf",
    "json_text",
    "lit_key",
    "prune",
    "share_some",
]

MAX_ALTERNATIVES = 64  # DNF alternatives of one rule
# Fields every normalised request has (required by the schema, or filled with a default).
ALWAYS = {
    ("request", "as_of"),
    ("request", "platform"),
    ("product", "category"),
    ("seller", "account_status"),
}


class Unsupported(Exception):
    """A condition the network cannot express (reported as a problem at its pointer)."""

    def __init__(self, message: str, pointer: str = "") -> None:
        super().__init__(message)
        self.pointer = pointer


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
_string_text = json.encoder.encode_basestring_ascii  # `json_text` of a string


Lit = tuple[Any, bool, Any]  # (condition, negated, detail): detail is a Some branch or an `under` depth


def _is_join(cond: Compare) -> bool:
    if isinstance(cond.operand, AsOf):
        return True
    return isinstance(cond.operand, FieldRef) and cond.operand.path != "request.platform"


def always_present(cond: Compare) -> bool:
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
        if spec.negation is None or not always_present(cond):
            raise Unsupported(
                "negating a comparison between two request fields is supported only against "
                "as_of; compare with the opposite operator instead",
                cond.pointer,
            )
        flipped = Compare(path=cond.path, op=spec.negation, operand=cond.operand, pointer=cond.pointer)
        missing = Compare(path=cond.path, op="exists", operand=Literal(False), pointer=cond.pointer)
        return [[(flipped, False, None)], [(missing, False, None)]]
    if cond.op == "under":
        return [[(cond, False, depth)] for depth in range(CATEGORY_LEVELS)]
    if not spec.field_operand or spec.mirror is None:
        raise Unsupported(f"`{cond.op}` compares with values or named data, not with another field", cond.pointer)
    return [[(cond, False, None)]]


class TooManyAlternatives(Unsupported):
    """A rule whose conditions expand to more alternatives than the network takes (PE036)."""


def _product(parts: list[list[list[Lit]]]) -> list[list[Lit]]:
    """The alternatives of a conjunction of parts (each a list of alternatives). Contradictory and repeated
    alternatives are pruned as they appear once there are many; past `4 * MAX_ALTERNATIVES` even so, the
    rule is refused (TooManyAlternatives), never cut short: an alternative missing a part's conditions
    would hold where the rule does not."""
    out: list[list[Lit]] = [[]]
    for p in parts:
        out = [a + b for a in out for b in p]
        if len(out) > MAX_ALTERNATIVES:
            out = prune(out)
        if len(out) > 4 * MAX_ALTERNATIVES:
            raise TooManyAlternatives(
                f"the conditions expand to more than {4 * MAX_ALTERNATIVES} alternatives; expected at most "
                f"{MAX_ALTERNATIVES} (split the rule or derive intermediate conclusions)"
            )
    return out


# Keys of literals, by the literal's identity (the literal is kept, so its id is not reused); emptied
# after each compile. Only a memo: a miss computes the same key again.
_LIT_KEYS: dict[int, tuple[Lit, tuple[str, bool, Any]]] = {}


def lit_key(lit: Lit) -> tuple[str, bool, Any]:
    hit = _LIT_KEYS.get(id(lit))
    if hit is not None and hit[0] is lit:
        return hit[1]
    cond, negated, detail = lit
    shown = detail if not isinstance(detail, tuple) else tuple(lit_key(d) for d in detail)
    key = cond_text(cond), negated, shown
    _LIT_KEYS[id(lit)] = (lit, key)
    return key


_COND_TEXTS: dict[int, tuple[Condition, str]] = {}


def cond_text(cond: Condition) -> str:
    """The condition as canonical JSON text (memoized by identity, like `lit_key`): `json_text` of
    `condition_json(cond, resolved=True)` (named data as its value: the text identifies what the condition
    means across the policies of a network, which may give one name different values), written here for a
    comparison (a large policy has thousands) and around the texts of the conditions a `some`, `any`, `all`
    or `not` holds, which the normal form asks for too."""
    hit = _COND_TEXTS.get(id(cond))
    if hit is not None and hit[0] is cond:
        return hit[1]
    if isinstance(cond, Compare):
        operand = cond.operand
        if type(operand) is Literal and type(operand.value) is str:
            value = _string_text(operand.value)
        else:
            value = json_text(condition_json(cond, resolved=True)[cond.op])
        entry, field = _string_text(cond.op) + ": " + value, '"field": ' + _string_text(cond.path)
        text = "{" + (entry + ", " + field if cond.op < "field" else field + ", " + entry) + "}"  # sorted keys
    elif isinstance(cond, Some):
        where = ", ".join([cond_text(c) for c in cond.where])
        text = '{"some": ' + _string_text(cond.list_path) + ', "where": [' + where + "]}"
    elif isinstance(cond, Not):
        text = '{"not": ' + cond_text(cond.condition) + "}"
    elif isinstance(cond, (AnyOf, AllOf)):
        key = '{"any": [' if isinstance(cond, AnyOf) else '{"all": ['
        text = key + ", ".join([cond_text(c) for c in cond.conditions]) + "]}"
    else:
        text = json_text(condition_json(cond, resolved=True))
    _COND_TEXTS[id(cond)] = (cond, text)
    return text


def prune(alternatives: list[list[Lit]]) -> list[list[Lit]]:
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
            k = lit_key(lit)
            if k not in keys:
                lits.append(lit)
                keys.append(k)
        key = tuple(keys)
        if ok and key not in seen_alts:
            seen_alts.add(key)
            out.append(lits)
    return out


def _where_dnf(conds: tuple[Condition, ...], negated: bool = False) -> list[list[Lit]]:
    """`where` conditions of a `some` as alternatives of plain comparisons."""
    out: list[list[list[Lit]]] = []
    for cond in _unique(conds):  # `a and a` is `a`, as at the top level
        out.append(_item_dnf(cond, negated))
    return prune(_product(out))


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
        seen.setdefault(cond_text(c), c)
    return list(seen.values())


def dnf(cond: Condition, negated: bool = False) -> list[list[Lit]]:
    if isinstance(cond, Not):
        return dnf(cond.condition, not negated)
    if isinstance(cond, (AnyOf, AllOf)):
        parts = [dnf(c, negated) for c in _unique(cond.conditions)]
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
                        and not always_present(lit)
                        and (lit.operand.path.split(".")[0], fact_key(lit.operand.path)) not in ALWAYS
                    }
                    | {
                        lit.path
                        for lit, _, _ in b
                        if not lit.path.startswith("item")
                        and (lit.path.split(".")[0], fact_key(lit.path)) not in ALWAYS
                    }
                )
                alts: list[list[Lit]] = [
                    [(Compare(path=g, op="exists", operand=Literal(False), pointer=cond.pointer), False, None)]
                    for g in guards
                ]
                alts.append(
                    [
                        (Compare(path=g, op="exists", operand=Literal(True), pointer=cond.pointer), False, None)
                        for g in guards
                    ]
                    + [(cond, True, tuple(b))]
                )
                per_branch.append(alts)
            return _product(per_branch)
        return [[(cond, False, tuple(b))] for b in branches]
    if isinstance(cond, Compare):
        return _compare_lits(cond, negated)
    return [[(cond, negated, None)]]


SHARE_MIN = 3  # a `some` used by this many rule alternatives is derived once


def share_some(
    work: list[tuple[int, Policy, Rule, list[list[Lit]]]], levels: dict[int, int], consumed: set[str]
) -> list[tuple[int, Policy, Rule, list[list[Lit]]]]:
    """Derive each `some` that several rules use once, in an internal rule, and rewrite the rules to read
    the derived fact: durable_rules gives every rule its own join nodes, and a fact fails with more than
    64 of them pending. Every `some` of an alternative that holds two or more of them is derived so too:
    the network would otherwise join each element one satisfies with each element the next satisfies
    (three over 200 trademarks ran for minutes), where a derived conclusion is one fact whichever elements
    satisfy it. Returns the internal rules (stratum 0); `work` is rewritten in place."""

    def key(lit: Lit) -> tuple[str, bool, Any]:
        # the literal itself when it is not negated: its key is memoized (`prune` asked for it)
        return lit_key(lit if not lit[1] else (lit[0], False, lit[2]))

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
            crowded = sum(1 for c, negated, _ in alt if isinstance(c, Some) and not negated) >= 2
            for lit in alt:
                cond, negated, detail = lit
                shared = key(lit) if isinstance(cond, Some) else None
                if shared is not None and (uses[shared] >= SHARE_MIN or (crowded and not negated)):
                    name = names.get(shared)
                    if name is None:
                        name = names[shared] = f"__some-{len(names)}"
                        consumed.add(name)
                        helper = Rule(
                            id=name,
                            when=AllOf((cond,), pointer=cond.pointer),
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


def clear_memos() -> None:
    """Forget the memoized literal keys and condition texts (after each compile)."""
    _LIT_KEYS.clear()
    _COND_TEXTS.clear()
