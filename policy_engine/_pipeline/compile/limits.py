"""The network's limits: a model of the alpha network durable_rules builds from a ruleset, and the
problems of a ruleset it would hang or crash on (rule count, alpha fan-out, pending tests per fact, rules
on one terminal node, expressions per pattern, joins per rule), each pointing at the policy rule; and a
model of the expression sequence it evaluates for each pattern's joins, with the shapes it evaluates
wrongly or reads past (`sequence_fault`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from ..._language.model import Policy
from ...errors import Problem
from .normal_form import json_text

__all__ = [
    "CLOSING_KEY",
    "MAX_FANOUT",
    "MAX_PATTERNS",
    "MAX_RULES",
    "MAX_SHARED",
    "MAX_STACK",
    "Trie",
    "alpha_paths",
    "alpha_step",
    "closing_join",
    "expression_count",
    "is_closing_join",
    "join_alias",
    "sequence_entries",
    "sequence_fault",
    "too_many_rules",
]

MAX_RULES = 4096  # durable_rules fails at 4097 actions per ruleset (the `__init` rule counts)
MAX_FANOUT = 256  # durable_rules hangs at 512 alpha children under one node
MAX_STACK = 60  # durable_rules fails (error 303) with 64 alpha nodes pending for one fact
MAX_SHARED = 250  # durable_rules fails (error 108) with 256 rules on one terminal alpha node
MAX_PATTERNS = 15  # durable_rules allows 16 facts per rule; one is reserved for the stratum trigger
CLOSING_KEY = "sid"  # the session id: every fact of a session holds the same, so comparing it always holds


def join_alias(expr: Any) -> str | None:
    """The alias a test compares with, if it is a join (an entry of the pattern's expression sequence):
    `{key: {alias: other}}` or `{"$op": {key: {alias: other}}}`; None for a test on the fact alone (a
    literal, `$ex`/`$nex`, `$iany`/`$iall` on `$i`, or `{"$m": other}`, which durable_rules tests in
    the alpha network) and for `$and`/`$or`."""
    if type(expr) is not dict or len(expr) != 1:
        return None
    ((op, body),) = expr.items()
    if op[:1] == "$":
        if op in _NOT_JOINS or type(body) is not dict or len(body) != 1:
            return None
        (body,) = body.values()
    if type(body) is dict and len(body) == 1:
        (alias,) = body
        if alias[:1] != "$":
            return str(alias)
    return None


_NOT_JOINS = frozenset(("$and", "$or", "$iany", "$iall"))


def closing_join(alias: str) -> dict[str, Any]:
    """A join that always holds (the session ids of two facts of one session), closing an `$and`."""
    return {"$lte": {CLOSING_KEY: {alias: CLOSING_KEY}}}


def is_closing_join(expr: Any) -> bool:
    alias = join_alias(expr)
    return alias is not None and expr == closing_join(alias)


def sequence_entries(expr: Any) -> list[str]:
    """The expression sequence durable_rules builds for one pattern: `and`/`or` opening each `$and`/`$or`,
    `end` closing it, `join` for each join test (`close` for a `closing_join`), in order (tests on the
    fact alone are not in it)."""
    if isinstance(expr, dict) and len(expr) == 1:
        ((op, body),) = expr.items()
        if op in ("$and", "$or"):
            return [op[1:], *(e for part in body for e in sequence_entries(part)), "end"]
    if join_alias(expr) is None:
        return []
    return ["close"] if is_closing_join(expr) else ["join"]


def sequence_fault(expr: Any) -> str | None:
    """Why durable_rules would evaluate the joins of this pattern wrongly or read past its expression
    sequence (None if it evaluates them as written).

    The engine evaluates the sequence left to right and stops a `$and` at its first false join (a `$or`
    at its first true one) by skipping to the next `end`, but it starts looking one entry too far on:
    after a join that is the last entry of its sequence it reads past the `end`, through whatever memory
    follows the pattern, until it happens on the right byte or leaves its node pool (upstream issue 381,
    pull request 386, unmerged); a join that always holds (`closing_join`) never stops it, so it may
    close a sequence. And once a nested `$and`/`$or` has been evaluated, the enclosing sequence stops at
    that one's `end`, so no join after it (in that sequence or in one nested later) is ever evaluated.
    """
    return _fault(expr, False, False) if _is_sequence(expr) else None


def _is_sequence(expr: Any) -> bool:
    return isinstance(expr, dict) and len(expr) == 1 and ("$and" in expr or "$or" in expr)


def _fault(expr: dict[str, Any], under_or: bool, after_nested: bool) -> str | None:
    """`sequence_fault` of a sequence, inside an `$or` or not, after a nested sequence of an enclosing one
    or not."""
    ((op, body),) = expr.items()
    under_or = under_or or op == "$or"
    last = ""  # the kind of this sequence's last entry so far
    for part in body:
        if _is_sequence(part):
            fault = _fault(part, under_or, after_nested)
            if fault is not None:
                return fault
            after_nested, last = True, "sequence"
        elif join_alias(part) is not None:
            if under_or:
                return "a join inside `$or` is evaluated wrongly"
            if after_nested:
                return "a join after a nested `$and`/`$or` is never evaluated"
            last = "close" if is_closing_join(part) else "join"
    if last == "join":
        return "a join is the last entry of its sequence: a short-circuit there reads past the sequence"
    return None


def expression_count(expr: Any) -> int:
    """Entries durable_rules keeps in one pattern's expression sequence: an open and a close per `$and` or
    `$or`, and one per join (it fails at 32)."""
    if isinstance(expr, dict) and len(expr) == 1:
        ((op, body),) = expr.items()
        if op[:1] != "$":  # a property, compared with another fact's (a join) or with a value
            return int(isinstance(body, dict))
        if op in ("$and", "$or"):
            return 2 + sum(map(expression_count, body))
        inner = list(body.values()) if isinstance(body, dict) else []
        return int(any(isinstance(v, dict) and v and not any(k.startswith("$") for k in v) for v in inner))
    return 0


AlphaStep = tuple[str, str]  # (kind, text): kind "eq:<key>" for an equality on a literal, "join", or "other"


def alpha_paths(expr: Any, limit: int = 512) -> list[list[AlphaStep]]:
    """The chains of alpha nodes an expression becomes (`$or` branches are alternatives)."""
    if _is_sequence(expr):
        ((op, body),) = expr.items()
        if op == "$or":
            # an `$or` adds a merging node of its own to every rule that uses it (never shared)
            merge: AlphaStep = ("join", "$or:" + json_text(expr))
            return [[merge, *p] for part in body for p in alpha_paths(part, limit)][:limit]
        out: list[list[AlphaStep]] = [[]]  # every chain is a list of its own, extended in place
        for part in body:
            if _is_sequence(part):
                out = [a + b for a in out for b in alpha_paths(part, limit)][:limit]
            elif type(part) is dict and "$lte" in part and is_closing_join(part):
                continue  # the only child of the join before it, which no other pattern shares
            else:
                step = alpha_step(part)
                for chain in out:
                    chain.append(step)
        return out
    return [[alpha_step(expr)]]


def alpha_step(expr: Any) -> AlphaStep:
    """The alpha node of a test that is neither `$and` nor `$or`."""
    text = json_text(expr)
    if isinstance(expr, dict) and len(expr) == 1:
        ((op, body),) = expr.items()
        if op[:1] != "$":  # a property equal to a value, or joined to another fact's
            return ("join" if isinstance(body, dict) else "eq:" + op, text)
        inner = list(body.values()) if isinstance(body, dict) else []
        refers = any(isinstance(v, dict) and v and not any(k.startswith("$i") for k in v) for v in inner)
        return ("join" if refers else "other", text)
    return ("other", text)


class Trie:
    """The alpha network of one fact type, as durable_rules builds it: literal tests are shared between
    rules, join tests are not (each rule gets its own)."""

    __slots__ = ("children", "ending", "kinds")

    def __init__(self) -> None:
        self.children: dict[str, Trie] = {}
        self.kinds: dict[str, str] = {}
        self.ending = 0  # patterns whose tests end here (durable_rules holds 256)

    def add(self, path: list[AlphaStep], rule: str) -> None:
        node = self
        for kind, text in path:
            key = f"{text}#{rule}" if kind == "join" else text
            child = node.children.get(key)
            if child is None:
                child = node.children[key] = Trie()
                node.kinds[key] = kind
            node = child
        node.ending += 1

    def measure(self) -> tuple[int, int, int]:
        """(fan-out, pending tests, endings) at their largest below this node, in one walk: the most
        children of one node, an upper bound on the alpha nodes durable_rules keeps pending for one fact
        (every join child and every non-equality child may match, equalities on one key at most once),
        and the most patterns that end on one node."""
        fanout, ending = len(self.children), self.ending
        if not fanout:
            return fanout, 0, ending
        below = 0
        for child in self.children.values():
            child_fanout, child_stack, child_ending = child.measure()
            fanout = max(fanout, child_fanout)
            below = max(below, child_stack)
            ending = max(ending, child_ending)
        eq_keys = {k for k in self.kinds.values() if k.startswith("eq:")}
        matched = len(eq_keys) + sum(1 for k in self.kinds.values() if not k.startswith("eq:"))
        return fanout, matched + below, ending


def too_many_rules(platform: str, policies: Sequence[Policy], owners: list[str]) -> Problem:
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
