"""Hypothesis strategies and invariants for property-based testing of policies and of the engine.

    from hypothesis import given
    from policy_engine.testing import requests, policy_documents, check_proofs

The generic strategies draw from small pools of categories, brands and dates so that generated conditions
and requests actually meet (a rule that never fires tests nothing). `policy_requests(engine)` builds
requests from an engine's own policies (their constants, boundaries and near misses), and
`assert_equivalent`, `assert_no_new_allows` and `assert_matches_reference` are regression properties
over them (see docs/testing.md).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from ._language.operators import OPERATORS, ORDERED
from ._language.semantics import compare, main_categories, merged_count
from ._pipeline.request import resolve_pointer
from .decision import Decision, Proof

if TYPE_CHECKING:
    from .engine import Engine

__all__ = [
    "BRANDS",
    "CATEGORIES",
    "EDGE_NUMBERS",
    "EDGE_TEXTS",
    "analyst_requests",
    "assert_equivalent",
    "assert_matches_reference",
    "assert_no_new_allows",
    "assert_refused_or_matches_reference",
    "check_policy_documents",
    "check_proofs",
    "extreme_numbers",
    "extreme_texts",
    "json_values",
    "mutated",
    "policy_documents",
    "policy_requests",
    "requests",
]

CATEGORIES = ("shoes", "shoes/sneakers", "shoes/boots/hiking", "bags", "cycling", "cycling/bikes")
BRANDS = ("Acme", "Bolt", "Cato")
BASE_DAY = dt.date(2024, 3, 1)
PLATFORMS = ("aliexpress", "dhgate")


def _day(offset: int) -> str:
    return (BASE_DAY + dt.timedelta(days=offset)).isoformat()


_dates = st.integers(-3, 3).map(_day)
# Sellers, brand owners and distributors: a trademark is the seller's when its owner is the seller's legal
# name (or missing); an authorization's chain is complete when its letters link down to its grantor.
_LEGAL_NAMES = ("Acme Trading Ltd", "Bolt Holdings", "Cato Distribution")
_cats = st.sampled_from(CATEGORIES)
_brands = st.sampled_from(BRANDS)


@st.composite
def requests(draw: Any, platform: str | None = None) -> dict[str, Any]:
    """Valid listing requests around 2024-03-01, on a few categories and brands."""

    def maybe(key: str, strategy: Any) -> dict[str, Any]:
        return {key: draw(strategy)} if draw(st.booleans()) else {}

    seller: dict[str, Any] = {
        **maybe("legal_name", st.sampled_from(_LEGAL_NAMES)),
        **maybe("entity_type", st.sampled_from(["enterprise", "individual_business", "individual"])),
        **maybe("account_status", st.sampled_from(["active", "warned", "suspended", "closed"])),
        **maybe("categories", st.lists(_cats, max_size=4)),
        **maybe("commitments", st.lists(_cats, max_size=2)),
        **maybe(
            "trademarks",
            st.lists(
                st.fixed_dictionaries(
                    {"mark": _brands, "status": st.sampled_from(["registered", "pending", "expired"])},
                    optional={
                        "owner": st.sampled_from(_LEGAL_NAMES),  # the seller's own or another's
                        "mark_type": st.sampled_from(["word", "design_only"]),
                        "filed_on": _dates,
                        "classes": st.lists(st.sampled_from([9, 25]), min_size=1, max_size=2),
                    },
                ),
                max_size=3,
            ),
        ),
        **maybe(
            "authorizations",
            st.lists(
                st.fixed_dictionaries(
                    {"brand": _brands},
                    optional={
                        "valid_from": _dates,
                        "valid_to": _dates,
                        "level": st.integers(1, 3),
                        "grantor": st.sampled_from(_LEGAL_NAMES),
                        "chain": st.lists(
                            st.fixed_dictionaries(
                                {"grantor": st.sampled_from(_LEGAL_NAMES), "grantee": st.sampled_from(_LEGAL_NAMES)},
                                optional={"sublicensable": st.booleans()},
                            ),
                            max_size=2,
                        ),
                        "platforms": st.lists(st.sampled_from(PLATFORMS), min_size=1, max_size=2),
                    },
                ),
                max_size=3,
            ),
        ),
        **maybe(
            "grants",
            st.lists(
                st.fixed_dictionaries(
                    {
                        "kind": st.sampled_from(["brand_qualification", "category_admission"]),
                        "status": st.sampled_from(["approved", "pending", "revoked"]),
                    },
                    optional={
                        "category": _cats,
                        "brand": _brands,
                        "expires_on": _dates,
                        "platform": st.sampled_from(PLATFORMS),
                    },
                ),
                max_size=3,
            ),
        ),
        **maybe(
            "violations",
            st.lists(
                st.fixed_dictionaries(
                    {
                        "kind": st.sampled_from(["counterfeit", "trademark"]),
                        "status": st.sampled_from(["open", "upheld", "retracted"]),
                    },
                    optional={"brand": _brands, "occurred_on": _dates},
                ),
                max_size=3,
            ),
        ),
        **maybe(
            "metrics",
            st.dictionaries(
                st.sampled_from(["dispute_rate", "refund_rate"]),
                st.sampled_from([0.0, 0.05, 0.1, 0.2]),
                max_size=2,
            ),
        ),
    }
    product: dict[str, Any] = {
        "category": draw(_cats),
        # a brand or title that equals a field every request has (a status, the platform) now and then
        **maybe("brand", st.one_of(st.none(), _brands, st.sampled_from(["active", "closed"]))),
        **maybe("title", st.one_of(_brands, _texts, st.sampled_from(PLATFORMS))),
        **maybe("description", _texts),
        **maybe(
            "attributes",
            st.dictionaries(
                st.sampled_from(["voltage", "kids"]),
                st.sampled_from(_ATTRIBUTE_VALUES),
                max_size=2,
            ),
        ),
    }
    return {
        "platform": platform or draw(st.sampled_from(PLATFORMS)),
        **maybe("marketplace", st.sampled_from(["aliexpress.com", "acme.ru", "dhgate.com"])),
        "as_of": draw(_dates),
        "seller": seller,
        "product": product,
    }


# Values of product attributes (a field of any kind): texts, numbers and booleans at the edges where they meet:
# zeros of both signs, 1 and 1.0 and True, exponents, the largest exact integers, texts that read as numbers,
# booleans or dates.
_ATTRIBUTE_NUMBERS = (0, 0.0, -0.0, 1, 1.0, -1, 0.5, 1e-05, 1e16, 2**53, -(2**53), 110, 110.0, 220)
_ATTRIBUTE_TEXTS = ("", "0", "1", "true", "220", "a", "A", "yes", "2024-01-01", "Pro", "Pro Max", 'a"', "a\\", "a\tb")
_ATTRIBUTE_VALUES = (*_ATTRIBUTE_NUMBERS, *_ATTRIBUTE_TEXTS, True, False)


def _attribute_comparison() -> Any:
    """A comparison of a product attribute the checks admit: equality with any value, membership in values
    of one kind, order against a number (the only values a field of any kind is ordered by), presence."""
    path = st.sampled_from(["product.attributes.voltage", "product.attributes.kids"])
    one_kind = st.one_of(
        st.lists(st.sampled_from(_ATTRIBUTE_NUMBERS), min_size=1, max_size=3, unique=True),
        st.lists(st.sampled_from(_ATTRIBUTE_TEXTS), min_size=1, max_size=3, unique=True),
        st.lists(st.booleans(), min_size=1, max_size=2, unique=True),
    )
    return st.one_of(
        st.builds(
            lambda f, op, v: {"field": f, op: v},
            path,
            st.sampled_from(["equals", "not_equals"]),
            st.sampled_from(_ATTRIBUTE_VALUES),
        ),
        st.builds(lambda f, op, v: {"field": f, op: v}, path, st.sampled_from(["in", "not_in"]), one_kind),
        st.builds(
            lambda f, op, v: {"field": f, op: v},
            path,
            st.sampled_from(sorted(ORDERED)),
            st.sampled_from(_ATTRIBUTE_NUMBERS),
        ),
        st.builds(lambda f, v: {"field": f, "exists": v}, path, st.booleans()),
    )


def _shift() -> Any:
    return st.one_of(
        st.just({}),
        st.fixed_dictionaries({"days": st.integers(-2, 2)}),
        st.fixed_dictionaries({"months": st.integers(-1, 1)}),
    )


# Operators over text fields (`contains`, `matches`), each with the operands it accepts (its registry check).
_TEXT_OPS = sorted(name for name, op in OPERATORS.items() if op.kinds == {"string"})
_TEXT_OPERANDS = (
    *("acme", "ACME", "é", "手机", ".", "*", "a.c", '"', "\\", " ", "ß", "İ", "😀"),
    *(".*acme.*", "acme.*", ".*[0-9]+.*", ".*\\..*", ".*[^a-z]acme[^a-z].*", "...?", ".*手机.*", "[a-c]+"),
)


def _text_comparison(path: str, op: str) -> Any:
    check = OPERATORS[op].check_value
    valid = [v for v in _TEXT_OPERANDS if check is None or check(v) is None]
    one = st.sampled_from(valid)
    return st.builds(
        lambda v: {"field": path, op: v}, st.one_of(one, st.lists(one, min_size=1, max_size=2, unique=True))
    )


# Titles and descriptions: brands, text around them, unicode, pattern metacharacters, empty, long.
_MATCH_TEXTS = (
    "",
    "Acme",
    "ACME Runner 2",
    "new acme shoes",
    "acmé",
    "a.c",
    "abc",
    "a*c",
    '12" monitor',
    "back\\slash",
    "İstanbul",
    "STRASSE straße",
    "手机壳 ACME",
    "😀 acme 😀",
    "tab\tand\nnewline",
    "x" * 5000 + "acme",
)
_texts = st.one_of(
    st.sampled_from(_MATCH_TEXTS),
    st.text(alphabet=st.sampled_from('aceAM.*[]\\ 手é"ßİ\n'), max_size=12),
    st.text(max_size=8),
)

_ROOT_COMPARISONS = st.one_of(
    st.builds(
        lambda op, v: {"field": "seller.entity_type", op: v},
        st.sampled_from(["equals", "not_equals"]),
        st.sampled_from(["enterprise", "individual"]),
    ),
    st.builds(
        lambda op, v: {"field": "seller.account_status", op: v},
        st.sampled_from(["in", "not_in"]),
        st.lists(st.sampled_from(["closed", "suspended", "warned"]), min_size=1, max_size=2, unique=True),
    ),
    st.builds(lambda op, v: {"field": "product.category", op: v}, st.sampled_from(["under", "equals"]), _cats),
    st.builds(
        lambda v: {"field": "product.category", "under": v},
        st.lists(_cats, min_size=1, max_size=2, unique=True),
    ),
    st.builds(lambda v: {"field": "product.brand", "exists": v}, st.booleans()),
    st.builds(lambda v: {"field": "product.brand", "equals": v}, _brands),
    st.builds(
        lambda op, v: {"field": "seller.metrics.dispute_rate", op: v},
        st.sampled_from(sorted(ORDERED)),
        st.sampled_from([0.05, 0.1]),
    ),
    st.builds(lambda op, v: {"field": "request.as_of", op: v}, st.sampled_from(["at_least", "less_than"]), _dates),
    st.builds(lambda n: {"count": "seller.categories", "at_least": n}, st.integers(0, 3)),
    st.builds(
        lambda n, inc: {"count": "seller.categories", "distinct": "main_category", **inc, "greater_than": n},
        st.integers(0, 3),
        st.sampled_from([{}, {"including": "product.category"}]),
    ),
    st.builds(
        lambda n, s: {"count": "seller.violations", "where": [{"field": "item.status", "in": s}], "at_least": n},
        st.integers(1, 2),
        st.lists(st.sampled_from(["open", "upheld"]), min_size=1, unique=True),
    ),
    st.builds(
        lambda n, s, d: {
            "count": "seller.violations",
            "where": [{"field": "item.status", "in": s}],
            "merge": {"field": "item.occurred_on", "within_days": d},
            "at_least": n,
        },
        st.integers(1, 3),
        st.lists(st.sampled_from(["open", "upheld"]), min_size=1, unique=True),
        st.sampled_from([1, 3, 30]),
    ),
    st.builds(
        lambda n, d: {
            "count": "seller.authorizations",
            "less_than": n,
            "where": [
                {"field": "item.brand", "equals": {"field": "product.brand"}},
                {"not": {"field": "item.valid_to", "less_than": {"as_of": d}}},
            ],
        },
        st.integers(1, 2),
        _shift(),
    ),
    st.builds(
        lambda op: {"field": "product.brand", op: {"field": "product.title"}},
        st.sampled_from(["equals", "not_equals"]),
    ),
    _attribute_comparison(),
    *(_text_comparison(path, op) for path in ("product.title", "product.description") for op in _TEXT_OPS),
    *(_text_comparison(path, op) for path in ("request.platform", "request.marketplace") for op in _TEXT_OPS),
    # a field of another fact compared with one every request has (no test of its presence is needed)
    st.builds(
        lambda op, pair: {"field": pair[0], op: {"field": pair[1]}},
        st.sampled_from(["equals", "not_equals"]),
        st.sampled_from(
            [
                ("seller.account_status", "product.brand"),
                ("product.brand", "seller.account_status"),
                ("request.platform", "product.title"),
                ("product.title", "request.platform"),
            ]
        ),
    ),
)


def _item_conditions(list_path: str, negated_context: bool) -> Any:
    brand_join = {"trademarks": "item.mark"}.get(list_path.split(".")[1], "item.brand")
    common: list[Any] = []
    if list_path == "seller.trademarks":
        common += [
            st.builds(lambda v: {"field": "item.status", "equals": v}, st.sampled_from(["registered", "pending"])),
            st.just({"not": {"field": "item.mark_type", "equals": "design_only"}}),
            st.just({"field": brand_join, "equals": {"field": "product.brand"}}),
            st.builds(lambda c: {"field": "item.classes", "includes": c}, st.sampled_from([9, [9, 25]])),
            st.builds(lambda s: {"field": "item.filed_on", "at_least": {"as_of": s}}, _shift()),
        ]
    elif list_path == "seller.authorizations":
        common += [
            st.just({"field": "item.brand", "equals": {"field": "product.brand"}}),
            st.builds(
                lambda s: {
                    "any": [
                        {"field": "item.valid_to", "exists": False},
                        {"field": "item.valid_to", "at_least": {"as_of": s}},
                    ]
                },
                _shift(),
            ),
            st.builds(lambda s: {"not": {"field": "item.valid_from", "greater_than": {"as_of": s}}}, _shift()),
            st.just(
                {
                    "any": [
                        {"field": "item.platforms", "exists": False},
                        {"field": "item.platforms", "includes": {"field": "request.platform"}},
                    ]
                }
            ),
            st.builds(lambda n: {"field": "item.level", "at_most": n}, st.integers(1, 2)),
        ]
    elif list_path == "seller.grants":
        common += [
            st.builds(
                lambda v: {"field": "item.kind", "equals": v},
                st.sampled_from(["brand_qualification", "category_admission"]),
            ),
            st.builds(
                lambda v: {"field": "item.status", "in": v},
                st.lists(st.sampled_from(["approved", "pending"]), min_size=1, unique=True),
            ),
            st.just({"field": "product.category", "under": {"field": "item.category"}}),
            st.just({"field": "item.brand", "equals": {"field": "product.brand"}}),
            st.builds(lambda s: {"field": "item.expires_on", "at_least": {"as_of": s}}, _shift()),
        ]
        if not negated_context:
            common.append(st.just({"field": "item.category", "under": {"field": "product.category"}}))
    elif list_path == "seller.violations":
        common += [
            st.builds(
                lambda v: {"field": "item.status", "in": v},
                st.lists(st.sampled_from(["open", "upheld"]), min_size=1, unique=True),
            ),
            st.just({"field": "item.brand", "equals": {"field": "product.brand"}}),
            st.builds(lambda s: {"field": "item.occurred_on", "at_least": {"as_of": s}}, _shift()),
        ]
    else:  # seller.categories / seller.commitments
        common += [
            st.just({"field": "product.category", "under": {"field": "item"}}),
            st.builds(lambda c: {"field": "item", "under": c}, _cats),
            st.just({"field": "item", "equals": {"field": "product.category"}}),
        ]
    return st.one_of(*common)


@st.composite
def _some(draw: Any, negated_context: bool) -> dict[str, Any]:
    list_path = draw(
        st.sampled_from(
            [
                "seller.trademarks",
                "seller.authorizations",
                "seller.grants",
                "seller.violations",
                "seller.categories",
                "seller.commitments",
            ]
        )
    )
    where = draw(st.lists(_item_conditions(list_path, negated_context), min_size=1, max_size=3))
    return {"some": list_path, "where": where}


@st.composite
def _condition(draw: Any, derived: list[str], depth: int = 0) -> dict[str, Any]:
    kinds = ["root", "some", "not-some"] + (["derived", "not-derived"] if derived else [])
    if depth < 1:
        kinds += ["any", "not-root"]
    kind = draw(st.sampled_from(kinds))
    if kind == "root":
        root: dict[str, Any] = draw(_ROOT_COMPARISONS)
        return root
    if kind == "not-root":
        return {"not": draw(_ROOT_COMPARISONS)}
    if kind == "some":
        some: dict[str, Any] = draw(_some(False))
        return some
    if kind == "not-some":
        return {"not": draw(_some(True))}
    if kind == "derived":
        return {"derived": draw(st.sampled_from(derived))}
    if kind == "not-derived":
        return {"not": {"derived": draw(st.sampled_from(derived))}}
    return {"any": draw(st.lists(_condition(derived, depth + 1), min_size=2, max_size=3))}


@st.composite
def policy_documents(draw: Any, platform: str = "aliexpress", max_rules: int = 6) -> dict[str, Any]:
    """Valid, stratifiable policy documents using every condition form of the language."""
    n = draw(st.integers(1, max_rules))
    rules: list[dict[str, Any]] = []
    derived: list[str] = []
    message = {"en": "Rule fired for {product.brand} in {product.category}.", "zh": "规则触发。"}
    for i in range(n):
        when = draw(st.lists(_condition(list(derived)), min_size=1, max_size=3))
        if draw(st.booleans()) and i < n - 1:
            # Reusing a name only from rules that use no conclusion keeps the rules stratifiable.
            uses = "derived" in repr(when)
            names = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", *(f"conclusion_{k}" for k in range(n)))
            fresh = [x for x in names if x not in derived]
            name = fresh[0] if uses or not derived else draw(st.sampled_from([*derived, fresh[0]]))
            rules.append({"id": f"r{i}", "when": when, "derive": name})
            if name not in derived:
                derived.append(name)
        else:
            outcome = draw(st.sampled_from(["deny", "review", "allow", "advisory"]))
            rule: dict[str, Any] = {"id": f"r{i}", "when": when, "outcome": outcome, "message": message}
            if outcome == "deny":
                rule["remedies"] = [{"code": "fix", "en": "Fix it.", "zh": "修正。"}]
            rules.append(rule)
    return {
        "id": f"{platform}.generated",
        "version": "1.0.0",
        "platform": platform,
        "effective_from": "2000-01-01",
        "title": "Generated policy",
        "sources": [{"document": "generated", "provenance": "illustrative"}],
        "rules": rules,
    }


def _check_step_facts(proof: Proof, request: dict[str, Any]) -> list[str]:
    problems = []
    for p in proof.walk():
        for step in p.steps:
            for ev in step.evidence:
                try:
                    value = resolve_pointer(request, ev.pointer)
                except (KeyError, IndexError, ValueError):
                    problems.append(f"{p.rule}: {ev.pointer} is not in the request")
                    continue
                if value != ev.value:
                    problems.append(f"{p.rule}: {ev.pointer} is {value!r}, the proof says {ev.value!r}")
            cond, negated = step.condition, False
            while "not" in cond:
                cond, negated = cond["not"], not negated
            if step.kind == "fact" and "field" in cond and step.evidence:
                (op,) = (k for k in cond if k != "field")
                right = cond[op]
                if isinstance(right, dict):
                    continue  # joins are checked through the reference evaluator
                left = step.evidence[0].value
                right = tuple(right) if isinstance(right, list) else right
                if isinstance(left, list):
                    left = tuple(left)
                if compare(op, left, right) == negated:
                    problems.append(f"{p.rule}: {step.text} does not hold for {left!r}")
            if step.kind == "count":
                (op,) = (k for k in cond if k not in ("count", "where", "distinct", "including", "merge"))
                count = len(step.evidence)  # the elements counted, each cited
                if "merge" in cond:
                    field = cond["merge"]["field"].partition(".")[2]
                    dates = [e.value.get(field) if isinstance(e.value, dict) else None for e in step.evidence]
                    count = merged_count(dates, cond["merge"]["within_days"])
                if "distinct" in cond:
                    count = len(main_categories([e.value for e in step.evidence]))
                if compare(op, count, cond[op]) == negated:
                    problems.append(f"{p.rule}: {step.text} does not hold")
            if step.kind == "derived" and step.because is None:
                problems.append(f"{p.rule}: {step.text} has no proof")
    return problems


def check_proofs(decision: Decision, request: dict[str, Any]) -> list[str]:
    """Problems with the decision's proofs: every cited value must be in the request and satisfy the rule."""
    problems: list[str] = []
    for reason in (*decision.reasons, *decision.advisories):
        if reason.proof is None:
            continue
        if reason.proof.rule != reason.rule:
            problems.append(f"{reason.rule}: proof is for {reason.proof.rule}")
        problems += _check_step_facts(reason.proof, request)
    return problems


