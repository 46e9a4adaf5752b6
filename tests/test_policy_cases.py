"""Every analyst test case (policies/<platform>/tests/*.json), checked more deeply than `policy-engine test`:
the reference evaluator agrees, every proof checks out, and the decision is valid against its schema."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from policy_engine import Engine, schemas
from policy_engine.reference import evaluate
from policy_engine.suite import Case, load_cases, measure_coverage, run_case, run_cases
from policy_engine.testing import check_proofs

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted((ROOT / "policies").glob("*/tests/*.json"))
CASES = [case for path in FILES for case in load_cases(path)]  # a file holds one case or a table of cases


def _id(case: Case) -> str:
    path = Path(case.file)
    return f"{path.parent.parent.name}/{path.stem}" + (f"/{case.name}" if case.pointer else "")


def test_there_are_cases_for_every_platform(engine: Engine) -> None:
    platforms = {p.parent.parent.name for p in FILES}
    assert engine.platforms <= platforms


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_case(case: Case, engine: Engine) -> None:
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
    coverage = measure_coverage(engine, run_cases(engine, CASES))
    assert coverage.percent("rule") == 100.0, [i for i in coverage.missing() if i.kind == "rule"]
    assert coverage.percent("boundary") == 100.0, [i for i in coverage.missing() if i.kind == "boundary"]
