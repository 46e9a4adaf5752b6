"""The compiled network computes the same least fixpoint as the independent reference evaluator.

Every generated network is built and run in a child process (`policy_engine.isolation`), reused from
example to example: the engine's C code can corrupt its heap after thousands of networks, and a crash
must cost one example a retry, not the whole run. Policies are parsed and checked, and the reference
evaluated, here.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from child_work import decide_generated
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from profiles import scaled

from policy_engine import CompileError
from policy_engine.check import check_policies
from policy_engine.isolation import Isolated
from policy_engine.load import parse_policy
from policy_engine.model import Policy
from policy_engine.reference import evaluate
from policy_engine.request import normalize_request
from policy_engine.testing import check_proofs, policy_documents, requests

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


@given(doc=policy_documents(), reqs=st.lists(requests(platform="aliexpress"), min_size=1, max_size=6))
def test_network_agrees_with_reference(isolated: Isolated, doc: dict[str, Any], reqs: list[dict[str, Any]]) -> None:
    policies = [_policy(doc)]
    try:
        batch, singles = isolated.call(decide_generated, policies, reqs, True)
    except CompileError as exc:
        if all(p.code in ("unsupported", "too-large") for p in exc.problems):
            reject()
        raise
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
        assert check_proofs(decision, req) == []
        assert single.to_dict() == decision.to_dict()


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