# --- Fuzzing: values at the edges of the input space, and mutations of real documents ---------------

EDGE_NUMBERS: tuple[Any, ...] = (
    0,
    -0.0,
    1,
    -1,
    0.05,
    0.049999999999999996,
    0.05000000000000001,
    1e-05,
    3e-07,
    5e-324,
    -5e-324,
    2.2250738585072014e-308,
    1e16,
    1e22,
    1e100,
    -1e100,
    1.7976931348623157e308,
    2**31,
    2**53 - 1,
    2**53,
    2**53 + 1,
    2**62,
    2**63 - 1,
    2**63,
    -(2**63),
    2**64,
    10**30,
    float(2**63),
    float("nan"),
    float("inf"),
    float("-inf"),
)
EDGE_TEXTS: tuple[str, ...] = (
    "",
    " ",
    "1e-05",
    "3e+8",
    '"',
    "\\",
    "\\u0000",
    "\x00",
    "\n\t",
    "\ud800",
    "a\udfffb",
    "\U0001f600",
    "手机数据线",
    "é" * 3,
    "shoes",
    "shoes/sneakers",
    "Shoes/Sneakers",
    "shoes/",
    "/shoes",
    "2024-02-30",
    "9999-12-31",
    "0001-01-01",
    "x" * 70_000,
    "ß" * 1000,
)


