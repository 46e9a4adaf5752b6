"""A first decision on a large policy compiles only the rules its request can reach (`compile.reach`), and
decides exactly as the whole network does: the same outcome, rules, messages, remedies and proofs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from builders import policy
from child_work import decide_reachable
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from profiles import scaled

import policy_engine.engine as engine_module
from policy_engine import CompileError, Engine, load_documents
from policy_engine._language.model import Policy
from policy_engine._language.reference import evaluate
from policy_engine._pipeline.check import check_policies
from policy_engine._pipeline.compile.reach import Reach
from policy_engine._pipeline.load import parse_policy
from policy_engine._pipeline.request import normalize_request
from policy_engine.isolation import Isolated
from policy_engine.testing import check_proofs, policy_documents, requests

CATEGORIES = 60


def _gated_rules(n: int) -> list[dict[str, Any]]:
    """`n` rules, each gated by one product category (`c{k}`), a revoked approval of that category
    denying; one rule for every category derives `approved` from an approved grant, and one ungated rule
    asks for a review without it (it negates what gated rules derive)."""
    rules: list[dict[str, Any]] = []
    for i in range(n):
        cat = f"c{i % CATEGORIES}/s{i // CATEGORIES}"
        rules.append(
            {
                "id": f"r{i}",
                "when": [
                    {"field": "product.category", "under": cat},
                    {
                        "some": "seller.grants",
                        "where": [
                            {"field": "item.kind", "equals": "category_approval"},
                            {"field": "item.status", "equals": "revoked"},
                            {"field": "item.category", "under": cat},
                        ],
                    },
                ],
                "outcome": "deny",
                "message": {"en": f"The approval for {cat} was revoked.", "zh": f"类目 {cat} 的资质已被撤销。"},
                "remedies": [{"code": "renew", "en": "Renew the approval.", "zh": "重新申请资质。"}],
            }
        )
    for k in range(CATEGORIES):
        rules.append(
            {
                "id": f"approved-c{k}",
                "when": [
                    {"field": "product.category", "under": f"c{k}"},
                    {
                        "some": "seller.grants",
                        "where": [
                            {"field": "item.status", "equals": "approved"},
                            {"field": "item.category", "under": f"c{k}"},
                        ],
                    },
                ],
                "derive": "approved",
            }
        )
    rules.append(
        {
            "id": "unapproved",
            "when": [{"not": {"derived": "approved"}}],
            "outcome": "review",
            "message": {"en": "No approval for {product.category}.", "zh": "类目 {product.category} 没有资质。"},
        }
    )
    return rules


def _request(category: str, grants: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "platform": "testplatform",
        "as_of": "2024-03-01",
        "seller": {
            "id": "s1",
            "grants": [{"kind": "category_approval", "category": c, "status": s} for c, s in grants],
        },
        "product": {"id": "p1", "category": category},
    }


REQUESTS = [
    _request("c7/s1", [("c7/s1", "revoked"), ("c8/s1", "approved")]),  # deny (r67), unapproved review
    _request("c8/s1/x", [("c8/s1", "approved")]),  # allow: approved, nothing revoked
    _request("c9/s0", [("c9/s0", "revoked"), ("c9", "approved")]),  # deny, approved
    _request("elsewhere", []),  # no gated rule reaches it: review
    _request("c7/s1", [("c7/s1", "approved")]),  # the first request's category again
]


@pytest.fixture(scope="module")
def big() -> Policy:
    return policy(_gated_rules(600))


@pytest.fixture()
def whole(big: Policy) -> Any:
    engine = Engine([big], cache=False)
    engine.prepare_all()
    yield engine
    engine.close()


def _partials(engine: Engine) -> list[int]:
    """The number of rules of each network of reachable rules the engine built."""
    return [len(p.compiled.actions) for s in engine._partial.values() if s for p in s.networks.values()]


def test_a_first_decision_on_a_large_policy_compiles_only_the_rules_its_request_reaches(
    big: Policy, whole: Engine
) -> None:
    engine = Engine([big], cache=False)
    try:
        for raw in REQUESTS:
            got, want = engine.decide(raw), whole.decide(raw)
            assert got.error is None
            assert got.to_dict() == want.to_dict()
            assert check_proofs(got, normalize_request(raw).body) == []
        assert [d.outcome for d in map(engine.decide, REQUESTS)] == ["deny", "allow", "deny", "review", "allow"]
        sizes = _partials(engine)
        # one network per set of reachable rules: c7/s1 twice, c8/s1/x, c9/s0, and the ungated rule alone
        assert len(sizes) == 4 and max(sizes) <= 4 < len(big.rules)
        assert not engine._cache  # the whole network was never built
    finally:
        engine.close()


def test_after_so_many_networks_of_reachable_rules_the_whole_network_decides(big: Policy, whole: Engine) -> None:
    engine = Engine([big], cache=False)
    try:
        raws = [_request(f"c{k}/s0", [(f"c{k}/s0", "revoked")]) for k in range(engine_module.PARTIAL_NETWORKS + 3)]
        for raw in raws:
            assert engine.decide(raw).to_dict() == whole.decide(raw).to_dict()
        assert len(_partials(engine)) == engine_module.PARTIAL_NETWORKS
        assert len(engine._cache) == 1  # built when the next request needed another network
        later = _request("c1/s0", [("c1/s0", "revoked")])
        assert engine.decide(later).to_dict() == whole.decide(later).to_dict()
        assert len(_partials(engine)) == engine_module.PARTIAL_NETWORKS
    finally:
        engine.close()


def test_batches_small_policies_and_cached_networks_use_the_whole_network(tmp_path: Path, big: Policy) -> None:
    batch = Engine([big], cache=False)
    assert [d.outcome for d in batch.decide_many(REQUESTS[:2])] == ["deny", "allow"]
    assert _partials(batch) == [] and len(batch._cache) == 1
    batch.close()

    small = Engine([policy(_gated_rules(engine_module.PARTIAL_RULES - CATEGORIES - 2))], cache=False)
    assert small.decide(REQUESTS[0]).outcome == "deny"
    assert _partials(small) == [] and len(small._cache) == 1
    small.close()

    doc = {
        "id": "t.big",
        "version": "1.0.0",
        "platform": "testplatform",
        "effective_from": "2000-01-01",
        "title": "t",
        "sources": [{"document": "t", "provenance": "illustrative"}],
        "rules": _gated_rules(600),
    }
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "big.json").write_text(json.dumps(doc), encoding="utf-8")
    cache = tmp_path / "cache"
    loaded = load_documents([tmp_path / "policies"])
    first = Engine(loaded, cache=cache)
    assert first.decide(REQUESTS[0]).outcome == "deny"
    assert _partials(first) and not list(cache.glob("*.json"))  # a network without rules is never stored
    first.prepare_all()  # builds and stores the whole network
    first.close()
    stored = list(cache.glob("*.json"))
    assert stored
    second = Engine(loaded, cache=cache)
    assert second.decide(REQUESTS[0]).outcome == "deny"
    assert _partials(second) == [] and len(second._cache) == 1  # read from the cache, whole
    second.close()


def test_a_gate_that_cannot_be_evaluated_keeps_its_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    from policy_engine._pipeline.compile import reach as reach_module

    rules = [
        {
            "id": f"r{k}",
            "when": [{"field": "product.brand", "equals": f"b{k}"}],
            "outcome": "deny",
            "message": {"en": "x", "zh": "x"},
        }
        for k in range(3)
    ]
    body = normalize_request({**REQUESTS[0], "product": {"id": "p", "category": "c", "brand": "b1"}}).body
    assert Reach([policy(rules)]).unreachable(body) == frozenset({"t.big@1.0.0#r0", "t.big@1.0.0#r2"})

    def broken(cond: Any) -> Any:
        def test(body: Any, derived: Any, item: Any) -> bool:
            raise RuntimeError("cannot tell")

        return test

    monkeypatch.setattr(reach_module, "condition_test", broken)
    assert Reach([policy(rules)]).unreachable(body) == frozenset()


_TEXTS = st.sampled_from(["", "/", "a", "a/", "a/b", "a//b", "/a", "a/b/c", "ab", "A", "a/b/", "é/ü", "c7/s1"])


@settings(max_examples=scaled(300))
@given(
    gates=st.lists(
        st.lists(
            st.one_of(
                st.tuples(st.sampled_from(["under", "equals", "not_equals", "in"]), _TEXTS),
                st.tuples(st.just("under"), st.lists(_TEXTS, min_size=1, max_size=3)),
                st.tuples(st.just("exists"), st.booleans()),
            ),
            max_size=3,
        ),
        min_size=1,
        max_size=8,
    ),
    category=st.sampled_from(["a", "a/b", "a/b/c", "ab", "a-b/c", "c7/s1", "a/bc", "b/a"]),
)
def test_the_index_of_category_gates_answers_as_each_gate_evaluated(
    gates: list[list[tuple[str, Any]]], category: str
) -> None:
    """Which rules a request reaches, through the index of `under` texts, is what evaluating every top-level
    comparison with its meaning (`semantics.condition_test`) gives: a category is under itself and its
    prefixes before a `/`, nothing else (`a/` is not an ancestor of `a/b`, `` is one of `/a`)."""
    from policy_engine._language.semantics import condition_test

    rules = []
    for k, conds in enumerate(gates):
        when: list[dict[str, Any]] = [{"field": "product.title", "exists": True}] if not conds else []
        for op, value in conds:
            if op == "in" and not isinstance(value, list):
                value = [value]
            when.append({"field": "product.category", op: value})
        rules.append({"id": f"r{k}", "when": when, "outcome": "deny", "message": {"en": "x", "zh": "x"}})
    built = policy(rules)
    raw = {
        "platform": "testplatform",
        "as_of": "2024-03-01",
        "seller": {},
        "product": {"id": "p", "category": category},
    }
    body = normalize_request(raw).body  # categories a request may hold (the texts above are the policy's)
    expected = frozenset(
        built.cite(rule)
        for rule in built.rules
        if not all(condition_test(c)(body, frozenset(), None) for c in rule.when.conditions)
    )
    assert Reach([built]).unreachable(body) == expected


def test_requests_differing_only_in_types_of_equal_values_do_not_share_an_answer() -> None:
    """The gates' answers are remembered by the values they read, written as JSON: 1, 1.0 and true differ."""
    rules = [
        {
            "id": f"r{v}",
            "when": [{"field": "seller.metrics.refund_rate", "equals": v}],
            "outcome": "deny",
            "message": {"en": "x", "zh": "x"},
        }
        for v in (1, 0)
    ]
    reach = Reach([policy(rules)])
    one = normalize_request(
        {
            "platform": "testplatform",
            "as_of": "2024-03-01",
            "seller": {"metrics": {"refund_rate": 1}},
            "product": {"id": "p", "category": "x"},
        }
    ).body
    other = json.loads(json.dumps(one))
    other["seller"]["metrics"]["refund_rate"] = 1.5
    assert reach.unreachable(one) == frozenset({"t.big@1.0.0#r0"})
    assert reach.unreachable(other) == frozenset({"t.big@1.0.0#r0", "t.big@1.0.0#r1"})
    assert reach.unreachable(one) == frozenset({"t.big@1.0.0#r0"})


