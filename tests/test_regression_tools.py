"""Strategies built from the policies, and the regression properties over them."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from profiles import scaled

from policy_engine import Engine
from policy_engine._language import schemas
from policy_engine._language.model import AllOf, AnyOf, Count, Not, Some
from policy_engine._language.reference import holds
from policy_engine._language.semantics import condition_test
from policy_engine._pipeline.load import parse_policy
from policy_engine._pipeline.request import normalize_request
from policy_engine._tools.generate import outcome_rules
from policy_engine.testing import (
    assert_equivalent,
    assert_matches_reference,
    assert_no_new_allows,
    policy_documents,
    policy_requests,
    requests,
)

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"


@pytest.fixture(scope="module")
def shipped() -> Iterator[Engine]:
    engine = Engine.from_directory(POLICIES)
    yield engine
    engine.close()


def _changed(tmp_path: Path, name: str, key: str, value: object) -> Engine:
    folder = tmp_path / "policies"
    shutil.copytree(POLICIES, folder)
    path = folder / name
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["data"][key] = value
    path.write_text(json.dumps(doc), encoding="utf-8")
    return Engine.from_directory(folder)


def test_every_outcome_rule_of_the_shipped_library_decides_in_some_generated_request(shipped: Engine) -> None:
    every = {p.cite(r) for p in shipped.policies for _, r in outcome_rules([p])}
    seen: set[str] = set()

    @seed(0)
    @settings(max_examples=1600, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(policy_requests(shipped))
    def collect(request: dict[str, object]) -> None:
        assert schemas.validate("request", request) == []
        decision = shipped.decide(request, proofs=False)
        seen.update(decision.rules)
        seen.update(a.rule for a in decision.advisories)

    collect()
    assert sorted(every - seen) == []


def test_a_strategy_for_one_platform_and_date(shipped: Engine) -> None:
    @settings(max_examples=30, deadline=None, database=None)
    @given(policy_requests(shipped, platform="dhgate", as_of="2016-07-15"))
    def check(request: dict[str, object]) -> None:
        assert request["platform"] == "dhgate" and request["as_of"] == "2016-07-15"

    check()
    with pytest.raises(ValueError, match="no policy of platform 'wish' is in force on 1999-01-01"):
        policy_requests(shipped, platform="wish", as_of="1999-01-01")


def test_equivalent_and_no_new_allows_pass_on_the_same_policies(shipped: Engine) -> None:
    assert_equivalent(shipped, shipped, platform="dhgate", max_examples=60, seed=1)
    assert_no_new_allows(shipped, shipped, platform="dhgate", max_examples=60, seed=1)
    assert_matches_reference(shipped, platform="aliexpress", max_examples=60, seed=1)


def test_a_loosened_threshold_fails_with_the_minimal_request_and_both_proofs(shipped: Engine, tmp_path: Path) -> None:
    looser = _changed(tmp_path, "dhgate/cycling-admission-2.0.0.json", "max_refund_rate", 0.2)
    try:
        with pytest.raises(AssertionError) as failure:
            assert_no_new_allows(shipped, looser, platform="dhgate", max_examples=300, seed=2)
        text = str(failure.value)
        assert text.startswith("the new policies allow a request the old ones do not\nminimal request:\n")
        request = json.loads(text.split("minimal request:\n", 1)[1].split("\nold:\n", 1)[0])
        assert request["seller"]["metrics"] == {"refund_rate": request["seller"]["metrics"]["refund_rate"]}
        assert 0.05 < request["seller"]["metrics"]["refund_rate"] <= 0.2
        assert "DENY  dhgate" in text and "dhgate.cycling-admission@2.0.0#refund-rate-too-high" in text
        assert "/seller/metrics/refund_rate" in text  # the proof of the old decision
        assert "ALLOW  dhgate" in text
        with pytest.raises(AssertionError, match="decide this request differently"):
            assert_equivalent(shipped, looser, request=request)
        # Tightening is not a new allow.
        assert_no_new_allows(looser, shipped, platform="dhgate", max_examples=100, seed=2)
    finally:
        looser.close()


def test_a_changed_data_value_makes_the_conditions_reading_it_differ(shipped: Engine, tmp_path: Path) -> None:
    """Near misses are aimed at the conditions the other version lacks: a version that changes only a value
    in `data` changes the conditions that read it (and no other condition of the policy)."""
    from policy_engine._tools.generate import condition_texts, differing_targets

    looser = _changed(tmp_path, "dhgate/cycling-admission-2.0.0.json", "max_refund_rate", 0.2)
    try:
        day = dt.date(2024, 6, 1)
        mine = [p for p in shipped.in_force("dhgate", day) if p.id == "dhgate.cycling-admission"]
        theirs = condition_texts(looser.in_force("dhgate", day))
        assert mine and mine[0].version == "2.0.0"
        differing = {r.id: differing_targets(r, {}, theirs) for r in mine[0].rules}
        assert differing["refund-rate-too-high"], differing
        changed = {rid for rid, paths in differing.items() if paths}
        reads = {r.id for r in mine[0].rules if "max_refund_rate" in json.dumps(r.when, default=lambda c: repr(c))}
        assert changed == reads, (changed, reads)
    finally:
        looser.close()


def _parts(cond: Any) -> Iterator[Any]:
    """A condition and every condition inside it."""
    yield cond
    inner = (
        (cond.condition,)
        if isinstance(cond, Not)
        else cond.conditions
        if isinstance(cond, (AnyOf, AllOf))
        else cond.where
        if isinstance(cond, (Some, Count))
        else ()
    )
    for c in inner:
        yield from _parts(c)


@settings(max_examples=scaled(60), suppress_health_check=[HealthCheck.too_slow])
@given(
    doc=policy_documents(), raw=requests(platform="aliexpress"), derived=st.sets(st.sampled_from(["d0", "d1", "d2"]))
)
def test_compiled_conditions_hold_where_the_reference_says(
    doc: dict[str, Any], raw: dict[str, Any], derived: set[str]
) -> None:
    """The fact builder's filtered counts, the proofs' counted elements and the request generator test
    conditions with functions made once per condition (`semantics.condition_test`); each holds exactly where
    the reference evaluator's `holds` does, for the request and for each element of every list a `some` or
    `count` visits."""
    policy, _problems = parse_policy(doc, "generated.json")
    if policy is None:
        return
    req = normalize_request(raw).body
    names = derived | {r.derive for r in policy.rules if r.derive}
    for rule in policy.rules:
        for cond in _parts(rule.when):
            for chosen in (set(), names):
                assert condition_test(cond)(req, chosen, None) == holds(cond, req, chosen, None)
                if isinstance(cond, (Some, Count)):
                    root, key = cond.list_path.split(".")
                    for element in (req.get(root) or {}).get(key) or ():
                        for c in cond.where:
                            assert condition_test(c)(req, chosen, element) == holds(c, req, chosen, element)


def test_compiled_distinct_and_merged_counts_read_what_the_reference_reads() -> None:
    """Examples the property above meets rarely: a distinct count that a product's category tips over, and
    a merged count with dates close together, apart, and missing."""
    distinct = Count(
        list_path="seller.categories",
        op="greater_than",
        value=1,
        distinct="main_category",
        including="product.category",
    )
    merged = Count(list_path="seller.violations", op="at_least", value=3, merge=("item.occurred_on", 3))
    dates = ["2024-01-01", "2024-01-02", "2024-01-10", None, "not a date"]
    for body in (
        {"seller": {"categories": ["shoes/a", "shoes/b"]}, "product": {"category": "bags/x"}},
        {"seller": {"categories": ["shoes/a", "shoes/b"]}, "product": {"category": "shoes/c"}},
        {"seller": {"violations": [{"occurred_on": d} for d in dates]}},
        {"seller": {"violations": [{"occurred_on": d} for d in dates[:2]]}},
    ):
        for cond in (distinct, merged):
            assert condition_test(cond)(body, set(), None) == holds(cond, body, set(), None), (cond, body)
    assert condition_test(distinct)(
        {"seller": {"categories": ["shoes/a"]}, "product": {"category": "bags/x"}}, set(), None
    )
    assert condition_test(merged)({"seller": {"violations": [{"occurred_on": d} for d in dates]}}, set(), None)


LAZMALL = "lazada/lazmall-brand-authorization-1.1.0.json"


def _dropped(tmp_path: Path, rule_id: str, field: str) -> Engine:
    """The shipped policies with the LazMall rule `rule_id` no longer testing `field` (anywhere in its
    first condition's `where`, negated or not): a loosening."""
    folder = tmp_path / "policies"
    shutil.copytree(POLICIES, folder)
    path = folder / LAZMALL
    doc = json.loads(path.read_text(encoding="utf-8"))
    (rule,) = [r for r in doc["rules"] if r["id"] == rule_id]
    where = rule["when"][0]["where"]
    kept = [c for c in where if field not in json.dumps(c)]
    assert len(kept) == len(where) - 1
    rule["when"][0]["where"] = kept
    path.write_text(json.dumps(doc), encoding="utf-8")
    return Engine.from_directory(folder)


@pytest.mark.parametrize(
    ("rule_id", "field"),
    [
        ("owns-registered-trademark", "item.owned_by_seller"),  # a trademark someone else owns now proves the brand
        ("holds-long-authorization", "item.chain_complete"),  # a distributor's letter without the letters above it
    ],
)
def test_a_dropped_condition_on_a_derived_field_is_a_new_allow(
    shipped: Engine, tmp_path: Path, rule_id: str, field: str
) -> None:
    """Requests carry the fields `owned_by_seller` and `chain_complete` derive from (a trademark's owner and
    the seller's legal name; an authorization's level and letters), never those fields themselves: the
    generators set the former, so loosening a rule on the latter is found, by both properties and by diff."""
    looser = _dropped(tmp_path, rule_id, field)
    try:
        for run in (1, 2, 3):
            with pytest.raises(AssertionError, match="the new policies allow a request the old ones do not"):
                assert_no_new_allows(shipped, looser, platform="lazada", max_examples=200, seed=run)
        with pytest.raises(AssertionError, match="decide this request differently"):
            assert_equivalent(shipped, looser, platform="lazada", max_examples=200, seed=1)
        from policy_engine._tools.diff import diff_engines

        report = diff_engines(shipped, looser, platforms=["lazada"])
        assert any(f.old[0] == "deny" and f.new[0] == "allow" for f in report.flips), report.flips
    finally:
        looser.close()


@pytest.mark.parametrize("owned", [True, False])
@pytest.mark.parametrize("complete", [True, False, None])
@pytest.mark.parametrize("sublicensed", [True, False, None])
def test_the_generator_sets_derived_fields_through_what_they_derive_from(
    owned: bool, complete: bool | None, sublicensed: bool | None
) -> None:
    import random

    from policy_engine._language.semantics import MISSING
    from policy_engine._tools.generate import Pools, RequestGenerator

    generator = RequestGenerator([[]], "lazada", dt.date(2024, 6, 1), Pools([]), random.Random(0))
    generator._req = {"platform": "lazada", "as_of": "2024-06-01", "seller": {}, "product": {"category": "x"}}
    mark = generator._new_element("seller.trademarks")
    letter = generator._new_element("seller.authorizations")
    generator._set("item.owned_by_seller", owned, mark)
    wanted = {"chain_complete": complete, "chain_sublicensed": sublicensed}
    for name, value in wanted.items():
        generator._set(f"item.{name}", MISSING if value is None else value, letter)
    seller = normalize_request(generator._req).body["seller"]
    assert seller["trademarks"][0]["owned_by_seller"] is owned
    assert generator._get("item.owned_by_seller", mark) is owned
    authorization = seller["authorizations"][0]
    if complete is None and sublicensed is None:
        assert "chain_complete" not in authorization and "chain_sublicensed" not in authorization
    for name, value in wanted.items():
        if value is not None:
            assert authorization[name] is value, (name, authorization)
            assert generator._get(f"item.{name}", letter) is value
