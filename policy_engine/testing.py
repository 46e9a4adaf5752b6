"""Hypothesis strategies and invariants for property-based testing of policies and of the engine.

    from hypothesis import given
    from policy_engine.testing import requests, policy_documents, check_proofs

The strategies draw from small pools of categories, brands and dates so that generated conditions and
requests actually meet (a rule that never fires tests nothing).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from .decision import Decision, Proof
from .request import resolve_pointer
from .semantics import compare, main_categories

if TYPE_CHECKING:
    from .engine import Engine

__all__ = [
    "BRANDS",
    "CATEGORIES",
    "EDGE_NUMBERS",
    "EDGE_TEXTS",
    "analyst_requests",
    "assert_refused_or_matches_reference",
    "check_proofs",
    "extreme_numbers",
    "extreme_texts",
    "json_values",
    "mutated",
    "policy_documents",
    "requests",
]

CATEGORIES = ("shoes", "shoes/sneakers", "shoes/boots/hiking", "bags", "cycling", "cycling/bikes")
BRANDS = ("Acme", "Bolt", "Cato")
BASE_DAY = dt.date(2024, 3, 1)
PLATFORMS = ("aliexpress", "dhgate")


def _day(offset: int) -> str:
    return (BASE_DAY + dt.timedelta(days=offset)).isoformat()


_dates = st.integers(-3, 3).map(_day)
_cats = st.sampled_from(CATEGORIES)
_brands = st.sampled_from(BRANDS)


@st.composite
def requests(draw: Any, platform: str | None = None) -> dict[str, Any]:
    """Valid listing requests around 2024-03-01, on a few categories and brands."""

    def maybe(key: str, strategy: Any) -> dict[str, Any]:
        return {key: draw(strategy)} if draw(st.booleans()) else {}

    seller: dict[str, Any] = {
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
                max_size=2,
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
        **maybe("brand", st.one_of(st.none(), _brands)),
        **maybe("title", _brands),
        **maybe(
            "attributes",
            st.dictionaries(
                st.sampled_from(["voltage", "kids"]),
                st.sampled_from(["220", 220, 110, 110.0, True, False, "yes"]),
                max_size=2,
            ),
        ),
    }
    return {
        "platform": platform or draw(st.sampled_from(PLATFORMS)),
        "as_of": draw(_dates),
        "seller": seller,
        "product": product,
    }


def _shift() -> Any:
    return st.one_of(
        st.just({}),
        st.fixed_dictionaries({"days": st.integers(-2, 2)}),
        st.fixed_dictionaries({"months": st.integers(-1, 1)}),
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
        st.sampled_from(["greater_than", "at_most", "less_than", "at_least"]),
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
    st.builds(
        lambda op, v: {"field": "product.attributes.voltage", op: v},
        st.sampled_from(["equals", "at_least", "less_than"]),
        st.sampled_from(["220", 220, 110]),
    ),
    st.builds(lambda v: {"field": "product.attributes.kids", "equals": v}, st.sampled_from([True, "yes", 1])),
    st.builds(lambda v: {"field": "product.attributes.kids", "exists": v}, st.booleans()),
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
            fresh = [x for x in ("alpha", "beta", "gamma", "delta", "epsilon", "zeta") if x not in derived]
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


def _unwrap(cond: dict[str, Any]) -> dict[str, Any]:
    while "not" in cond:
        cond = cond["not"]
    return cond


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
                filtered = step.kind == "count" and bool({"where", "distinct"} & set(_unwrap(step.condition)))
                expected = len(value) if step.kind == "count" and not filtered else value
                if expected != ev.value:
                    problems.append(f"{p.rule}: {ev.pointer} is {expected!r}, the proof says {ev.value!r}")
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
                (op,) = (k for k in cond if k not in ("count", "where", "distinct", "including"))
                unfiltered = step.evidence[0].value if step.evidence else 0
                count = len(step.evidence) if "where" in cond else unfiltered
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
    return st.one_of(nested, deep, st.integers(999, 1200).map(lambda n: ["shoes"] * n))


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
        kind = draw(st.sampled_from(["edge", "edge", "edge", "any", "delete", "add", "repeat"]))
        if kind == "edge" and isinstance(value, bool):
            doc = _replace(doc, pointer, not value)
        elif kind == "edge" and isinstance(value, (int, float)):
            doc = _replace(doc, pointer, draw(extreme_numbers()))
        elif kind == "edge" and isinstance(value, str):
            doc = _replace(doc, pointer, draw(extreme_texts()))
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
    from .resources import data_dir

    out: list[dict[str, Any]] = []
    for folder in folders or (data_dir("policies"),):
        for path in sorted(Path(folder).glob("**/tests/*.json")):
            doc = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(doc, dict) and isinstance(doc.get("request"), dict):
                out.append(doc["request"])
            elif isinstance(doc, dict) and isinstance(doc.get("cases"), list):
                base: dict[str, Any] = doc["base"] if isinstance(doc.get("base"), dict) else {}
                out += [{**base, **c["request"]} for c in doc["cases"] if isinstance(c.get("request"), dict)]
    return out


def assert_refused_or_matches_reference(engine: Engine, raw: Any) -> str:
    """The fuzzing property: a request is refused with a RequestError, or decided as the reference decides.

    Returns "refused" or the outcome. An accepted request must be valid against the request schema and
    the engine-safety checks; its outcome, deciding rules, advisories and derived conclusions must equal
    the independent reference evaluator's, with no engine error.
    """
    from . import schemas
    from .errors import RequestError
    from .reference import evaluate
    from .request import normalize_request

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
    ref = evaluate(engine.in_force(req["platform"], dt.date.fromisoformat(req["as_of"])), req)
    assert decision.error is None, decision.error
    got = (decision.outcome, decision.rules, tuple(a.rule for a in decision.advisories), decision.derived)
    want = (ref.outcome, ref.rules, ref.advisories, ref.derived)
    assert got == want, (
        f"the network decided {got}, the reference evaluator {want}, for "
        f"{json.dumps(raw, ensure_ascii=True, sort_keys=True)[:4000]}"
    )
    return decision.outcome
