"""Every analyst test case (policies/<platform>/tests/*.json), checked more deeply than `policy-engine test`:
the reference evaluator agrees, every proof checks out, and the decision is valid against its schema."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from policy_engine import Engine, schemas
from policy_engine.reference import evaluate
from policy_engine.suite import load_case, measure_coverage, run_case, run_cases
from policy_engine.testing import check_proofs

ROOT = Path(__file__).resolve().parent.parent
CASES = sorted((ROOT / "policies").glob("*/tests/*.json"))


def test_there_are_cases_for_every_platform(engine: Engine) -> None:
    platforms = {p.parent.parent.name for p in CASES}
    assert engine.platforms <= platforms


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.parent.name}/{p.stem}" for p in CASES])
def test_case(path: Path, engine: Engine) -> None:
    case = load_case(path)
    result = run_case(engine, case)
    assert result.passed, result.differences
    decision = result.decision
    if decision is None:  # the case expects that no policy is in force
        return
    req = decision.request
    assert req is not None
    ref = evaluate(engine.in_force(req["platform"], dt.date.fromisoformat(req["as_of"])), req)
    assert (ref.outcome, ref.rules, ref.derived) == (decision.outcome, decision.rules, decision.derived)
    assert check_proofs(decision, req) == []
    assert schemas.validate("decision", decision.to_dict()) == []


def test_shipped_library_is_fully_covered(engine: Engine) -> None:
    coverage = measure_coverage(engine, run_cases(engine, [load_case(p) for p in CASES]))
    assert coverage.percent("rule") == 100.0, [i for i in coverage.missing() if i.kind == "rule"]
    assert coverage.percent("boundary") == 100.0, [i for i in coverage.missing() if i.kind == "boundary"]
