"""Check stage: semantic checks across valid documents, each problem with file and JSON pointer.

Unknown fields and operators that do not fit a field's type, unknown derived conclusions, duplicate ids,
overlapping effective windows, disagreeing platform defaults, bad message placeholders, and cycles
through negation (the rules must be stratifiable).
"""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from .._language.model import (
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
)
from .._language.operators import ORDERED, SINGLE_KINDS, operator
from .._language.strata import stratify
from .._language.vocab import LISTS, ROOTS, ListSpec, allowed_values, field_type
from ..errors import Problem, ProblemCode

__all__ = ["check_policies", "placeholders"]

_ENUMERATED = {"equals", "not_equals", "in", "not_in"}
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _kind_of(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, (int, float)) else "string"


def _typed(value: Any) -> tuple[Any, ...]:
    """A literal with its type and sign (1, 1.0 and True, or 0.0 and -0.0, are equal in Python, not here)."""
    return (type(value), value, math.copysign(1.0, value) if type(value) is float else 0.0)


def _operand_key(operand: Any) -> tuple[Any, ...]:
    """What the checks of a comparison read of its operand."""
    if isinstance(operand, Literal):
        value = operand.value
        return ("list", *map(_typed, value)) if isinstance(value, tuple) else ("one", _typed(value))
    if isinstance(operand, FieldRef):
        return ("field", operand.path)
    if isinstance(operand, AsOf):
        return ("as_of",)
    return ("none",) if operand is None else ("other", id(operand))


def placeholders(text: str) -> list[str]:
    return _PLACEHOLDER.findall(text)


