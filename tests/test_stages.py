"""Each stage on its own, on one small policy: normal form (compile), the typed request, facts, the network
(runtime) and the decision (explain). The end-to-end tests decide whole requests; these say which stage
is wrong when one of them fails."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import attrs
import builders
import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy_engine._language import reference
from policy_engine._language.model import AllOf, Policy
from policy_engine._language.semantics import MISSING, Request, lookup, operand_value
from policy_engine._pipeline.compile import Compiled, compile_policies
from policy_engine._pipeline.compile.normal_form import dnf
from policy_engine._pipeline.explain import build_decision, describe
from policy_engine._pipeline.facts import CATEGORY_LEVELS, FactBuilder, level_key
from policy_engine._pipeline.request import normalize_request
from policy_engine._pipeline.runtime import Firing, Network, NetworkUnavailable, Trace

MESSAGE = {"en": "{product.category} by {product.brand}.", "zh": "{product.category}，{product.brand}。"}


def remedy(code: str) -> dict[str, str]:
    return {"code": code, "en": f"Do {code}.", "zh": f"{code}。"}


RULES: list[dict[str, Any]] = [
    {"id": "enterprise", "derive": "is-enterprise", "when": [{"field": "seller.entity_type", "equals": "enterprise"}]},
    {
        "id": "shoes-need-enterprise",
        "outcome": "deny",
        "message": MESSAGE,
        "remedies": [remedy("become-enterprise"), remedy("ask-support")],
        "when": [{"field": "product.category", "under": "shoes"}, {"not": {"derived": "is-enterprise"}}],
    },
    {
        "id": "counterfeit-shoes",
        "outcome": "deny",
        "message": MESSAGE,
        "remedies": [remedy("ask-support")],
        "when": [
            {"field": "product.category", "under": "shoes"},
            {"some": "seller.violations", "where": [{"field": "item.kind", "equals": "counterfeit"}]},
        ],
    },
    {
        "id": "bags-review",
        "outcome": "review",
        "message": MESSAGE,
        "remedies": [remedy("wait-for-review")],
        "when": [{"field": "product.category", "under": "bags"}],
    },
    {
        "id": "brand-advice",
        "outcome": "advisory",
        "message": MESSAGE,
        "remedies": [remedy("keep-documents")],
        "when": [{"field": "product.brand", "exists": True}],
    },
]


def policy(rules: list[dict[str, Any]]) -> Policy:
    return builders.policy(rules, "t.stage", "t")


def when(*conditions: dict[str, Any]) -> AllOf:
    """The parsed conditions of a rule with these `when` conditions."""
    rule = {"id": "r", "outcome": "deny", "message": MESSAGE, "when": list(conditions)}
    return policy([rule]).rules[0].when


def normal_form(cond: AllOf) -> list[list[str]]:
    """Each alternative of the normal form as readable literals ("not ..." when negated)."""
    return [sorted(("not " if negated else "") + describe(c) for c, negated, _ in alt) for alt in dnf(cond)]


@pytest.fixture(scope="module")
def compiled() -> Compiled:
    return compile_policies("t", [policy(RULES)])


@pytest.fixture(scope="module")
def network(compiled: Compiled) -> Iterator[Network]:
    net = Network(compiled)
    yield net
    net.close()


def request(category: str, entity: str = "individual", brand: str | None = "Acme", **seller: Any) -> Request:
    product = {"category": category, "title": "Trail runner", **({"brand": brand} if brand else {})}
    raw = {"platform": "t", "as_of": "2024-01-01", "seller": {"entity_type": entity, **seller}, "product": product}
    return normalize_request(raw)


# --- normal form ----------------------------------------------------------------------------------------


A = {"field": "seller.country", "equals": "CN"}
B = {"field": "seller.store_type", "equals": "official"}
C = {"field": "product.brand", "exists": True}


def test_any_gives_one_alternative_per_branch_and_all_multiplies_them() -> None:
    assert normal_form(when({"any": [A, B]})) == [
        ['seller.country equals "CN"'],
        ['seller.store_type equals "official"'],
    ]
    assert len(normal_form(when({"any": [A, B]}, {"any": [C, {"not": A}]}))) == 4


def test_not_any_is_every_branch_negated_in_one_alternative() -> None:
    assert normal_form(when({"not": {"any": [A, B]}})) == [
        ['not seller.country equals "CN"', 'not seller.store_type equals "official"']
    ]
    assert normal_form(when({"not": {"not": A}})) == [['seller.country equals "CN"']]


def test_a_repeated_condition_counts_once() -> None:
    assert normal_form(when(A, A, B)) == [['seller.country equals "CN"', 'seller.store_type equals "official"']]
    assert normal_form(when({"any": [A, A]})) == [['seller.country equals "CN"']]


def test_a_negated_comparison_with_as_of_is_the_opposite_or_the_field_missing() -> None:
    unexpired = {"field": "item.expires_on", "at_least": {"as_of": {}}}
    alternatives = dnf(when({"some": "seller.trademarks", "where": [{"not": unexpired}]}))
    branches = [[(c.op, c.path, negated) for c, negated, _ in some[0][2]] for some in alternatives]
    assert branches == [[("less_than", "item.expires_on", False)], [("exists", "item.expires_on", False)]]


def test_under_between_two_fields_is_one_alternative_per_category_level() -> None:
    admitted = {"field": "product.category", "under": {"field": "item.category"}}
    alternatives = dnf(when({"some": "seller.grants", "where": [admitted]}))
    assert [[detail for _, _, detail in some[0][2]] for some in alternatives] == [[d] for d in range(CATEGORY_LEVELS)]


# --- the request ----------------------------------------------------------------------------------------


def test_a_request_is_typed_once_whatever_form_its_date_takes() -> None:
    raw = {"platform": "t", "seller": {"entity_type": "enterprise"}, "product": {"category": "bags"}}
    for day in (dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 23, 59), "2024-02-29"):
        req = normalize_request(raw, as_of=day)
        assert (req.platform, req.as_of, req.body["as_of"]) == ("t", dt.date(2024, 2, 29), "2024-02-29")
        assert req.body["seller"]["account_status"] == "active"  # the default, filled in the body
    own = normalize_request({**raw, "as_of": "2023-12-31"})
    assert own.as_of == dt.date(2023, 12, 31)
    assert normalize_request(raw, platform="u").platform == "u"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        own.as_of = dt.date(2024, 1, 1)  # type: ignore[misc]


def test_a_path_reads_the_value_as_it_is_and_operators_see_null_and_empty_as_missing() -> None:
    body = {"as_of": "2024-01-01", "seller": {"metrics": {"rate": 0.0}, "tags": [], "note": None}}
    req = Request(platform="t", as_of=dt.date(2024, 1, 1), body=body)
    assert req.read("seller.metrics.rate") == 0.0 and req.value("seller.metrics.rate") == 0.0
    assert req.read("seller.tags") == [] and req.value("seller.tags") is MISSING
    assert req.read("seller.note") is None and req.value("seller.note") is MISSING
    assert req.read("seller.metrics.rate.deeper") is None and req.read("product.brand") is None
    assert req.read("request.as_of") == req.read("as_of") == "2024-01-01"
    assert req.read("item.mark", {"mark": "Acme"}) == "Acme" and req.value("item", ["a", "b"]) == ("a", "b")


_PATHS = st.sampled_from(
    ["seller.a", "seller.a.b", "product.a", "request.a", "request.a.b", "a", "item", "item.a", "item.a.b"]
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "x"]),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.sampled_from(["a", "b"]), inner, max_size=2),
    max_leaves=6,
)


@given(
    body=st.dictionaries(st.sampled_from(["seller", "product", "a"]), _JSON, max_size=3),
    path=_PATHS,
    item=_JSON,
)
def test_the_pipelines_reader_and_the_reference_evaluators_read_every_path_alike(
    body: dict[str, Any], path: str, item: Any
) -> None:
    assert operand_value(lookup(body, path, item)) == reference._value(body, path, item)


# --- facts ----------------------------------------------------------------------------------------------


def test_facts_hold_what_the_rules_read_and_nothing_more(compiled: Compiled) -> None:
    facts = FactBuilder(compiled.plan).facts(request("shoes/sneakers", country="CN"))
    by_type = {f["t"]: f for f in facts}
    assert by_type["request"]["as_of"] == "2024-01-01"
    assert by_type["seller"]["entity_type"] == "individual"
    assert "country" not in by_type["seller"] and "title" not in by_type["product"]  # no rule reads them
    assert by_type["product"]["brand"] == "Acme"


def test_a_category_is_present_at_every_level_padded_with_empty_text(compiled: Compiled) -> None:
    product = next(f for f in FactBuilder(compiled.plan).facts(request("shoes/sneakers")) if f["t"] == "product")
    levels = [product[level_key("category", i)] for i in range(CATEGORY_LEVELS)]
    assert levels == ["shoes", "shoes/sneakers"] + [""] * (CATEGORY_LEVELS - 2)  # "" is never a category
    assert (product["category"], product["category__d"]) == ("shoes/sneakers", 1)


def test_each_list_element_is_a_fact_with_its_index_and_a_missing_field_is_absent(compiled: Compiled) -> None:
    violations = [{"kind": "counterfeit", "status": "upheld"}, {"kind": "prohibited", "status": "upheld"}]
    facts = FactBuilder(compiled.plan).facts(request("bags", brand=None, violations=violations))
    elements = [f for f in facts if f.get("i") is not None]
    assert [(f["i"], f["kind"]) for f in elements] == [(0, "counterfeit"), (1, "prohibited")]
    assert len({f["t"] for f in elements}) == 1
    product = next(f for f in facts if f["t"] == "product")
    assert "brand" not in product


# --- the network ----------------------------------------------------------------------------------------


def _run(network: Network, compiled: Compiled, *requests: Request) -> list[Trace]:
    builder = FactBuilder(compiled.plan)
    return network.run([builder.facts(r) for r in requests])


def test_the_network_derives_and_fires_what_holds(network: Network, compiled: Compiled) -> None:
    (trace,) = _run(network, compiled, request("shoes/boots", "enterprise"))
    assert set(trace.derived) >= {"is-enterprise"}
    assert set(trace.outcomes) == {"t.stage@1.0.0#brand-advice"}  # an enterprise may sell shoes
    (trace,) = _run(network, compiled, request("shoes/boots"))
    assert "is-enterprise" not in trace.derived
    assert set(trace.outcomes) == {"t.stage@1.0.0#shoes-need-enterprise", "t.stage@1.0.0#brand-advice"}


def test_without_matches_the_firings_are_the_same_rules_and_read_no_facts(network: Network, compiled: Compiled) -> None:
    """`matches=False` (decisions without proofs): the same rules fire and are chosen, their matched facts
    unread; a message that is not `{"<known rule>":...}` is decoded whole, as with matches."""
    builder = FactBuilder(compiled.plan)
    for req in (request("shoes/boots", "enterprise"), request("shoes/boots"), request("toys", brand=None)):
        (full,) = network.run([builder.facts(req)])
        (bare,) = network.run([builder.facts(req)], matches=False)
        assert {n: f.action for n, f in bare.derived.items()} == {n: f.action for n, f in full.derived.items()}
        assert {n: f.action for n, f in bare.outcomes.items()} == {n: f.action for n, f in full.outcomes.items()}
        assert all(f.match for f in (*full.derived.values(), *full.outcomes.values()))
        assert not any(f.match for f in (*bare.derived.values(), *bare.outcomes.values()))
    name = next(iter(compiled.actions))
    assert network._rule_only('{"' + name + '":{"pr":{"t":"product"}}}') == {name: {}}
    assert network._rule_only('{"unknown":{"pr":{"t":"product"}}}') == {"unknown": {"pr": {"t": "product"}}}
    spaced = '{"' + name + '" :{"pr":{"t":"product"}}}'  # not the engine's form: decoded whole
    assert network._rule_only(spaced) == {name: {"pr": {"t": "product"}}}
    with pytest.raises(ValueError):
        network._rule_only('{"' + name + '"')


def test_no_fact_of_one_request_is_seen_by_the_next(network: Network, compiled: Compiled) -> None:
    counterfeit = request("shoes", "enterprise", violations=[{"kind": "counterfeit", "status": "upheld"}])
    clean = request("shoes", "enterprise")
    first, second, third = _run(network, compiled, counterfeit, clean, counterfeit)
    assert "t.stage@1.0.0#counterfeit-shoes" in first.outcomes
    assert "t.stage@1.0.0#counterfeit-shoes" not in second.outcomes
    assert set(third.outcomes) == set(first.outcomes)


def test_a_closed_network_refuses_to_run(compiled: Compiled) -> None:
    net = Network(compiled)
    net.close()
    with pytest.raises(NetworkUnavailable):
        net.run([FactBuilder(compiled.plan).facts(request("bags"))])
    assert not net.usable


# --- the decision ---------------------------------------------------------------------------------------


def _trace(compiled: Compiled, *rule_ids: str, derived: tuple[str, ...] = ()) -> Trace:
    actions = {a.rule.id: a for a in compiled.actions.values()}
    trace = Trace()
    for rule_id in rule_ids:
        trace.outcomes[actions[rule_id].citation] = Firing(actions[rule_id], {})
    for name in derived:
        rule = next(a for a in compiled.actions.values() if a.rule.derive == name)
        trace.derived[name] = Firing(rule, {})
    return trace


def test_the_most_severe_outcome_decides_and_only_its_rules_are_reasons(compiled: Compiled) -> None:
    trace = _trace(compiled, "bags-review", "shoes-need-enterprise", "counterfeit-shoes", "brand-advice")
    d = build_decision(compiled, trace, request("shoes"), proofs=False)
    assert d.outcome == "deny" and not d.default_applied
    assert d.rules == ("t.stage@1.0.0#counterfeit-shoes", "t.stage@1.0.0#shoes-need-enterprise")  # sorted
    assert [a.rule for a in d.advisories] == ["t.stage@1.0.0#brand-advice"]
    assert d.reasons[0].message["en"] == "shoes by Acme."


def test_remedies_come_once_per_code_from_the_deciding_rules_then_the_advisories(compiled: Compiled) -> None:
    trace = _trace(compiled, "bags-review", "shoes-need-enterprise", "counterfeit-shoes", "brand-advice")
    d = build_decision(compiled, trace, request("shoes"), proofs=False)
    assert [(r.code, r.rule) for r in d.remedies] == [
        ("ask-support", "t.stage@1.0.0#counterfeit-shoes"),
        ("become-enterprise", "t.stage@1.0.0#shoes-need-enterprise"),
        ("keep-documents", "t.stage@1.0.0#brand-advice"),
    ]  # the review rule's remedy is not offered: it did not decide


def test_nothing_decisive_is_the_platform_default_with_advice_only(compiled: Compiled) -> None:
    d = build_decision(compiled, _trace(compiled, "brand-advice", derived=("is-enterprise",)), request("toys"), False)
    assert (d.outcome, d.default_applied, d.rules) == ("allow", True, ())
    assert [r.code for r in d.remedies] == ["keep-documents"]
    assert d.derived == ("is-enterprise",)
    assert d.derivations == (("is-enterprise", "t.stage@1.0.0#enterprise"),)


def _catalog(n: int) -> list[dict[str, Any]]:
    seller = {"id": "s1", "trademarks": [{"mark": "Acme", "status": "registered"}]}
    return [
        {
            "platform": "aliexpress",
            "as_of": "2024-03-01",
            "seller": seller,
            "product": {"id": f"p{i}", "category": "shoes", "brand": "Acme"},
        }
        for i in range(n)
    ]


def test_a_batch_leaves_the_collector_as_it_found_it_with_nothing_young_to_walk(engine: Any) -> None:
    """A batch pauses the cyclic collector and, when the pause has left many objects in the youngest
    generation (its decisions), moves them to the oldest without walking them: the collector is on again,
    nothing is frozen, the youngest generation is nearly empty (no collection of the whole batch is due),
    and cyclic garbage made before the batch is still collected."""
    import gc
    import weakref

    from policy_engine._pipeline.gcpause import PROMOTE_ABOVE

    class Node:
        pass

    cyclic = Node()
    cyclic.self = cyclic  # type: ignore[attr-defined]
    gone = weakref.ref(cyclic)
    del cyclic
    assert gc.isenabled()
    decisions = engine.decide_many(_catalog(6_000), proofs=False)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    # in the oldest generation at once, not left young for the next collection to walk with the batch
    last = decisions[-1]
    assert any(o is last for o in gc.get_objects(generation=2))
    assert gc.get_count()[0] < PROMOTE_ABOVE
    assert {d.outcome for d in decisions} == {decisions[0].outcome} and len(decisions) == 6_000
    gc.collect()
    assert gone() is None


def test_a_batch_leaves_objects_the_process_froze_frozen_and_a_disabled_collector_off(engine: Any) -> None:
    import gc

    gc.freeze()  # as a server that froze its heap before forking workers
    try:
        frozen = gc.get_freeze_count()
        engine.decide_many(_catalog(6_000), proofs=False)
        # None of the batch's objects frozen (the count would grow by thousands), none of the process's
        # unfrozen (it would fall to 0); a frozen object the batch lets go (the fixture's network
        # recycling its session) leaves the count, so it may fall by a few.
        assert frozen - 100 <= gc.get_freeze_count() <= frozen and gc.isenabled()
    finally:
        gc.unfreeze()
    gc.disable()
    try:
        engine.decide_many(_catalog(6_000), proofs=False)
        assert not gc.isenabled() and gc.get_freeze_count() == 0
    finally:
        gc.enable()


def test_json_pointers_read_empty_keys_and_escapes_as_rfc_6901_says() -> None:
    """Each `/` starts a reference token, an empty one too: `//0` is the key "" and then "0" (a pointer
    the mutation strategy makes of a document with an empty key; stripping every leading `/` lost it)."""
    import pytest

    from policy_engine._pipeline.request import resolve_pointer

    doc = {"": {"": None, "0": [False], "a/b": 1, "m~n": 2}, "x": [{"y": 3}]}
    assert resolve_pointer(doc, "") is doc
    assert resolve_pointer(doc, "/") == doc[""]
    assert resolve_pointer(doc, "//0") == [False]
    assert resolve_pointer(doc, "//") is None  # "" then ""
    assert resolve_pointer(doc, "//0/0") is False
    assert (resolve_pointer(doc, "//a~1b"), resolve_pointer(doc, "//m~0n")) == (1, 2)
    assert resolve_pointer(doc, "/x/0/y") == 3
    for missing in ("x", "/nothing", "//1"):
        with pytest.raises(KeyError):
            resolve_pointer(doc, missing)
