"""Example requests with the decisions analysts expect (tests/corpus/*.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from policy_engine import Engine, schemas
from policy_engine.reference import evaluate
from policy_engine.request import normalize_request
from policy_engine.testing import check_proofs

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.json"))


def _case(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return case


def test_corpus_is_not_empty() -> None:
    assert len(CORPUS) >= 30


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_case(path: Path, engine: Engine) -> None:
    case = _case(path)
    assert schemas.validate("testcase", case, str(path)) == []
    decision = engine.decide(case["request"])
    expect = case["expect"]
    assert decision.error is None
    assert decision.outcome == expect["outcome"], case["description"]
    if "rules" in expect:
        assert sorted(decision.rules) == sorted(expect["rules"])
    if "advisories" in expect:
        assert sorted(a.rule for a in decision.advisories) == sorted(expect["advisories"])
    req = normalize_request(case["request"])
    day = req["as_of"]
    ref = evaluate(engine.in_force(req["platform"], __import__("datetime").date.fromisoformat(day)), req)
    assert (ref.outcome, ref.rules) == (decision.outcome, decision.rules)
    assert check_proofs(decision, req) == []
    assert schemas.validate("decision", decision.to_dict()) == []


def test_every_shipped_rule_is_exercised(engine: Engine) -> None:
    fired: set[str] = set()
    for path in CORPUS:
        d = engine.decide(_case(path)["request"])
        fired.update(d.rules)
        fired.update(a.rule for a in d.advisories)
        fired.update(rule for _, rule in d.derivations)
        for r in (*d.reasons, *d.advisories):
            if r.proof is not None:
                fired.update(p.rule for p in r.proof.walk())
    rules = {p.cite(r) for p in engine.policies for r in p.rules}
    assert rules - fired == set()