def extreme_numbers() -> Any:
    """Numbers at the edges: tiny, huge, negative zero, beyond 2^53 and 2^63, not finite, and any float."""
    return st.one_of(
        st.sampled_from(EDGE_NUMBERS),
        st.floats(allow_nan=True, allow_infinity=True),
        st.floats(min_value=-1.0, max_value=1.0, allow_subnormal=True),
        st.integers(min_value=-(2**70), max_value=2**70),
    )


def extreme_texts() -> Any:
    """Text at the edges: empty, escapes, control characters, lone surrogates, astral and CJK, very long."""
    return st.one_of(
        st.sampled_from(EDGE_TEXTS),
        st.text(max_size=20),
        st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF), max_size=8),
        st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"]), min_size=1, max_size=2),
    )


def json_values(max_depth: int = 3) -> Any:
    """Any JSON-like value, leaves at the edges, plus deep nesting and long lists."""
    leaves = st.one_of(st.none(), st.booleans(), extreme_numbers(), extreme_texts())
    nested = st.recursive(
        leaves,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(extreme_texts(), inner, max_size=4)),
        max_leaves=8,
    )
    deep = st.integers(30, 200).map(_nest)
    long = st.integers(999, 1200).map(lambda n: ["shoes"] * n)
    return st.one_of(nested, nested, nested, deep, long)