class _TypeChecker:
    def __init__(self, policy: Policy, derivable: set[str]) -> None:
        self.policy = policy
        self.derivable = derivable
        self.problems: list[Problem] = []
        self.sound: set[tuple[Any, ...]] = set()  # comparisons checked without a problem (`compare`)

    def problem(self, pointer: str, message: str, code: ProblemCode = "PE021") -> None:
        self.problems.append(Problem(file=self.policy.file, pointer=pointer, message=message, code=code))

    def path_type(self, path: str, pointer: str, item: ListSpec | None) -> str | None:
        kind = field_type(path, item)
        if kind is None:
            if path.startswith("item") and item is None:
                self.problem(pointer, f"{path!r} is only meaningful inside `some`", code="PE020")
            elif path.startswith("item") and item is not None:
                names = ", ".join("item" if f == "" else f"item.{f}" for f in item.fields)
                self.problem(
                    pointer,
                    f"{item.path} elements have no field {path!r}; expected one of: {names}",
                    code="PE020",
                )
            else:
                root = path.split(".")[0]
                known = ", ".join(f"{root}.{f}" for f in ROOTS.get(root, {}))
                self.problem(pointer, f"unknown request field {path!r}; expected one of: {known}", code="PE020")
        return kind

    def literal_fits(self, kind: str, value: object) -> bool:
        if kind in ("string", "category"):
            return isinstance(value, str)
        if kind == "date":
            return isinstance(value, str) and bool(_DATE.match(value))
        if kind == "number":
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        if kind == "boolean":
            return isinstance(value, bool)
        return kind in ("scalar", "list")

    def compare(self, cond: Compare, item: ListSpec | None) -> None:
        """The checks of one comparison. What they find depends on its field, operator and operand (their
        values, with their types) and the list it is in, never on where it is: a comparison found sound is
        not checked again where the same one appears (the synthetic policies and the shipped ones repeat
        many), and any other is checked in full."""
        key = (cond.path, cond.op, item.path if item is not None else None, _operand_key(cond.operand))
        if key in self.sound:
            return
        found = len(self.problems)
        self.check_compare(cond, item)
        if len(self.problems) == found:
            self.sound.add(key)

    def check_compare(self, cond: Compare, item: ListSpec | None) -> None:
        ptr = cond.pointer + "/field"
        kind = self.path_type(cond.path, ptr, item)
        if kind is None:
            return
        op, operand, optr = cond.op, cond.operand, f"{cond.pointer}/{cond.op}"
        if op == "exists":
            return
        spec = operator(op)
        is_list = kind.startswith("list")
        if kind not in spec.kinds and not (is_list and spec.kinds >= SINGLE_KINDS):
            self.problem(optr, f"`{op}` needs {spec.needs}; `{cond.path}` is a {kind}")
        if is_list and kind not in spec.kinds:
            self.problem(optr, f"`{cond.path}` is a list; compare it with `includes`")
        if isinstance(operand, Literal):
            values = operand.value if isinstance(operand.value, tuple) else (operand.value,)
            if isinstance(operand.value, tuple) and not spec.list_operand:
                self.problem(optr, f"`{op}` takes one value, not a list; use `in` for a set of values")
            want = kind.split(":")[1] if is_list else kind
            bad = [v for v in values if not self.literal_fits(want, v)]
            if bad:
                self.problem(optr, f"{bad[0]!r} does not fit `{cond.path}`, which holds {want} values")
            elif op in ORDERED and kind == "scalar" and (odd := [v for v in values if type(v) not in (int, float)]):
                # A field of any kind (`scalar`) orders numbers only. A boolean has no order (the comparison
                # could never hold, and the rule engine ordered true and false all the same); texts the rule
                # engine compares as it reads them, escapes and the closing quote included ("Pro" came
                # after "Pro Max"), not as the language orders them.
                kind_of = "a boolean, which has no order" if type(odd[0]) is bool else "a text"
                self.problem(
                    optr, f"`{op}` orders numbers on `{cond.path}`, a field of any kind; {odd[0]!r} is {kind_of}"
                )
            elif op in _ENUMERATED and (allowed := allowed_values(cond.path, item)) is not None:
                self.enumerated(cond, operand, values, allowed, item)
            elif kind == "scalar" and len({_kind_of(v) for v in values}) > 1:
                self.problem(
                    optr,
                    f"the values compared with `{cond.path}` must all be strings, all numbers or all booleans",
                )
            elif spec.check_value is not None:
                where = f" (named data {operand.ref!r})" if operand.ref else ""
                for v in values:
                    message = spec.check_value(v)
                    if message is not None:
                        self.problem(optr, message + where, code="PE022")
                        break
        elif spec.network == "fact":  # worked out while the facts are built, from values known at load
            self.problem(optr, f"`{op}` compares with values or named data, not with another field or `as_of`")
        elif isinstance(operand, FieldRef):
            other = self.path_type(operand.path, optr + "/field", item)
            if kind == "scalar" or other == "scalar":
                self.problem(
                    optr,
                    f"`{cond.path if kind == 'scalar' else operand.path}` holds values of any "
                    "kind; compare it with literal values",
                )
            elif op == "includes":
                if operand.path != "request.platform" or kind != "list:string":
                    self.problem(optr, "`includes` compares a list with a value or `request.platform` only")
            elif (
                other is not None
                and other != kind
                and "scalar" not in (kind, other)
                and not ({kind, other} <= {"string", "category"} and spec.category_as_string)
            ):
                self.problem(optr, f"cannot compare `{cond.path}` ({kind}) with `{operand.path}` ({other})")
            if item is not None and cond.path.startswith("item") == operand.path.startswith("item"):
                self.problem(optr, "inside `some`, compare an element field with a value or a request field")
            if item is None and operand.path.startswith("item"):
                self.problem(optr, "`item` is only meaningful inside `some`", code="PE020")
        elif isinstance(operand, AsOf) and kind not in ("date", "scalar"):
            self.problem(optr, f"`{cond.path}` is a {kind}; only date fields compare with `as_of`")

    def enumerated(
        self,
        cond: Compare,
        operand: Literal,
        values: tuple[object, ...],
        allowed: tuple[str, ...],
        item: ListSpec | None,
    ) -> None:
        """A value compared with an enumerated field must be one the field can hold (a misspelt value would
        make a condition that silently never holds, or always holds under `not_equals`)."""
        field = f"`{cond.path}` of {item.path}" if item is not None else f"`{cond.path}`"
        for i, value in enumerate(values):
            if value in allowed:
                continue
            pointer = f"{cond.pointer}/{cond.op}"
            if operand.ref:
                pointer, where = f"{pointer}/ref", f" (in named data {operand.ref!r})"
            elif isinstance(operand.value, tuple):
                pointer, where = f"{pointer}/{i}", ""
            else:
                where = ""
            self.problem(
                pointer,
                f"{value!r}{where} is not a value {field} can hold; expected one of: {', '.join(allowed)}",
                code="PE023",
            )

    def condition(self, cond: Condition, item: ListSpec | None = None) -> None:
        if isinstance(cond, Compare):
            self.compare(cond, item)
        elif isinstance(cond, (Some, Count)):
            spec = LISTS[cond.list_path]
            for c in cond.where:
                self.condition(c, spec)
            if isinstance(cond, Count) and cond.distinct and spec.fields.get("") != "category":
                self.problem(
                    cond.pointer + "/distinct",
                    f"`distinct` counts the main categories of a list of categories; {cond.list_path} is not one",
                )
            if isinstance(cond, Count) and cond.merge and field_type(cond.merge[0], spec) != "date":
                self.problem(
                    cond.pointer + "/merge/field",
                    f"`merge` groups the elements by a date field of the element; {cond.merge[0]} is not one",
                )
            if isinstance(cond, Count) and cond.including and field_type(cond.including) != "category":
                self.problem(
                    cond.pointer + "/including", f"`including` needs a category field; {cond.including} is not one"
                )
        elif isinstance(cond, Derived):
            if cond.name not in self.derivable:
                known = ", ".join(sorted(self.derivable)) or "none"
                self.problem(
                    cond.pointer + "/derived",
                    f"no rule of platform {self.policy.platform!r} derives {cond.name!r}; derived conclusions: {known}",
                    code="PE024",
                )
        elif isinstance(cond, Not):
            self.condition(cond.condition, item)
        else:
            for c in cond.conditions:
                self.condition(c, item)


