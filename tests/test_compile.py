"""The compiler: stable names, and clear refusals of what durable_rules would hang or crash on."""

from __future__ import annotations

import json
from typing import Any

import pytest
from builders import policy

from conftest import SHIPPED
from policy_engine import CompileError, Engine
from policy_engine._language.reference import evaluate
from policy_engine._pipeline.compile import compile_policies
from policy_engine._pipeline.request import normalize_request

MESSAGE = {"en": "Denied {product.category}.", "zh": "拒绝 {product.category}。"}


def grant_rule(i: int, category: str) -> dict[str, Any]:
    return {
        "id": f"r{i}",
        "outcome": "deny",
        "message": MESSAGE,
        "when": [
            {"field": "product.category", "under": category},
            {
                "some": "seller.grants",
                "where": [
                    {"field": "item.kind", "equals": "category_approval"},
                    {"field": "item.category", "equals": {"field": "product.category"}},
                ],
            },
        ],
    }


def request(category: str, grant: str | None = None) -> dict[str, Any]:
    grants = [{"kind": "category_approval", "status": "approved", "category": grant}] if grant else []
    return {
        "platform": "testplatform",
        "as_of": "2024-01-01",
        "seller": {"grants": grants},
        "product": {"category": category},
    }


def agree(engine: Engine, raw: dict[str, Any]) -> None:
    d = engine.decide(raw)
    ref = evaluate(engine.policies, normalize_request(raw))
    assert d.error is None
    assert (d.outcome, d.rules, d.derived) == (ref.outcome, ref.rules, ref.derived)


def test_rule_names_cite_the_policy_rule() -> None:
    compiled = compile_policies("testplatform", [policy([grant_rule(0, "shoes")])])
    names = set(compiled.ruleset) - {"__init", "__seen"}
    assert names == {"t.big@1.0.0#r0/1"}
    assert all(a.citation.startswith("t.big@1.0.0#") for a in compiled.actions.values())
    json.loads(compiled.to_json())


def test_many_rules_sharing_one_some_compile_and_agree() -> None:
    rules = [grant_rule(i, f"c{i % 40}/s{i // 40}") for i in range(600)]
    engine = Engine([policy(rules)])
    engine.prepare_all()
    try:
        agree(engine, request("c7/s3", "c7/s3"))
        agree(engine, request("c7/s3", "c7/s4"))
        agree(engine, request("c7/s3/x", "c7/s3/x"))
    finally:
        engine.close()


def test_hundreds_of_rules_on_one_conclusion_and_one_negation() -> None:
    rules: list[dict[str, Any]] = [
        {"id": "ok", "derive": "ok", "when": [{"field": "seller.entity_type", "equals": "enterprise"}]}
    ]
    for i in range(300):
        rules.append(
            {
                "id": f"pos{i}",
                "outcome": "review",
                "message": MESSAGE,
                "when": [{"derived": "ok"}, {"field": "product.category", "under": f"p{i % 20}/{i // 20}"}],
            }
        )
        rules.append(
            {
                "id": f"neg{i}",
                "outcome": "deny",
                "message": MESSAGE,
                "when": [{"not": {"derived": "ok"}}, {"field": "product.category", "under": f"n{i % 20}/{i // 20}"}],
            }
        )
    engine = Engine([policy(rules)])
    engine.prepare_all()
    try:
        cases = (("p7/0", "enterprise"), ("n19/14/x", "individual"), ("n19/14", "enterprise"), ("p1/3", "x"))
        for cat, etype in cases:
            raw = request(cat)
            raw["seller"]["entity_type"] = "enterprise" if etype == "enterprise" else "individual"
            agree(engine, raw)
    finally:
        engine.close()


def test_long_value_lists_are_refused_with_a_pointer() -> None:
    values = [f"v{i}" for i in range(300)]
    rules = [
        {
            "id": f"r{i}",
            "outcome": "deny",
            "message": MESSAGE,
            "when": [{"field": "seller.store_type", "equals": values[i]}],
        }
        for i in range(300)
    ]
    with pytest.raises(CompileError) as info:
        compile_policies("testplatform", [policy(rules)])
    (problem,) = info.value.problems
    assert problem.code == "PE036" and "different tests under one node" in problem.message
    assert problem.pointer.startswith("/rules/")


def test_too_many_alternatives_are_refused() -> None:
    anys = [
        {"any": [{"field": "seller.store_type", "equals": f"a{i}"}, {"field": "seller.country", "equals": "CN"}]}
        for i in range(7)
    ]
    with pytest.raises(CompileError) as info:
        compile_policies("testplatform", [policy([{"id": "r", "outcome": "deny", "message": MESSAGE, "when": anys}])])
    assert "alternatives" in info.value.problems[0].message


def test_negated_join_between_request_fields_is_refused() -> None:
    rule = {
        "id": "r",
        "outcome": "deny",
        "message": MESSAGE,
        "when": [{"not": {"field": "product.brand", "equals": {"field": "product.title"}}}],
    }
    with pytest.raises(CompileError) as info:
        compile_policies("testplatform", [policy([rule])])
    assert info.value.problems[0].code == "PE035"
    assert info.value.problems[0].pointer == "/rules/0/when/0/not"


def test_session_recycling_keeps_decisions(monkeypatch: pytest.MonkeyPatch) -> None:
    from policy_engine._pipeline.runtime import Network

    monkeypatch.setattr(Network, "RECYCLE", 3)
    engine = Engine([policy([grant_rule(i, f"c{i}") for i in range(5)])])
    try:
        first = [engine.decide(request(f"c{i % 5}", f"c{i % 3}")).to_dict() for i in range(20)]
        again = [engine.decide(request(f"c{i % 5}", f"c{i % 3}")).to_dict() for i in range(20)]
        assert first == again
        for i in range(20):
            agree(engine, request(f"c{i % 5}", f"c{i % 3}"))
    finally:
        engine.close()


