"""The compiled network computes the same least fixpoint as the independent reference evaluator.

Every generated network is built and run in a child process (`policy_engine.isolation`), reused from
example to example: the engine's C code can corrupt its heap after thousands of networks, and a crash
must cost one example a retry, not the whole run. Policies are parsed and checked, and the reference
evaluated, here.
"""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from child_work import decide_generated
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from profiles import scaled

from policy_engine import CompileError, Decision, RequestError
from policy_engine._language.model import Policy
from policy_engine._language.reference import evaluate
from policy_engine._pipeline.check import check_policies
from policy_engine._pipeline.compile import compile_policies
from policy_engine._pipeline.facts import FactBuilder
from policy_engine._pipeline.load import parse_policy
from policy_engine._pipeline.request import normalize_request
from policy_engine.isolation import Isolated
from policy_engine.testing import _ROOT_COMPARISONS, check_proofs, policy_documents, requests

# A fresh child after this many networks: damage the engine leaves in its heap cannot build up for long.
NETWORKS_PER_CHILD = 500


@pytest.fixture(scope="module")
def isolated() -> Iterator[Isolated]:
    with Isolated(max_calls=NETWORKS_PER_CHILD) as isolated:
        yield isolated
    if isolated.crashes:  # an example that passed on its retry still says the engine crashed
        deaths = "; ".join(isolated.deaths)
        warnings.warn(f"the engine's process died during the property tests: {deaths}", stacklevel=1)


def _policy(doc: dict[str, Any]) -> Policy:
    policy, problems = parse_policy(doc)
    assert not problems, problems
    assert policy is not None
    problems = check_policies([policy])
    assert not problems, problems
    return policy


def _decide_generated(
    isolated: Isolated, policies: list[Policy], reqs: list[dict[str, Any]], proofs: bool = True
) -> tuple[list[Decision], list[Decision]]:
    """The requests decided as one batch and each alone, in a child; a policy the engine cannot run is
    rejected as an example."""
    try:
        result: tuple[list[Decision], list[Decision]] = isolated.call(decide_generated, policies, reqs, True, proofs)
    except CompileError as exc:
        if all(p.code in ("PE035", "PE036") for p in exc.problems):
            reject()
        raise
    return result


@given(doc=policy_documents(), reqs=st.lists(requests(platform="aliexpress"), min_size=1, max_size=6))
def test_without_proofs_the_network_agrees_with_reference(
    isolated: Isolated, doc: dict[str, Any], reqs: list[dict[str, Any]]
) -> None:
    """Decisions without proofs record only the rules that fired (the engine's messages are not decoded):
    the same outcome, rules, advisories and conclusions as the reference, alone and in a batch, and the
    decision with proofs but for its proofs (the same rule chosen for each conclusion among those that
    derive it)."""
    policies = [_policy(doc)]
    batch, singles = _decide_generated(isolated, policies, reqs, proofs=False)
    with_proofs, _ = _decide_generated(isolated, policies, reqs)
    for raw, decision, single, full in zip(reqs, batch, singles, with_proofs, strict=True):
        ref = evaluate(policies, normalize_request(raw))
        assert decision.error is None, decision.error
        got = (decision.outcome, decision.rules, tuple(a.rule for a in decision.advisories), decision.derived)
        assert got == (ref.outcome, ref.rules, ref.advisories, ref.derived)
        assert single.to_dict() == decision.to_dict()
        unproved = attrs.evolve(
            full,
            reasons=tuple(attrs.evolve(r, proof=None) for r in full.reasons),
            advisories=tuple(attrs.evolve(r, proof=None) for r in full.advisories),
        )
        assert decision.to_dict() == unproved.to_dict()


@given(doc=policy_documents(), reqs=st.lists(requests(platform="aliexpress"), min_size=1, max_size=6))
def test_network_agrees_with_reference(isolated: Isolated, doc: dict[str, Any], reqs: list[dict[str, Any]]) -> None:
    policies = [_policy(doc)]
    batch, singles = _decide_generated(isolated, policies, reqs)
    for raw, decision, single in zip(reqs, batch, singles, strict=True):
        req = normalize_request(raw)
        ref = evaluate(policies, req)
        assert decision.error is None, decision.error
        got = (
            decision.outcome,
            decision.rules,
            tuple(a.rule for a in decision.advisories),
            decision.derived,
        )
        assert got == (ref.outcome, ref.rules, ref.advisories, ref.derived)
        assert check_proofs(decision, req.body) == []
        assert single.to_dict() == decision.to_dict()