@pytest.fixture(scope="module")
def isolated() -> Any:
    with Isolated(max_calls=500) as isolated:
        yield isolated


def _policy(doc: dict[str, Any]) -> Policy:
    p, problems = parse_policy(doc)
    assert p is not None and not problems, problems
    assert check_policies([p]) == []
    return p


@settings(max_examples=scaled(100))
@given(
    doc=policy_documents(),
    reqs=st.lists(requests(platform="aliexpress"), min_size=1, max_size=5),
    proofs=st.booleans(),
)
def test_a_network_of_the_reachable_rules_decides_as_the_whole_network(
    isolated: Isolated, doc: dict[str, Any], reqs: list[dict[str, Any]], proofs: bool
) -> None:
    """Generated policies (comparisons of every kind at the top of rules, negation, derived conclusions)
    and requests: each decided by `Engine.decide` on the rules it reaches, and alone on the whole network,
    give the same decision, proofs included, and the reference's answer."""
    policies = [_policy(doc)]
    try:
        alone, partial = isolated.call(decide_reachable, policies, reqs, proofs)
    except CompileError as exc:
        if all(p.code in ("PE035", "PE036") for p in exc.problems):
            reject()
        raise
    for raw, want, got in zip(reqs, alone, partial, strict=True):
        assert got.error is None, got.error
        assert got.to_dict() == want.to_dict()
        ref = evaluate(policies, normalize_request(raw))
        assert (got.outcome, got.rules, got.derived) == (ref.outcome, ref.rules, ref.derived)
        if proofs:
            assert check_proofs(got, normalize_request(raw).body) == []
        else:
            assert all(r.proof is None for r in (*got.reasons, *got.advisories))