def _same_shape(value: Any) -> Any:
    """A value of the same kind and form at its edges: a date a day off or at the calendar's ends, a
    category's parent or child, a number nearby or at a float's edges; such requests stay valid."""
    if isinstance(value, (int, float)):
        near = [value, -value, value * 2, value / 3, value + 1e-9, value - 1e-9] if value else [0, 1e-300, 5e-324]
        finite = [
            v for v in (*near, *EDGE_NUMBERS) if isinstance(v, (int, float)) and v == v and abs(v) != float("inf")
        ]
        return st.sampled_from(finite) | st.floats(allow_nan=False, allow_infinity=False)
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return st.just(value)
        days = [
            day + dt.timedelta(days=d)
            for d in (-1, 1)
            if dt.date.min + dt.timedelta(days=1) <= day <= dt.date.max - dt.timedelta(days=1)
        ]
        return st.sampled_from([d.isoformat() for d in days] + ["0001-01-01", "9999-12-31", "2024-02-29"])
    if value and all(c.islower() or c.isdigit() or c in "-/" for c in value):  # a category path
        parts = value.split("/")
        return st.sampled_from(["/".join(parts[:-1]) or value, value + "/x", value + "/a-b/c", parts[0]])
    return extreme_texts()


def _nest(depth: int) -> Any:
    value: Any = "x"
    for n in range(depth):
        value = [value] if n % 2 else {"a": value}
    return value