@settings(max_examples=scaled(50))  # two runs of up to 12 requests an example, in a child
@given(
    doc=policy_documents(),
    sellers=st.lists(requests(platform="aliexpress"), min_size=1, max_size=3),
    products=st.lists(requests(platform="aliexpress"), min_size=1, max_size=4),
    plan=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 3), st.sampled_from(["2024-03-01", "2024-03-01", "2024-02-28"])),
        min_size=2,
        max_size=12,
    ),
)
def test_a_catalog_run_decides_each_product_as_if_alone(
    isolated: Isolated,
    doc: dict[str, Any],
    sellers: list[dict[str, Any]],
    products: list[dict[str, Any]],
    plan: list[tuple[int, int, str]],
) -> None:
    """Consecutive requests of one seller share its facts in the network: interleaved sellers, products
    that change a conclusion drawn from the seller's facts (counts that include the product's category),
    and a change of date in the middle of a seller's run all give the answers, proofs included, of
    deciding each request alone."""
    policies = [_policy(doc)]
    catalog = [
        {
            "platform": "aliexpress",
            "as_of": day,
            "seller": copy.deepcopy(sellers[s % len(sellers)]["seller"]),
            "product": copy.deepcopy(products[p % len(products)]["product"]),
        }
        for s, p, day in plan
    ]
    batch, singles = _decide_generated(isolated, policies, catalog)
    for raw, decision, single in zip(catalog, batch, singles, strict=True):
        assert decision.error is None, decision.error
        assert decision.to_dict() == single.to_dict()
        ref = evaluate(policies, normalize_request(raw))
        assert (decision.outcome, decision.rules, decision.derived) == (ref.outcome, ref.rules, ref.derived)


_TEXTS = ["zz-1", "zz-2", "zz-3", "shoes", "acme", "other"]
# Conditions that tell texts apart by equality (with the seller's values and with constants), and two
# that tell them apart otherwise.
_EQUALITY_CONDITIONS: list[dict[str, Any]] = [
    {"some": "seller.trademarks", "where": [{"field": "item.mark", "equals": {"field": "product.brand"}}]},
    {
        "not": {
            "some": "seller.authorizations",
            "where": [{"field": "item.brand", "equals": {"field": "product.brand"}}],
        }
    },
    {"field": "product.brand", "in": ["acme", "zz-1"]},
    {"field": "product.brand", "not_equals": "zz-2"},
    {"field": "product.brand", "exists": True},
    {"field": "product.category", "equals": "shoes"},
    {"some": "seller.categories", "where": [{"field": "item", "equals": {"field": "product.category"}}]},
    {"field": "product.brand", "contains": "zz"},  # tells texts apart otherwise: the field is left out
    {"field": "product.category", "under": "shoes"},
]


@st.composite
def _equality_policies(draw: Any) -> dict[str, Any]:
    rules = []
    for i in range(draw(st.integers(1, 3))):
        outcome = draw(st.sampled_from(["deny", "review", "advisory"]))
        rule: dict[str, Any] = {
            "id": f"r{i}",
            "when": draw(st.lists(st.sampled_from(_EQUALITY_CONDITIONS), min_size=1, max_size=2)),
            "outcome": outcome,
            "message": {"en": "{product.brand} in {product.category}", "zh": "{product.brand}"},
        }
        if outcome == "deny":
            rule["remedies"] = [{"code": "fix", "en": "Fix {product.brand}.", "zh": "修正。"}]
        rules.append(rule)
    return {
        "id": "aliexpress.equality",
        "version": "1.0.0",
        "platform": "aliexpress",
        "effective_from": "2000-01-01",
        "title": "t",
        "sources": [{"document": "t", "provenance": "illustrative"}],
        "rules": rules,
    }


@settings(max_examples=scaled(50))  # two runs of up to 16 requests an example, in a child
@given(
    doc=_equality_policies(),
    seller=requests(platform="aliexpress"),
    products=st.lists(requests(platform="aliexpress"), min_size=1, max_size=4),
    texts=st.lists(st.sampled_from(_TEXTS), min_size=1, max_size=4),
    own=st.lists(
        st.tuples(st.sampled_from(["trademarks", "authorizations", "categories"]), st.sampled_from(_TEXTS)),
        min_size=1,
        max_size=4,
    ),
    plan=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 8), st.integers(0, 8)), min_size=2, max_size=16),
)
def test_without_proofs_texts_no_condition_tells_apart_are_decided_once_and_alike(
    isolated: Isolated,
    doc: dict[str, Any],
    seller: dict[str, Any],
    products: list[dict[str, Any]],
    texts: list[str],
    own: list[tuple[str, str]],
    plan: list[tuple[int, int, int]],
) -> None:
    """Without proofs, a run decides once the products whose texts in fields the network only tests for
    equality are known to no condition (neither its constants nor the seller's values it compares them
    with): each decision must still be the one the request gets alone. The products' brands and
    categories are taken from the seller's own values (some of them drawn here), the policy's and
    made-up texts."""
    body = copy.deepcopy(seller["seller"])
    for where, text in own:
        value: Any = text
        if where == "authorizations":
            value = {"brand": text, "valid_to": "2099-01-01"}
        elif where == "trademarks":
            value = {"mark": text, "status": "registered"}
        body[where] = [*(body.get(where) or []), value]
    pool = [*(text for _, text in own), *texts]
    catalog = []
    for p, brand, category in plan:
        product = copy.deepcopy(products[p % len(products)]["product"])
        product["brand"] = pool[brand % len(pool)]
        if category < len(pool):
            product["category"] = pool[category]
        catalog.append({"platform": "aliexpress", "as_of": seller["as_of"], "seller": body, "product": product})
    policies = [_policy(doc)]
    try:
        batch, singles = _decide_generated(isolated, policies, catalog, proofs=False)
    except RequestError:
        reject()  # a text the product's schema refuses
    for decision, single in zip(batch, singles, strict=True):
        assert decision.error is None, decision.error
        assert decision.to_dict() == single.to_dict()