def test_once_the_whole_network_cannot_be_compiled_every_request_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """520 rules under distinct categories of one node: the whole network exceeds the engine's fan-out
    (PE036). A request decided on the rules it reaches before the whole network was first needed got its
    (correct) decision; from the first CompileError on, every request of these versions raises it, the
    ones decided before included, as a batch does."""
    rules = [
        {"id": f"r{i}", "when": [{"field": "product.category", "under": f"k{i}"}], "outcome": "deny"}
        for i in range(520)
    ]
    for rule in rules:
        rule["message"] = {"en": "x", "zh": "x"}
    fan = policy(rules)

    def request(category: str) -> dict[str, Any]:
        return {"platform": "testplatform", "as_of": "2024-03-01", "seller": {}, "product": {"category": category}}

    monkeypatch.setattr(engine_module, "PARTIAL_NETWORKS", 1)
    engine = Engine([fan], cache=False)
    assert engine.decide(request("k3")).rules == ("t.big@1.0.0#r3",)
    for category in ("k7", "k3"):
        with pytest.raises(CompileError, match="PE036"):
            engine.decide(request(category))
    engine.close()

    batch_first = Engine([fan], cache=False)
    with pytest.raises(CompileError):
        batch_first.decide_many([request("k3")])
    with pytest.raises(CompileError):
        batch_first.decide(request("k3"))
    batch_first.close()