def _pointers(doc: Any, max_depth: int = 12) -> list[tuple[str, Any]]:
    """Every place in a document (pointer and value), not descending past `max_depth`."""
    out: list[tuple[str, Any]] = []
    stack: list[tuple[str, Any, int]] = [("", doc, 0)]
    while stack:
        pointer, value, depth = stack.pop()
        out.append((pointer, value))
        if depth >= max_depth:
            continue
        if isinstance(value, dict):
            for key, item in value.items():
                stack.append((f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}", item, depth + 1))
        elif isinstance(value, list):
            for i, item in enumerate(value[:50]):
                stack.append((f"{pointer}/{i}", item, depth + 1))
    return sorted(out, key=lambda place: place[0])


def _replace(doc: Any, pointer: str, value: Any, delete: bool = False) -> Any:
    if not pointer:
        return value
    parent_pointer, _, last = pointer.rpartition("/")
    parent = resolve_pointer(doc, parent_pointer)
    key: Any = int(last) if isinstance(parent, list) else last.replace("~1", "/").replace("~0", "~")
    if delete:
        del parent[key]
    else:
        parent[key] = value
    return doc


@st.composite
def mutated(draw: Any, documents: Any, max_mutations: int = 3) -> Any:
    """A deep copy of a drawn document with a few values replaced by edge values, of its own kind or not.

    `documents` is a strategy (or a sequence) of JSON documents, e.g. the requests of the analysts' test
    cases or the shipped policies. Each mutation picks a place in the document and either replaces the
    value with one of the same kind at its edges (a number with an extreme number, a text with an
    extreme text), replaces it with any JSON value, deletes it, adds an unknown key, or repeats a list.
    """
    import copy

    if not hasattr(documents, "example"):
        documents = st.sampled_from(list(documents))
    doc = copy.deepcopy(draw(documents))
    for _ in range(draw(st.integers(1, max_mutations))):
        places = _pointers(doc)
        pointer, value = draw(st.sampled_from(places))
        kind = draw(st.sampled_from(["edge"] * 4 + ["same-shape"] * 10 + ["any", "delete", "add", "repeat"]))
        if kind == "edge" and isinstance(value, bool):
            doc = _replace(doc, pointer, not value)
        elif kind == "edge" and isinstance(value, (int, float)):
            doc = _replace(doc, pointer, draw(extreme_numbers()))
        elif kind == "edge" and isinstance(value, str):
            doc = _replace(doc, pointer, draw(extreme_texts()))
        elif kind == "same-shape" and isinstance(value, (str, int, float)) and not isinstance(value, bool):
            doc = _replace(doc, pointer, draw(_same_shape(value)))
        elif kind == "delete" and pointer:
            doc = _replace(doc, pointer, None, delete=True)
        elif kind == "add" and isinstance(value, dict):
            value[draw(extreme_texts())] = draw(json_values())
        elif kind == "repeat" and isinstance(value, list) and value:
            value.extend(copy.deepcopy(value[:1]) * draw(st.sampled_from([1, 2, 999, 1000])))
        else:
            doc = _replace(doc, pointer, draw(json_values()))
    return doc


def analyst_requests(*folders: str | Path) -> list[dict[str, Any]]:
    """The requests of the analysts' test cases under the policy folders (default: the shipped ones)."""
    from ._tools.suite import load_cases
    from .errors import PolicyEngineError
    from .resources import data_dir

    out: list[dict[str, Any]] = []
    for folder in folders or (data_dir("policies"),):
        for path in sorted(Path(folder).glob("**/tests/*.json")):
            doc = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(doc, dict) and isinstance(doc.get("request"), dict) and "cases" not in doc:
                out.append(doc["request"])
            elif isinstance(doc, dict) and isinstance(doc.get("cases"), list):
                with contextlib.suppress(PolicyEngineError):  # each case of a table, its request resolved
                    out += [case.request for case in load_cases(path)]
    return out


def assert_refused_or_matches_reference(engine: Engine, raw: Any) -> str:
    """The fuzzing property: a request is refused with a RequestError, or decided as the reference decides.

    Returns "refused" or the outcome. An accepted request must be valid against the request schema and
    the engine-safety checks; its outcome, deciding rules, advisories and derived conclusions must equal
    the independent reference evaluator's, with no engine error.
    """
    from ._language import schemas
    from ._language.reference import evaluate
    from ._pipeline.request import normalize_request
    from .errors import RequestError

    try:
        decision = engine.decide(raw)
    except RequestError as exc:
        assert exc.problems, "a RequestError names at least one problem"
        for problem in exc.problems:
            assert problem.pointer == "" or problem.pointer.startswith("/"), problem
            str(problem).encode("utf-8")
        return "refused"
    assert schemas.validate("request", raw) == [], "the engine accepted a request the schema refuses"
    assert schemas.value_problems(raw) == [], "the engine accepted a value it cannot compare faithfully"
    req = normalize_request(raw)
    ref = evaluate(engine.in_force(req.platform, req.as_of), req, engine._platform_default(req.platform))
    assert decision.error is None, decision.error
    got = (decision.outcome, decision.rules, tuple(a.rule for a in decision.advisories), decision.derived)
    want = (ref.outcome, ref.rules, ref.advisories, ref.derived)
    assert got == want, (
        f"the network decided {got}, the reference evaluator {want}, for "
        f"{json.dumps(raw, ensure_ascii=True, sort_keys=True)[:4000]}"
    )
    return decision.outcome


def check_policy_documents(documents: dict[str, Any], requests: Sequence[dict[str, Any]]) -> str:
    """The policy fuzzing property, for one set of documents ({relative path: JSON document}).

    The documents are written to a temporary folder and loaded: either they are refused (`LoadError` or
    `CompileError`) with every problem naming its file and a JSON pointer, and this returns "refused"; or
    they load, every request is refused or decided as the reference evaluator decides
    (`assert_refused_or_matches_reference`), and this returns "agreed". Module level and picklable, so
    it can run in an `policy_engine.isolation.Isolated` child: mutated policies build many networks.
    """
    import tempfile

    from .engine import Engine
    from .errors import CompileError, LoadError

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for rel, doc in documents.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(doc, ensure_ascii=True), encoding="utf-8")
        try:
            engine = Engine.from_directory(root, cache=False)  # one-off documents: nothing to keep
        except (LoadError, CompileError) as exc:
            assert exc.problems, "a refusal names at least one problem"
            for problem in exc.problems:
                assert problem.file, problem
                assert problem.pointer == "" or problem.pointer.startswith("/"), problem
            return "refused"
        try:
            for raw in requests:
                assert_refused_or_matches_reference(engine, raw)
        finally:
            engine.close()
    return "agreed"


