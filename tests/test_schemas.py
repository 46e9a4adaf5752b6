"""Schemas: each has a $id and is valid 2020-12; the fast request check agrees with jsonschema."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from profiles import scaled

from policy_engine._language import schemas
from policy_engine.testing import mutated, requests


def test_every_schema_is_valid_and_has_an_id() -> None:
    for name in schemas.SCHEMA_NAMES:
        schema = schemas.load_schema(name)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["$id"].endswith(f"/{name}.json")
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


_MUTATIONS = [
    ("/seller/entity_type", "company"),
    ("/seller/unknown_field", 1),
    ("/product/category", "Shoes"),
    ("/product/category", "a/b/c/d/e/f/g/h/i"),
    ("/as_of", "2024-02-30"),
    ("/as_of", "20240101"),
    ("/product/brand", ""),
    ("/seller/metrics/dispute_rate", "high"),
    ("/seller/metrics/Bad", 1),
    ("/seller/trademarks", [{"mark": "A"}]),
    ("/seller/authorizations", [{"brand": "A", "level": 0}]),
    ("/seller/authorizations", [{"brand": "A", "platforms": []}]),
    ("/product/price", {"amount": -1, "currency": "USD"}),
    ("/product/price", {"amount": True, "currency": "USD"}),
    ("/platform", 3),
    ("/product", None),
]


def _set(doc: dict[str, Any], pointer: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    parts = pointer.strip("/").split("/")
    target = doc
    for p in parts[:-1]:
        target = target.setdefault(p, {})
    target[parts[-1]] = value
    return doc


@given(req=requests(), mutation=st.one_of(st.none(), st.sampled_from(_MUTATIONS)))
def test_fast_checker_agrees_with_jsonschema(req: dict[str, Any], mutation: Any) -> None:
    if mutation is not None:
        req = _set(req, *mutation)
    expected = not schemas.validate("request", req)
    assert schemas.fast_checker("request")(req) is expected


@pytest.mark.parametrize("value", [{"a": 1}, ["enterprise"], []])
def test_fast_checker_refuses_a_list_or_object_where_a_value_is_listed(value: Any) -> None:
    req = {"platform": "aliexpress", "seller": {"entity_type": value}, "product": {"category": "shoes"}}
    assert schemas.fast_checker("request")(req) is False
    assert schemas.validate("request", req)


_POLICY_DOCS = [
    json.loads(p.read_text(encoding="utf-8"))
    for p in sorted((Path(__file__).resolve().parent.parent / "policies").glob("*/*.json"))
    if p.name not in ("taxonomy.json", "invariants.json")
]


@settings(max_examples=scaled(50))  # each example is a whole policy through jsonschema (about 0.1 s)
@given(doc=mutated(_POLICY_DOCS, max_mutations=2))
def test_fast_policy_checker_agrees_with_jsonschema(doc: Any) -> None:
    fast = schemas.fast_checker("policy")(doc)
    exact = not schemas.validate("policy", doc) and not schemas.value_problems(doc, max_depth=65)
    assert fast is exact


_CONDITIONS = [
    {"field": "product.category", "under": "shoes"},
    {"some": "seller.grants", "where": [{"field": "item.status", "equals": "approved"}]},
    {"count": "seller.violations", "at_least": 2},
    {"derived": "qualified"},
    {"not": {"derived": "qualified"}},
    {"any": [{"derived": "qualified"}]},
    {"all": [{"field": "product.brand", "exists": True}]},
]


@pytest.mark.parametrize(
    "condition",
    [
        *_CONDITIONS,
        *({**a, **b} for i, a in enumerate(_CONDITIONS) for b in _CONDITIONS[i + 1 :]),  # two kinds in one
        {"not": {"field": "product.category", "under": "shoes", "some": "seller.grants"}},
        {"where": [{"derived": "qualified"}]},
        {"field": "product.brand"},
        {},
        "qualified",
        ["qualified"],
        None,
        3,
    ],
)
def test_fast_policy_checker_agrees_with_jsonschema_on_every_kind_of_condition(condition: Any) -> None:
    """A condition is exactly one of seven kinds (`oneOf`); the checker evaluates only the kind whose key
    the object has, which must answer as evaluating all seven (an object with the keys of two kinds, or
    of none, is no condition)."""
    doc = copy.deepcopy(_POLICY_DOCS[0])
    doc["rules"][0]["when"] = [condition]
    exact = not schemas.validate("policy", doc)
    assert schemas.fast_checker("policy")(doc) is exact
    assert exact is (condition in _CONDITIONS)


@pytest.mark.parametrize(
    "operand",
    [
        "shoes",
        3,
        2.5,
        True,
        ["shoes", "bags"],
        [1, 2],
        {"ref": "brands"},
        {"field": "product.brand"},
        {"as_of": {"months": -6}},
        {"ref": "brands", "field": "product.brand"},
        {"field": "product.brand", "as_of": {}},
        {},
        {"other": 1},
        None,
        [],
        [["shoes"]],
        [{"ref": "brands"}],
        float("nan"),
    ],
)
def test_fast_policy_checker_agrees_with_jsonschema_on_every_kind_of_operand(operand: Any) -> None:
    """An operand is one of five kinds (`oneOf`: a value, a list, named data, another field, a shifted
    date), told apart by the value's type and, for objects, by their key: the checker evaluates only that
    one, which must answer as evaluating all five."""
    doc = copy.deepcopy(_POLICY_DOCS[0])
    doc["data"] = {**doc.get("data", {}), "brands": ["Acme"]}
    doc["rules"][0]["when"] = [{"field": "product.brand", "in": operand}]
    exact = not schemas.validate("policy", doc) and not schemas.value_problems(doc, max_depth=65)
    assert schemas.fast_checker("policy")(doc) is exact


def test_fast_policy_checker_accepts_every_shipped_policy() -> None:
    assert all(schemas.fast_checker("policy")(doc) for doc in _POLICY_DOCS)


_ROOT = Path(__file__).resolve().parent.parent
_CASE_DOCS = [
    *(json.loads(p.read_text(encoding="utf-8")) for p in sorted((_ROOT / "policies").glob("*/tests/*.json"))[::40]),
    {  # a table of cases (the schema's `if`: no `expect` at the top) with `outcome_not` (`uniqueItems`)
        "name": "refunds",
        "request": {"platform": "amazon", "seller": {"id": "S1"}, "product": {"category": "shoes"}},
        "overrides": {"/product/brand": "Acme"},
        "cases": [
            {"name": "base", "expect": {"outcome_not": ["allow", "review"]}},
            {
                "name": "high",
                "merge": {"seller": {"metrics": {"refund_rate": 0.2}}},
                "as_of": "2023-06-01",
                "expect": {"outcome": "deny", "rules": []},
            },
        ],
    },
    {"name": "one", "request_file": "r.json", "expect": {"outcome_not": ["allow"]}},  # the `else` branch
]


@settings(max_examples=scaled(100))
@given(doc=mutated(_CASE_DOCS, max_mutations=2))
def test_fast_case_checker_agrees_with_jsonschema(doc: Any) -> None:
    """What the fast check accepts, the schema accepts (loading trusts it); what the schema accepts with
    values the engine can take, the fast check accepts (otherwise loading is only slower). A case's
    request is free-form in this schema, so a bad value there is left to the request check."""
    fast = schemas.fast_checker("testcase")(doc)
    valid = not schemas.validate("testcase", doc)
    if fast:
        assert valid
    # nesting is bounded when the file is read (`read_json`), before either check
    elif valid:
        assert schemas.value_problems(doc, max_depth=10_000)


@pytest.mark.parametrize(
    ("change", "valid"),
    [
        (lambda d: None, True),
        (lambda d: d.update(expect={"outcome": "deny"}), False),  # a table with its own `expect` (then)
        (lambda d: d.pop("cases"), False),  # no cases: then `expect` is required (else)
        (lambda d: d.pop("cases") and d.update(expect={"outcome": "deny"}), True),
        (lambda d: d["cases"][0]["expect"].update(outcome_not=["allow", "allow"]), False),  # uniqueItems
        (lambda d: d["cases"][0]["expect"].update(outcome_not=["allow", "deny"]), True),
    ],
)
def test_fast_case_checker_on_each_branch(change: Any, valid: bool) -> None:
    doc = copy.deepcopy(_CASE_DOCS[-2])
    change(doc)
    assert (not schemas.validate("testcase", doc)) is valid
    assert schemas.fast_checker("testcase")(doc) is valid


@pytest.mark.parametrize(
    ("items", "unique"),
    [
        ([1, 1.0], False),
        ([1, True], True),
        ([0, False, None, "", [], {}], True),
        ([{"a": [1], "b": 2}, {"b": 2, "a": [1.0]}], False),
    ],
)
def test_unique_items_compare_as_json_values(items: list[Any], unique: bool) -> None:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "array", "uniqueItems": True}
    assert jsonschema.Draft202012Validator(schema).is_valid(items) is unique
    assert schemas._unique(items) is unique


@pytest.mark.parametrize("tail", ["\n", "\n\n", "\r", " ", "\u2028"])
def test_a_pattern_holds_to_the_end_of_the_text_as_in_json_schema(tail: str) -> None:
    """JSON Schema's `$` (ECMA-262) holds only at the very end: a category with a final newline is not a
    category (Python's `$` also holds before a final newline). The fast check and the validator agree, and
    the problem names the field."""
    from policy_engine import RequestError
    from policy_engine._pipeline.request import normalize_request

    req = {
        "platform": "amazon",
        "as_of": "2024-01-01",
        "seller": {"grants": [{"kind": "category_approval", "category": "watches", "status": "approved"}]},
        "product": {"category": "cell-phones/accessories/chargers/car", "brand": "x"},
    }
    normalize_request(req)
    for pointer in ("/product/category", "/seller/grants/0/kind", "/platform"):
        bad = copy.deepcopy(req)
        *parents, last = pointer.strip("/").split("/")
        target: Any = bad
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        target[last] += tail
        assert not schemas.fast_checker("request")(bad)
        with pytest.raises(RequestError) as info:
            normalize_request(bad)
        assert [p.pointer for p in info.value.problems] == [pointer], info.value.problems
        assert "does not have the expected form" in info.value.problems[0].message


def test_ecma_patterns_keep_escapes_and_classes() -> None:
    assert schemas.ecma_regex(r"^[a-z$]+\$$").pattern == r"^[a-z$]+\$\Z"
    assert schemas.ecma_regex(r"^a$").search("a\n") is None
    assert schemas.ecma_regex(r"^\d$").search("\u0663") is None  # an Arabic-Indic three: not ECMA's \d


def test_the_shipped_checkers_are_what_the_schemas_generate_now() -> None:
    # The checkers a process uses without generating them must be exactly the code the schemas give: a
    # schema changed without regenerating `checkers.py` fails here, naming the command that fixes it.
    from policy_engine._language import checkers
    from policy_engine._tools import checkers as tool

    assert tool.target().read_text(encoding="utf-8") == schemas.checkers_source(), (
        "run python -m policy_engine._tools.checkers"
    )
    assert tool.main(["--check"]) == 0
    for name, at in schemas.SHIPPED_CHECKERS:
        assert schemas.fast_checker(name, at) is checkers.CHECKERS[(name, at)]


def test_a_schema_changed_after_generation_is_checked_by_code_generated_from_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from policy_engine._language import checkers

    # As if `request.json` (or the generator) had been edited: the SHA-256 no longer matches the shipped one.
    monkeypatch.setitem(checkers.SOURCE_SHA256, "request", "0" * 64)
    check = schemas.fast_checker.__wrapped__("request")
    assert check is not checkers.CHECKERS[("request", "")]
    product = schemas.fast_checker.__wrapped__("request", "/properties/product")
    assert product is not checkers.CHECKERS[("request", "/properties/product")]
    assert schemas.fast_checker.__wrapped__("policy") is checkers.CHECKERS[("policy", "")]  # unchanged schema
    good = {"platform": "amazon", "as_of": "2024-01-01", "seller": {}, "product": {"category": "shoes"}}
    assert check(good) is True
    for pointer, value in _MUTATIONS:
        bad = _set(good, pointer, value)
        assert check(bad) is (not schemas.validate("request", bad)), (pointer, value)
    assert product({"category": "shoes", "brand": "x"}) is True
    assert product({"category": "Shoes"}) is False


def test_the_checker_tool_reports_a_stale_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any) -> None:
    from policy_engine._tools import checkers as tool

    stale = tmp_path / "checkers.py"
    stale.write_text(schemas.checkers_source().replace("'request'", "'requests'", 1), encoding="utf-8")
    monkeypatch.setattr(tool, "target", lambda: stale)
    assert tool.main(["--check"]) == 1
    assert "does not match the schemas" in capsys.readouterr().err
    assert tool.main([]) == 0
    assert stale.read_text(encoding="utf-8") == schemas.checkers_source()
