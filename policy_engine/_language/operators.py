"""The comparison operators of the policy language, each declared once.

An operator says which field kinds it applies to, what it takes as operand, its negation and its mirror,
how the compiler writes it as a durable_rules test, what it means in Python (used by the reference
evaluator, the proofs and the request generators), and how the language reference describes it. Load,
check, compile, the reference semantics, lint, the formatter, the hypothesis strategies and the operator
table of docs/language.md read this registry (`tests/test_operators.py` keeps the docs and the policy
schema in step with it).

Adding an operator is one `Operator(...)` in `OPERATORS` plus, if it needs one, its Python meaning. The
registry is checked when this module is imported: an operator missing a piece, or naming a negation or
mirror that does not exist, raises `RegistryError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Literal

import attrs

from . import textmatch

__all__ = [
    "COMPARISON_OPS",
    "EXPANDED",
    "LIST_KINDS",
    "OPERATORS",
    "ORDERED",
    "SINGLE_KINDS",
    "Operator",
    "OperatorName",
    "RegistryError",
    "docs_table",
    "is_under",
    "operator",
    "satisfying",
]

OperatorName = Literal[
    "equals",
    "not_equals",
    "less_than",
    "at_most",
    "greater_than",
    "at_least",
    "in",
    "not_in",
    "under",
    "includes",
    "exists",
    "contains",
    "matches",
]

# How the network evaluates an operator:
# "test"     one durable_rules test per value (`durable`, "" for equality);
# "expanded" a shape the compiler writes itself (in, not_in, under, includes, exists);
# "fact"     the Python meaning is evaluated while the request's facts are built, and the network tests
#            the stored result (for what durable_rules cannot compute as Python does).
Network = Literal["test", "expanded", "fact"]

# The operators whose network shape the compiler writes itself (compile._RuleCompiler.literal_test).
EXPANDED: Final = frozenset({"in", "not_in", "under", "includes", "exists"})
SINGLE_KINDS: Final = frozenset({"string", "number", "boolean", "date", "category", "scalar"})
LIST_KINDS: Final = frozenset({"list:string", "list:number"})


class RegistryError(TypeError):
    """An operator declared without one of its pieces."""


def _same_kind(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return True
    return type(a) is type(b)


def _values(right: Any) -> tuple[Any, ...]:
    return right if isinstance(right, tuple) else (right,)


def _equals(left: Any, right: Any) -> bool:
    return _same_kind(left, right) and bool(left == right)


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def meaning(left: Any, right: Any) -> bool:
        if not _same_kind(left, right) or isinstance(left, bool):
            return False
        return test(left, right)

    return meaning


def is_under(category: str, ancestor: str) -> bool:
    """`shoes/sneakers` is under `shoes`, and `shoes` is under itself."""
    return category == ancestor or category.startswith(ancestor + "/")


def _under(left: Any, right: Any) -> bool:
    return isinstance(left, str) and any(isinstance(v, str) and is_under(left, v) for v in _values(right))


def _includes(left: Any, right: Any) -> bool:
    items = left if isinstance(left, (list, tuple)) else ()
    return any(_same_kind(i, v) and i == v for v in _values(right) for i in items)


def _contains(left: Any, right: Any) -> bool:
    return isinstance(left, str) and any(isinstance(v, str) and textmatch.contains(left, v) for v in _values(right))


def _matches(left: Any, right: Any) -> bool:
    return isinstance(left, str) and any(isinstance(v, str) and textmatch.matches(left, v) for v in _values(right))


def _check_pattern(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"{value!r} is not a pattern; expected a text"
    try:
        textmatch.parse_pattern(value)
    except textmatch.PatternError as exc:
        return f"pattern {value!r}: {exc}"
    return None


def _witness(pattern: Any) -> Any:
    try:
        return textmatch.witness(pattern)
    except (textmatch.PatternError, TypeError):
        return pattern


def _check_literal(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return f"{value!r} is not a text to look for; expected a text of at least one character"
    return None


@attrs.frozen(kw_only=True)
class Operator:
    """One comparison operator, `{"field": PATH, name: OPERAND}`."""

    name: OperatorName
    kinds: frozenset[str]  # field kinds it applies to ("list:..." for list fields)
    needs: str  # how a wrong field kind is reported: "`at_least` needs a number or date field"
    meaning: Callable[[Any, Any], bool]  # on a present left value; right is a value or a tuple of values
    network: Network
    durable: str | None = None  # with network "test": the durable_rules test ("" is equality)
    list_operand: bool = False  # takes a list of values (any of them)
    field_operand: bool = True  # may compare with another request field or `as_of`
    category_as_string: bool = False  # a category field may be compared with a string field
    negation: OperatorName | None = None  # holds exactly when this does not, on a present value
    mirror: OperatorName | None = None  # the operator with its two sides swapped
    check_value: Callable[[Any], str | None] | None = None  # a problem with one operand value, at load
    examples: Callable[[Any], tuple[Any, ...]] | None = None  # field values that hold for an operand (generators)
    member_op: OperatorName | None = None  # tests one member of the operand (coverage of named data)
    count: bool = False  # also compares the number of elements in `count`
    order: Literal["low", "high"] | None = None  # a lower or upper bound (lint's contradiction check)
    strict: bool = False  # with `order`: the bound itself is excluded
    field_types: str = ""  # language reference: the "Field types" column
    holds_when: str = ""  # language reference: the "Holds when" column


def _by_order(
    name: OperatorName,
    test: Callable[[Any, Any], bool],
    durable: str,
    negation: OperatorName,
    mirror: OperatorName,
    order: Literal["low", "high"],
    strict: bool,
    holds_when: str,
) -> Operator:
    """An operator that compares numbers or dates by order."""
    return Operator(
        name=name,
        kinds=frozenset({"number", "date", "scalar"}),
        needs="a number or date field",
        meaning=_ordered(test),
        network="test",
        durable=durable,
        negation=negation,
        mirror=mirror,
        count=True,
        order=order,
        strict=strict,
        field_types="number, date",
        holds_when=holds_when,
    )


OPERATORS: Final[dict[str, Operator]] = {
    op.name: op
    for op in (
        Operator(
            name="equals",
            kinds=SINGLE_KINDS,
            member_op="equals",
            needs="a single value",
            meaning=_equals,
            network="test",
            durable="",
            category_as_string=True,
            negation="not_equals",
            mirror="equals",
            count=True,
            field_types="any single value",
            holds_when="the field equals the operand",
        ),
        Operator(
            name="not_equals",
            kinds=SINGLE_KINDS,
            needs="a single value",
            meaning=lambda left, right: not _equals(left, right),
            network="test",
            durable="$neq",
            category_as_string=True,
            negation="equals",
            mirror="not_equals",
            count=True,
            field_types="any single value",
            holds_when="the field is present and differs from the operand",
        ),
        _by_order(
            "less_than",
            lambda a, b: bool(a < b),
            "$lt",
            "at_least",
            "greater_than",
            "high",
            True,
            "the field is before / smaller than the operand",
        ),
        _by_order(
            "at_most",
            lambda a, b: bool(a <= b),
            "$lte",
            "greater_than",
            "at_least",
            "high",
            False,
            "the field is on or before / not greater than the operand",
        ),
        _by_order(
            "greater_than",
            lambda a, b: bool(a > b),
            "$gt",
            "at_most",
            "less_than",
            "low",
            True,
            "the field is after / greater than the operand",
        ),
        _by_order(
            "at_least",
            lambda a, b: bool(a >= b),
            "$gte",
            "less_than",
            "at_most",
            "low",
            False,
            "the field is on or after / not smaller than the operand",
        ),
        Operator(
            name="in",
            kinds=SINGLE_KINDS,
            member_op="equals",
            needs="a single value",
            meaning=lambda left, right: any(_equals(left, v) for v in _values(right)),
            network="expanded",
            list_operand=True,
            field_operand=False,
            category_as_string=True,
            field_types="any single value",
            holds_when="the field equals one of a list (a literal list or named data)",
        ),
        Operator(
            name="not_in",
            kinds=SINGLE_KINDS,
            needs="a single value",
            meaning=lambda left, right: not any(_equals(left, v) for v in _values(right)),
            network="expanded",
            list_operand=True,
            field_operand=False,
            category_as_string=True,
            field_types="any single value",
            holds_when="the field is present and equals none of a list",
        ),
        Operator(
            name="under",
            kinds=frozenset({"category"}),
            member_op="under",
            needs="a category field",
            meaning=_under,
            network="expanded",
            list_operand=True,
            field_types="category",
            holds_when="the field is the category or below it: `shoes` covers `shoes` and `shoes/sneakers`, not "
            "`shoes-care`. The operand is a category, a list (under any of them), named data, or another "
            "category field",
        ),
        Operator(
            name="includes",
            kinds=LIST_KINDS,
            needs="a list field",
            meaning=_includes,
            network="expanded",
            list_operand=True,
            category_as_string=True,
            field_types="list (`item.platforms`, `item.territories`, `item.classes`)",
            holds_when="the list includes the value (with a list operand: includes at least one of the values). "
            "The value must be a string",
        ),
        Operator(
            name="exists",
            kinds=SINGLE_KINDS | LIST_KINDS,
            needs="a field",
            meaning=lambda left, right: bool(right),
            network="expanded",
            field_operand=False,
            category_as_string=True,
            field_types="any",
            holds_when="`true`: the field is present and not null; `false`: the field is missing or null",
        ),
        Operator(
            name="contains",
            kinds=frozenset({"string"}),
            member_op="contains",
            needs="a text field",
            meaning=_contains,
            network="fact",
            list_operand=True,
            field_operand=False,
            check_value=_check_literal,
            examples=lambda v: (
                (v, f"New {str(v).upper()} item", f"{v}".title() + "s", "other") if isinstance(v, str) else (v,)
            ),
            field_types="text (string)",
            holds_when='the field contains the text, ignoring case: `contains: "acme"` holds for `ACME '
            "Runner`, `Acme` and `my acme shoes`. With a list or named data: contains any of them",
        ),
        Operator(
            name="matches",
            kinds=frozenset({"string"}),
            member_op="matches",
            needs="a text field",
            meaning=_matches,
            network="fact",
            list_operand=True,
            field_operand=False,
            check_value=_check_pattern,
            examples=lambda v: (_witness(v), "other"),
            field_types="text (string)",
            holds_when="the whole field matches the [pattern](#text-patterns), ignoring case: "
            '`matches: "acme.*"` holds for `ACME Runner`, not for `my acme`. With a list or named data: '
            "matches any of them",
        ),
    )
}

COMPARISON_OPS: Final[tuple[str, ...]] = tuple(OPERATORS)
"""Every operator's name, in the order of the language reference and of the policy formatter."""