# --- Requests built from the policies, and regression properties -------------------------------------


def _as_date(value: dt.date | str) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _policy_dates(engine: Engine, platform: str) -> list[dt.date]:
    """Version boundaries of the platform, a day either side, and today: the days the platform has a policy."""
    from ._tools.generate import boundary_dates

    days: set[dt.date] = {dt.datetime.now(dt.timezone.utc).date()}
    for boundary in boundary_dates(engine.policies, platform):
        for delta in (-1, 0, 1):
            days.add(boundary + dt.timedelta(days=delta))
    return sorted(d for d in days if any(p.platform == platform for p in engine.in_force(platform, d)))


_MODES = ("decisive", "decisive", "decisive", "decisive", "fire", "near", "constant", "mixed")


def policy_requests(
    engine: Engine,
    platform: str | None = None,
    as_of: dt.date | str | None = None,
    taxonomies: dict[str, Any] | None = None,
    against: Engine | None = None,
) -> Any:
    """Requests built from the engine's policies, biased towards their boundaries and near misses.

    Each example picks a platform, a date (a version boundary, a day either side of it, or today; or
    `as_of`) and an outcome rule in force then, and builds a request that makes the rule decide (every
    rule of a higher or equal outcome made to fail), fire, or miss by one condition, or that puts one of
    its constants (a number just below, at or above; a date a day either side; each member of a set and
    one non-member; each category and its children) in its comparison, or mixes earlier requests.
    Every example is a full request valid against `schemas/request.json`. `taxonomies` (platform ->
    categories) adds the categories of the platform's taxonomy. With `against` (another engine), only
    the rules that decide differently from its rules on the same date are drawn (their conditions, named
    data, or the rules deriving what they use differ), as long as some do.
    """
    import random

    from ._tools.generate import (
        Pools,
        RequestGenerator,
        condition_texts,
        differing_targets,
        signatures,
        targets,
    )

    platforms = [platform] if platform is not None else sorted(engine.platforms)
    by_rule: dict[str, list[tuple[str, dt.date, int]]] = {}
    changed: dict[str, list[tuple[str, dt.date, int]]] = {}
    generators: dict[tuple[str, dt.date], Any] = {}
    pools: dict[str, Pools] = {}
    # With `against`: per changed rule, the nodes of its conditions (or of the rules deriving what it uses)
    # that the other side has nowhere, such as a condition one side dropped: near misses there first.
    differing: dict[tuple[str, dt.date, int], list[Any]] = {}
    for name in platforms:
        own = [p for p in engine.policies if p.platform in (name, "*")]
        pools[name] = Pools(own, (taxonomies or {}).get(name, ()))
        days = [_as_date(as_of)] if as_of is not None else _policy_dates(engine, name)
        for day in days:
            in_force = engine.in_force(name, day)
            if not any(p.platform == name for p in in_force):
                continue
            generator = RequestGenerator([in_force], name, day, pools[name], random.Random(0))
            generators[(name, day)] = generator
            mine = signatures(in_force)
            theirs: set[str] = set()
            their_conditions: dict[Any, set[str]] = {}
            if against is not None and name in against.platforms:
                theirs = set(signatures(against.in_force(name, day)).values())
                their_conditions = condition_texts(against.in_force(name, day))
            for i, (side, rule) in enumerate(generator.rules):
                policy = next(p for p in side.policies if rule in p.rules)
                by_rule.setdefault(policy.cite(rule), []).append((name, day, i))
                if against is not None and mine[(policy.id, rule.id)] not in theirs:
                    changed.setdefault(policy.cite(rule), []).append((name, day, i))
                    differing[(name, day, i)] = differing_targets(rule, generator.derive_rules, their_conditions)
    entries = sorted((changed or by_rule).values())
    if not entries:
        where = f"platform {platform!r}" if platform else "any platform"
        raise ValueError(f"no policy of {where} is in force{f' on {as_of}' if as_of else ''}")

    def build(dates: list[tuple[str, dt.date, int]], seed: int) -> dict[str, Any]:
        # Every rule alike (each rule drawn once before any is drawn twice, as hypothesis tries distinct
        # choices first), then one seed drives the other choices.
        rng = random.Random(seed)
        name, day, index = rng.choice(dates)
        generator = generators[(name, day)]
        generator.rng = rng
        rule = generator.rule(index)
        preferred = differing.get((name, day, index))
        mode = "near" if preferred and rng.random() < 0.5 else rng.choice(_MODES)
        req: dict[str, Any] | None = None
        if mode in ("decisive", "fire"):
            req = generator.build(rule, decisive=mode == "decisive")
        elif mode == "near":
            near = preferred if preferred and rng.random() < 0.8 else targets(rule, generator.derive_rules)
            if near:
                req = generator.build(rule, rng.choice(near), decisive=rng.random() < 0.5)
        elif mode == "constant":
            forces = generator.constants(rule)
            if forces:
                req = generator.build(rule, force=rng.choice(forces), decisive=True)
        else:
            first = generator.build(rule)
            if first is not None:
                generator.seen = [first]
                req = generator.random()
        if req is None:  # the rule could not be built into a valid request: fall back to a plain one
            req = generator.build(rule, target=()) or generator.plain()
        assert req is not None
        return req

    return st.builds(build, st.sampled_from(entries), st.integers(0, 2**32 - 1))