def test_cond_text_is_the_text_of_json_dumps_of_the_condition_with_its_data() -> None:
    from policy_engine._language.model import (
        AllOf,
        AnyOf,
        Compare,
        Condition,
        FieldRef,
        Literal,
        Not,
        Some,
        condition_json,
    )
    from policy_engine._pipeline.compile.normal_form import clear_memos, cond_text
    from policy_engine._pipeline.load import discover, parse_policy, read_json

    conditions: list[Condition] = []
    for path in discover([SHIPPED]):
        doc, _ = read_json(path)
        parsed, _ = parse_policy(doc, str(path))
        assert parsed is not None
        conditions.extend(rule.when for rule in parsed.rules)
    made = [
        Compare(path="product.price", op=op, operand=Literal(value))
        for op in ("equals", "gt", "in", "exists", "field_z")
        for value in ('é\u2028"', 1, 1.5, -0.0, 1e-05, True, None, ("a", 2))
    ]
    made.append(Compare(path="product.brand", op="in", operand=Literal(("x", "y"), ref="brands")))
    made.append(Compare(path="product.brand", op="equals", operand=FieldRef("seller.brand")))
    made.append(Compare(path="product.brand", op="exists", operand=None))  # type: ignore[arg-type]
    conditions.append(AnyOf((Not(AllOf(tuple(made))), Some(list_path="seller.grants", where=()))))
    assert len(conditions) > 100
    try:
        for cond in conditions:
            assert cond_text(cond) == json.dumps(condition_json(cond, resolved=True), sort_keys=True)
    finally:
        clear_memos()


@pytest.mark.parametrize("shape", ["some", "count", "merged count"])
def test_one_data_name_with_different_values_in_two_policies_is_never_shared(shape: str) -> None:
    """Two policies of a platform may give one named-data name different values: a `some` the network
    derives once for many rules, and a count worked out once per list and `where`, must not take one
    policy's values for the other's (the engine allowed a seller the second policy denies)."""
    from policy_engine._pipeline.load import parse_policy

    test = {"field": "item.mark", "in": {"ref": "brands"}}
    if shape == "some":
        when: Any = {"some": "seller.trademarks", "where": [test]}
    else:
        when = {"count": "seller.trademarks", "where": [test], "at_least": 1}
        if shape == "merged count":
            when["merge"] = {"field": "item.registered_on", "within_days": 30}

    def document(pid: str, brands: list[str], rules: list[tuple[str, str]]) -> Any:
        doc = {
            "id": pid,
            "version": "1.0.0",
            "platform": "demo",
            "effective_from": "2000-01-01",
            "title": pid,
            "sources": [{"document": pid, "provenance": "illustrative"}],
            "data": {"brands": brands},
            "rules": [{"id": r, "when": [when], "outcome": o, "message": {"en": r, "zh": r}} for r, o in rules],
        }
        parsed, problems = parse_policy(doc, f"{pid}.json")
        assert parsed is not None, problems
        return parsed

    a = document("demo.a", ["Acme"], [("a1", "advisory"), ("a2", "advisory"), ("a3", "advisory")])
    b = document("demo.b", ["Bolt"], [("b1", "deny")])
    engine = Engine([a, b], cache=False)
    try:
        for mark, outcome in (("Acme", "allow"), ("Bolt", "deny")):
            raw = {
                "platform": "demo",
                "as_of": "2024-01-01",
                "seller": {"trademarks": [{"mark": mark, "status": "registered", "registered_on": "2020-01-01"}]},
                "product": {"category": "shoes"},
            }
            decision = engine.decide(raw)
            req = normalize_request(raw)
            ref = evaluate(engine.in_force(req.platform, req.as_of), req)
            assert (decision.outcome, decision.rules) == (ref.outcome, ref.rules)
            assert decision.outcome == outcome, (mark, decision.rules)
    finally:
        engine.close()


def test_json_text_is_the_text_of_json_dumps_with_sorted_keys() -> None:
    import json

    from policy_engine._pipeline.compile.normal_form import json_text

    values = [
        {"b": 1, "a": [1.5, -0.0, 1e-05, 1e16, 2**60, True, False, None], "é": 'ü\u2028"\\/'},
        [{"$and": [{"t": "request"}, {"$neq": {"k": "x"}}]}, {"z": {"y": {"x": []}}}],
        "text",
        3,
        {"": {}},
    ]
    for value in values:
        assert json_text(value) == json.dumps(value, sort_keys=True)


def test_two_rules_with_one_citation_are_refused_not_overwritten() -> None:
    """Policies that did not go through the checks across documents (built one by one) may repeat an
    `id@version`; the network names its rules by citation, so one would silently replace the other."""
    from policy_engine._pipeline.load import parse_policy

    def document(platform: str, brand: str) -> Any:
        doc = {
            "id": "same.id",
            "version": "1.0.0",
            "platform": platform,
            "effective_from": "2000-01-01",
            "title": "t",
            "sources": [{"document": "t", "provenance": "illustrative"}],
            "rules": [
                {
                    "id": "r",
                    "when": [{"field": "product.brand", "equals": brand}],
                    "outcome": "deny",
                    "message": {"en": "r", "zh": "r"},
                }
            ],
        }
        parsed, problems = parse_policy(doc, f"{platform}.json")
        assert parsed is not None, problems
        return parsed

    with pytest.raises(CompileError) as refused:
        compile_policies("demo", [document("*", "Acme"), document("demo", "Bolt")])
    assert [p.code for p in refused.value.problems] == ["PE026"]
    assert "same.id@1.0.0#r" in refused.value.problems[0].message
