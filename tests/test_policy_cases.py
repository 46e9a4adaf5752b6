"""The analysts' test cases (policies/<platform>/tests/*.json).

Each case runs once, as an item of the package's pytest plugin (`policies/<platform>/tests/<file>.json::<case>`,
collected because `policies` is one of the suite's testpaths): a failure is the report `policy-engine test`
prints, expected against got with the proofs. This module checks what the plugin does not, on the decisions
of the cases decided once together: the reference evaluator agrees, every proof checks out, every decision
is valid against its schema, and the cases cover every rule and boundary of the shipped library. It also
proves that a wrong case fails a pytest run.
"""

from __future__ import annotations

import json
import shutil
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from policy_engine import Engine
from policy_engine._language import schemas
from policy_engine._language.reference import evaluate
from policy_engine._pipeline.request import normalize_request
from policy_engine._tools.suite import CaseResult, load_cases, measure_coverage, run_cases
from policy_engine.testing import check_proofs

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted((ROOT / "policies").glob("*/tests/*.json"))
CASES = [case for path in FILES for case in load_cases(path)]  # a file holds one case or a table of cases
CASES_WISH = "wish-001-2016-12-31-before-brand-rules.json"


@pytest.fixture(scope="module")
def results(engine: Engine) -> list[CaseResult]:
    """Every case decided once by the session's engine (shadow mode: each decision re-checked)."""
    return run_cases(engine, CASES)


def test_there_are_cases_for_every_platform(engine: Engine) -> None:
    platforms = {p.parent.parent.name for p in FILES}
    assert engine.platforms <= platforms


def test_the_reference_agrees_and_every_proof_and_decision_is_valid(engine: Engine, results: list[CaseResult]) -> None:
    checked = 0
    for result in results:
        decision = result.decision
        if decision is None:  # the case expects that no policy is in force
            continue
        req = decision.request
        assert req is not None
        norm = normalize_request(req)
        ref = evaluate(engine.in_force(norm.platform, norm.as_of), norm)
        assert (ref.outcome, ref.rules, ref.derived) == (decision.outcome, decision.rules, decision.derived), (
            result.case.name
        )
        assert check_proofs(decision, req) == [], result.case.name
        assert schemas.validate("decision", decision.to_dict()) == [], result.case.name
        checked += 1
    assert checked > 400


def test_shipped_library_is_fully_covered(engine: Engine, results: list[CaseResult]) -> None:
    coverage = measure_coverage(engine, results)
    assert coverage.percent("rule") == 100.0, [i for i in coverage.missing() if i.kind == "rule"]
    assert coverage.percent("boundary") == 100.0, [i for i in coverage.missing() if i.kind == "boundary"]


def test_the_plugin_runs_the_cases_of_this_suite(pytestconfig: pytest.Config) -> None:
    """The plugin is registered (by conftest.py here, by its entry point elsewhere) and the policies are a testpath."""
    assert pytestconfig.pluginmanager.has_plugin("policy_engine.pytest_plugin")
    assert any(ep.name == "policy-engine" for ep in entry_points(group="pytest11"))
    assert "policies" in pytestconfig.getini("testpaths")


@pytest.mark.parametrize("loaded_by", ["entry point", "this repository's conftest.py"])
def test_a_wrong_case_fails_the_run_with_the_analysts_report(pytester: pytest.Pytester, loaded_by: str) -> None:
    """A folder of policies with one right and one wrong case: pytest collects both, fails the wrong one with
    the expected and actual outcome, and exits with "tests failed"; with the plugin loaded as users load it,
    and as this repository's test run loads it."""
    for folder in ("common", "wish"):
        shutil.copytree(
            ROOT / "policies" / folder,
            pytester.path / "policies" / folder,
            ignore=shutil.ignore_patterns("tests", "invariants.json"),
        )
    tests = pytester.path / "policies" / "wish" / "tests"
    tests.mkdir()
    right = json.loads((ROOT / "policies/wish/tests" / CASES_WISH).read_text(encoding="utf-8"))
    wrong = dict(right, name="a wrong expectation", expect={"outcome": "review"})
    assert right["expect"]["outcome"] != "review"
    (tests / "right.json").write_text(json.dumps(right), encoding="utf-8")
    (tests / "wrong.json").write_text(json.dumps(wrong), encoding="utf-8")
    if loaded_by == "entry point":
        pytester.makeini("[pytest]\ntestpaths = policies\n")
    else:
        pytester.makeini("[pytest]\ntestpaths = policies\naddopts = -p no:policy-engine\n")
        shutil.copy(ROOT / "conftest.py", pytester.path / "conftest.py")
    run = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    run.assert_outcomes(passed=1, failed=1)
    assert run.ret == pytest.ExitCode.TESTS_FAILED
    run.stdout.fnmatch_lines(
        [
            "FAIL */policies/wish/tests/wrong.json: a wrong expectation",
            f"  - outcome: expected review, got {right['expect']['outcome']}",
            "FAILED policies/wish/tests/wrong.json::a wrong expectation - *",
        ]
    )