def _explain(title: str, request: dict[str, Any], decisions: dict[str, Any]) -> str:
    from ._pipeline.explain import render_text
    from .errors import ItemError

    lines = [title, "minimal request:", json.dumps(request, ensure_ascii=False, indent=2, sort_keys=True)]
    for side, decision in decisions.items():
        lines.append(f"{side}:")
        if isinstance(decision, ItemError):
            lines.append("  not decided: " + decision.message)
        elif isinstance(decision, Decision):
            lines += ["  " + line for line in render_text(decision, "en", proofs=True).splitlines()]
        else:
            lines.append(f"  {decision}")
    return "\n".join(lines)


class _Found(Exception):
    """A failing request, raised out of the hypothesis run so that it is shrunk once, greedily."""


def _check_property(
    strategy: Callable[[], Any],
    failing: Any,
    explain: Any,
    request: dict[str, Any] | None,
    max_examples: int,
    seed: int | None,
) -> None:
    """Check one request, or search with hypothesis; the first failure is shrunk and explained."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as seeded

    from ._tools.diff import shrink

    found: list[dict[str, Any]] = []
    if request is not None:
        if failing(request):
            found.append(request)
    else:

        @settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy())
        def search(req: dict[str, Any]) -> None:
            if failing(req):
                found.append(req)
                raise _Found

        if seed is not None:
            search = seeded(seed)(search)
        with contextlib.suppress(_Found):  # hypothesis re-raises the first failure: shrunk below instead
            search()
    if found:
        small = shrink(found[0], lambda batch: [bool(failing(r)) for r in batch])
        raise AssertionError(explain(small))


def _sides(old: Engine, new: Engine, req: dict[str, Any]) -> tuple[Any, Any]:
    return old.decide_each([req])[0], new.decide_each([req])[0]


def _strategy(old: Engine, new: Engine, platform: str | None, as_of: Any, taxonomies: Any) -> Any:
    """Requests from the rules of both sides, the rules that differ between them when some do."""
    return st.one_of(
        policy_requests(old, platform, as_of, taxonomies, against=new),
        policy_requests(new, platform, as_of, taxonomies, against=old),
    )


def assert_equivalent(
    old: Engine,
    new: Engine,
    request: dict[str, Any] | None = None,
    *,
    platform: str | None = None,
    as_of: dt.date | str | None = None,
    max_examples: int = 200,
    seed: int | None = None,
    taxonomies: dict[str, Any] | None = None,
) -> None:
    """The two engines decide alike: same outcome and same deciding rules (versions left out).

    With `request`, checks that one request (for use inside your own `@given`); without, searches
    `max_examples` requests built from both engines' policies. On failure: AssertionError with the
    minimal request (shrunk greedily), both decisions and their proofs.
    """
    from ._tools.diff import decision_key

    def failing(req: dict[str, Any]) -> bool:
        a, b = _sides(old, new, req)
        return decision_key(a) != decision_key(b)

    def explain(req: dict[str, Any]) -> str:
        a, b = _sides(old, new, req)
        return _explain("the two policy sets decide this request differently", req, {"old": a, "new": b})

    def strategy() -> Any:
        return _strategy(old, new, platform, as_of, taxonomies)

    _check_property(strategy, failing, explain, request, max_examples, seed)


def assert_no_new_allows(
    old: Engine,
    new: Engine,
    request: dict[str, Any] | None = None,
    *,
    platform: str | None = None,
    as_of: dt.date | str | None = None,
    max_examples: int = 200,
    seed: int | None = None,
    taxonomies: dict[str, Any] | None = None,
) -> None:
    """Nothing the old policies refuse (deny, review, or no policy in force) does the new policies allow.

    Tightening a policy passes; loosening it fails with the minimal request, both decisions and their
    proofs. `request`, `max_examples` and `seed` as for `assert_equivalent`.
    """
    from ._tools.diff import decision_key

    def failing(req: dict[str, Any]) -> bool:
        a, b = (decision_key(d) for d in _sides(old, new, req))
        return a is not None and b is not None and a[0] != "allow" and b[0] == "allow"

    def explain(req: dict[str, Any]) -> str:
        a, b = _sides(old, new, req)
        return _explain("the new policies allow a request the old ones do not", req, {"old": a, "new": b})

    def strategy() -> Any:
        return _strategy(old, new, platform, as_of, taxonomies)

    _check_property(strategy, failing, explain, request, max_examples, seed)


def assert_matches_reference(
    engine: Engine,
    request: dict[str, Any] | None = None,
    *,
    platform: str | None = None,
    as_of: dt.date | str | None = None,
    max_examples: int = 200,
    seed: int | None = None,
    taxonomies: dict[str, Any] | None = None,
) -> None:
    """The compiled network decides as the independent reference evaluator does (outcome, deciding rules,
    advisories, derived conclusions), on requests built from the engine's own policies.

    `request`, `max_examples` and `seed` as for `assert_equivalent`.
    """
    from ._language.reference import evaluate
    from ._pipeline.request import normalize_request

    def failing(req: dict[str, Any]) -> bool:
        try:
            assert_refused_or_matches_reference(engine, req)
        except AssertionError:
            return True
        return False

    def explain(req: dict[str, Any]) -> str:
        try:
            assert_refused_or_matches_reference(engine, req)
        except AssertionError as exc:
            problem = str(exc)
        else:
            problem = "(passes now)"
        norm = normalize_request(req)
        ref = evaluate(engine.in_force(norm.platform, norm.as_of), norm, engine._platform_default(norm.platform))
        reference = f"{ref.outcome} by [{', '.join(ref.rules)}], advisories [{', '.join(ref.advisories)}]"
        title = f"the network and the reference evaluator disagree: {problem}"
        return _explain(title, req, {"network": engine.decide_each([req])[0], "reference evaluator": reference})

    def strategy() -> Any:
        return policy_requests(engine, platform, as_of, taxonomies)

    _check_property(strategy, failing, explain, request, max_examples, seed)