ORDERED: Final[frozenset[str]] = frozenset(name for name, op in OPERATORS.items() if op.order)
"""The operators that compare by order (numbers and dates)."""


def operator(name: str) -> Operator:
    """The operator called `name`; ValueError (not KeyError) for a name no operator has."""
    try:
        return OPERATORS[name]
    except KeyError:
        raise ValueError(f"unknown operator {name!r}; expected one of: {', '.join(OPERATORS)}") from None


def satisfying(op: str, value: Any) -> Any:
    """A field value for which `op` holds against this one member of its operand."""
    examples = operator(op).examples
    return examples(value)[0] if examples is not None else value


def _validate(ops: dict[str, Operator]) -> None:
    """Every operator is complete and names only operators that exist."""
    for name, op in ops.items():
        missing = [
            piece
            for piece, absent in (
                ("kinds", not op.kinds),
                ("needs", not op.needs),
                ("field_types", not op.field_types),
                ("holds_when", not op.holds_when),
                (
                    "durable (a `test` operator needs its durable_rules test)",
                    op.network == "test" and op.durable is None,
                ),
                (
                    "mirror (an operator that compares with fields needs one)",
                    op.field_operand and op.mirror is None and op.network == "test",
                ),
            )
            if absent
        ]
        if name != op.name:
            missing.append(f"name (registered as {name!r}, declares {op.name!r})")
        if missing:
            raise RegistryError(f"operator {name!r} is missing: {', '.join(missing)}")
        for role, other in (("negation", op.negation), ("mirror", op.mirror)):
            if other is not None and other not in ops:
                raise RegistryError(f"operator {name!r} names the {role} {other!r}, which is not an operator")
        if op.negation is not None and ops[op.negation].negation != name:
            raise RegistryError(f"operator {name!r}: its negation {op.negation!r} does not negate it back")
        if op.network == "expanded" and name not in EXPANDED:
            raise RegistryError(
                f"operator {name!r} is `expanded`, but the compiler expands only {', '.join(sorted(EXPANDED))}; "
                "declare a durable_rules test (`test`) or a Python meaning worked out in the facts (`fact`)"
            )
        if op.network == "fact" and op.field_operand:
            raise RegistryError(f"operator {name!r} is evaluated in the facts, so it compares with values only")


_validate(OPERATORS)


def docs_table() -> str:
    """The operator table of docs/language.md (section 7.1), generated from the registry."""
    lines = ["| Operator | Field types | Holds when |", "|---|---|---|"]
    lines += [f"| `{op.name}` | {op.field_types} | {op.holds_when} |" for op in OPERATORS.values()]
    return "\n".join(lines) + "\n"