def _check_text(policy: Policy, rule: Rule) -> Iterator[Problem]:
    texts = []
    if rule.message:
        texts += [("message/en", rule.message.en), ("message/zh", rule.message.zh)]
    for i, r in enumerate(rule.remedies):
        texts += [(f"remedies/{i}/en", r.text.en), (f"remedies/{i}/zh", r.text.zh)]
    for where, text in texts:
        for name in placeholders(text):
            if name != "as_of" and not name.startswith("data.") and field_type(name) is None:  # data: at load
                yield Problem(
                    file=policy.file,
                    pointer=f"{rule.pointer}/{where}",
                    message=f"placeholder {{{name}}} names no request field (e.g. {{product.brand}}, {{as_of}})",
                    code="PE025",
                )


def check_policies(policies: Iterable[Policy]) -> list[Problem]:
    """Every semantic problem across the documents (empty when they can be loaded)."""
    policies = list(policies)
    problems: list[Problem] = []
    by_key: dict[str, Policy] = {}
    by_id: dict[str, list[Policy]] = defaultdict(list)
    for p in policies:
        if p.key in by_key:
            problems.append(
                Problem(
                    file=p.file,
                    pointer="/version",
                    message=f"{p.key} is also defined in {by_key[p.key].file}",
                    code="PE026",
                )
            )
        by_key[p.key] = p
        by_id[p.id].append(p)
        if p.effective_until is not None and p.effective_until <= p.effective_from:
            problems.append(
                Problem(
                    file=p.file,
                    pointer="/effective_until",
                    message=f"expected a date after effective_from {p.effective_from}",
                    code="PE027",
                )
            )
        seen: dict[str, int] = {}
        for i, rule in enumerate(p.rules):
            if rule.id in seen:
                problems.append(
                    Problem(
                        file=p.file,
                        pointer=f"/rules/{i}/id",
                        message=f"rule id {rule.id!r} is already used by /rules/{seen[rule.id]}",
                        code="PE026",
                    )
                )
            seen.setdefault(rule.id, i)
            for k, ref in enumerate(rule.source_refs):
                if ref >= len(p.sources):
                    problems.append(
                        Problem(
                            file=p.file,
                            pointer=f"/rules/{i}/source_refs/{k}",
                            message=f"source {ref} does not exist; expected an index below "
                            f"{len(p.sources)} (the number of sources)",
                            code="PE024",
                        )
                    )
    for versions in by_id.values():
        platforms = {v.platform for v in versions}
        if len(platforms) > 1:
            for v in versions[1:]:
                problems.append(
                    Problem(
                        file=v.file,
                        pointer="/platform",
                        message=f"policy {v.id!r} is for several platforms: {sorted(platforms)}",
                        code="PE029",
                    )
                )
        ordered = sorted(versions, key=lambda v: v.effective_from)
        for a, b in itertools.pairwise(ordered):
            if a.effective_until is None or a.effective_until > b.effective_from:
                problems.append(
                    Problem(
                        file=b.file,
                        pointer="/effective_from",
                        message=f"window of {b.key} (from {b.effective_from}) overlaps {a.key} "
                        f"(from {a.effective_from} until {a.effective_until or 'open-ended'}); expected it to start "
                        f"on or after the day the earlier version ends",
                        code="PE028",
                    )
                )
    for p in policies:
        if p.platform == "*" and p.default_outcome:
            problems.append(
                Problem(
                    file=p.file,
                    pointer="/default_outcome",
                    message="a policy for every platform (`*`) cannot set the default outcome; "
                    "expected it in a platform's own policy",
                    code="PE030",
                )
            )
    platforms = {p.platform for p in policies} - {"*"}
    defaults: dict[str, Policy] = {}
    for p in policies:
        if p.default_outcome and p.platform != "*":
            first = defaults.setdefault(p.platform, p)
            if first.default_outcome != p.default_outcome:
                problems.append(
                    Problem(
                        file=p.file,
                        pointer="/default_outcome",
                        message=f"{p.default_outcome!r} disagrees with {first.default_outcome!r} in {first.file}",
                        code="PE030",
                    )
                )
    for platform in sorted(platforms) or ["*"]:
        scope = [p for p in policies if p.platform in (platform, "*")]
        derivable = {r.derive for p in scope for r in p.rules if r.derive}
        for p in scope:
            if p.platform == "*" and platform != sorted(platforms or {"*"})[0]:
                continue  # report problems of shared documents once
            checker = _TypeChecker(
                p,
                derivable
                if p.platform != "*"
                else {r.derive for q in policies if q.platform == "*" for r in q.rules if r.derive},
            )
            for rule in p.rules:
                checker.condition(rule.when)
                problems.extend(_check_text(p, rule))
            problems.extend(checker.problems)
        # Negation must be stratified among the versions in force together (a network is compiled per
        # period): two versions never in force on one day may each negate what the other derives. A cycle
        # needs a rule reading a conclusion that a rule derives: none when no rule of the scope derives any.
        if not derivable:
            continue
        for day in sorted({p.effective_from for p in scope} | {p.effective_until for p in scope if p.effective_until}):
            pairs = [(p, r) for p in scope if p.in_force(day) for r in p.rules]
            _, cyc = stratify(pairs)
            problems.extend(x for x in cyc if x not in problems)
    return sorted(set(problems), key=lambda x: (x.file, x.pointer, x.message))