@given(doc=policy_documents(), a=requests(platform="aliexpress"), b=requests(platform="aliexpress"))
def test_products_equal_in_the_fields_the_facts_read_have_equal_item_facts(
    doc: dict[str, Any], a: dict[str, Any], b: dict[str, Any]
) -> None:
    """A catalog run decides once the products whose `item_key` is equal: that must mean equal item facts.
    Here a product takes another's values in the fields the facts are said to read, and keeps its own
    elsewhere."""
    try:
        compiled = compile_policies("aliexpress", [_policy(doc)])
    except CompileError:
        reject()
    builder = FactBuilder(compiled.plan)
    if builder.item_fields is None:
        return  # the item facts read more than the product: runs compare the facts themselves
    mine, theirs = dict(b.get("product") or {}), a.get("product") or {}
    for field in builder.item_fields:
        if field in theirs:
            mine[field] = copy.deepcopy(theirs[field])
        else:
            mine.pop(field, None)
    first, second = normalize_request(a), normalize_request({**a, "product": mine})
    assert builder.item_key(first) == builder.item_key(second)
    assert json.dumps(builder.item(first), sort_keys=True) == json.dumps(builder.item(second), sort_keys=True)


@settings(max_examples=scaled(50))  # two networks an example; the differential test above runs the profile's count
@given(doc=policy_documents(), raw=requests(platform="aliexpress"), extra=st.sampled_from(["enterprise", "x"]))
def test_derived_conclusions_are_monotone_in_positive_rules(
    isolated: Isolated, doc: dict[str, Any], raw: dict[str, Any], extra: str
) -> None:
    """Adding a rule that derives nothing anyone negates never removes a derived conclusion."""
    bigger = dict(
        doc,
        rules=[
            *doc["rules"],
            {"id": "extra", "derive": "omega", "when": [{"field": "seller.entity_type", "equals": extra}]},
        ],
    )
    policy, policy2 = _policy(doc), _policy(bigger)
    try:
        (before,), _ = isolated.call(decide_generated, [policy], [raw])
        (after,), _ = isolated.call(decide_generated, [policy2], [raw])
    except CompileError:
        reject()
    assert set(before.derived) <= set(after.derived)
    assert before.outcome == after.outcome


@settings(max_examples=scaled(150))
@given(
    conds=st.lists(_ROOT_COMPARISONS, min_size=1, max_size=4),
    reqs=st.lists(requests(platform="aliexpress"), min_size=2, max_size=8),
)
def test_each_comparison_of_request_fields_draws_what_the_reference_draws(
    isolated: Isolated, conds: list[dict[str, Any]], reqs: list[dict[str, Any]]
) -> None:
    """Every kind of top-level comparison the strategies write (fields of one fact or two, fields every
    request has, text operators on the request's own fields, counts), each alone in a rule deriving its
    own conclusion, on many requests: the conclusions drawn are the reference's. (A comparison with a
    field every request has, and `contains` on `request.marketplace`, once drew nothing or too much.)"""
    doc = {
        "id": "t.comparisons",
        "version": "1.0.0",
        "platform": "aliexpress",
        "effective_from": "2000-01-01",
        "title": "t",
        "sources": [{"document": "t", "provenance": "illustrative"}],
        "rules": [{"id": f"c{k}", "when": [cond], "derive": f"c{k}"} for k, cond in enumerate(conds)],
    }
    policy, _problems = parse_policy(doc)
    if policy is None or check_policies([policy]):
        reject()  # a comparison the checks refuse for this combination
    policies = [policy]
    batch, _ = _decide_generated(isolated, policies, reqs)
    for raw, decision in zip(reqs, batch, strict=True):
        assert decision.error is None, decision.error
        assert decision.derived == evaluate(policies, normalize_request(raw)).derived


@settings(max_examples=50)
@given(doc=policy_documents(max_rules=16))
def test_generated_policies_of_many_rules_load(doc: dict[str, Any]) -> None:
    """The strategy draws more conclusions than its six named ones when asked for many rules: every
    document it draws loads, whatever `max_rules`."""
    policy = _policy(doc)
    assert len(policy.rules) == len(doc["rules"]) and policy.rules
