"""The compiled network computes the same least fixpoint as the independent reference evaluator."""

from __future__ import annotations

from typing import Any

from hypothesis import given, reject
from hypothesis import strategies as st

from policy_engine import CompileError, Engine
from policy_engine.check import check_policies
from policy_engine.load import parse_policy
from policy_engine.reference import evaluate
from policy_engine.request import normalize_request
from policy_engine.testing import check_proofs, policy_documents, requests


def _engine(doc: dict[str, Any]) -> Engine:
    policy, problems = parse_policy(doc)
    assert not problems, problems
    assert policy is not None
    problems = check_policies([policy])
    assert not problems, problems
    return Engine([policy])


@given(doc=policy_documents(), reqs=st.lists(requests(platform="aliexpress"), min_size=1, max_size=6))
def test_network_agrees_with_reference(doc: dict[str, Any], reqs: list[dict[str, Any]]) -> None:
    engine = _engine(doc)
    try:
        try:
            batch = engine.decide_many(reqs)
        except CompileError as exc:
            if all(p.code in ("unsupported", "too-large") for p in exc.problems):
                reject()
            raise
        for raw, decision in zip(reqs, batch, strict=True):
            req = normalize_request(raw)
            ref = evaluate(engine.policies, req)
            assert decision.error is None, decision.error
            got = (
                decision.outcome,
                decision.rules,
                tuple(a.rule for a in decision.advisories),
                decision.derived,
            )
            assert got == (ref.outcome, ref.rules, ref.advisories, ref.derived)
            assert check_proofs(decision, req) == []
            single = engine.decide(raw)
            assert single.to_dict() == decision.to_dict()
    finally:
        engine.close()


@given(doc=policy_documents(), raw=requests(platform="aliexpress"), extra=st.sampled_from(["enterprise", "x"]))
def test_derived_conclusions_are_monotone_in_positive_rules(
    doc: dict[str, Any], raw: dict[str, Any], extra: str
) -> None:
    """Adding a rule that derives nothing anyone negates never removes a derived conclusion."""
    engine = _engine(doc)
    bigger = dict(
        doc,
        rules=[
            *doc["rules"],
            {"id": "extra", "derive": "omega", "when": [{"field": "seller.entity_type", "equals": extra}]},
        ],
    )
    engine2 = _engine(bigger)
    try:
        try:
            before, after = engine.decide(raw), engine2.decide(raw)
        except CompileError:
            reject()
        assert set(before.derived) <= set(after.derived)
        assert before.outcome == after.outcome
    finally:
        engine.close()
        engine2.close()
