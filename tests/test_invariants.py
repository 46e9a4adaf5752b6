"""Invariants written as data: the shipped ones hold; a planted change that breaks one is found, shrunk,
reported with its proofs and written as a test case that fails until the policies are fixed."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from policy_engine import Engine, LoadError, cli
from policy_engine._language import schemas
from policy_engine._tools.invariants import check_invariants, discover_invariants, load_invariants
from policy_engine._tools.suite import load_case, run_case

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"


def _copy(tmp_path: Path, *platforms: str) -> Path:
    target = tmp_path / "policies"
    for folder in (*platforms, "common"):
        shutil.copytree(POLICIES / folder, target / folder, ignore=shutil.ignore_patterns("tests"))
    return target


def test_every_platform_ships_invariants_that_load() -> None:
    files = discover_invariants([POLICIES])
    assert {f.parent.name for f in files} == {"aliexpress", "amazon", "dhgate", "ebay", "lazada", "wish"}
    for f in files:
        assert load_invariants(f).invariants


def test_a_policy_that_allows_closed_accounts_breaks_the_invariant(tmp_path: Path) -> None:
    target = _copy(tmp_path, "wish")
    common = target / "common" / "account-status.json"
    doc = json.loads(common.read_text())
    (rule,) = doc["rules"]
    assert rule["when"] == [{"field": "seller.account_status", "in": ["closed", "suspended"]}]
    rule["when"] = [{"field": "seller.account_status", "in": ["suspended"]}]  # closed accounts slip through
    common.write_text(json.dumps(doc, indent=2))
    engine = Engine.from_directory(target)
    try:
        invariants = load_invariants(target / "wish" / "invariants.json")
        (violation,) = check_invariants(engine, invariants, max_examples=150)
        assert violation.invariant.id == "closed-or-suspended-account-never-allowed"
        assert violation.request["seller"]["account_status"] == "closed"
        assert violation.decisions[0][1].outcome == "allow"
        text = violation.describe()
        assert "does not hold" in text and "ALLOW" in text and str(target / "wish" / "invariants.json") in text
        # The counterexample as a test case: valid, failing on the broken policies, passing on the shipped ones.
        case_doc = violation.to_case()
        assert schemas.validate("testcase", case_doc) == []
        case_file = tmp_path / "case.json"
        case_file.write_text(json.dumps(case_doc))
        case = load_case(case_file)
        assert not run_case(engine, case).passed
        shipped = Engine.from_directory(POLICIES)
        try:
            assert run_case(shipped, case).passed
        finally:
            shipped.close()
    finally:
        engine.close()


def test_a_looser_new_version_breaks_a_versions_invariant(tmp_path: Path) -> None:
    target = _copy(tmp_path, "lazada")
    path = target / "lazada" / "lazmall-brand-authorization-1.1.0.json"
    doc = json.loads(path.read_text())
    doc["rules"] = [r for r in doc["rules"] if r.get("outcome") != "deny"]  # the new version stops denying
    path.write_text(json.dumps(doc, indent=2))
    engine = Engine.from_directory(target)
    try:
        invariants = load_invariants(target / "lazada" / "invariants.json")
        violations = check_invariants(engine, invariants, max_examples=150)
        assert [v.invariant.id for v in violations] == ["lazmall-authorization-never-loosens"]
        (old_label, old), (_, new) = violations[0].decisions
        assert old.outcome == "deny" and new.outcome != "deny"
        assert "1.0.0 -> 1.1.0" in old_label
    finally:
        engine.close()


def test_policy_engine_test_reports_and_writes_counterexamples(tmp_path: Path) -> None:
    target = _copy(tmp_path, "ebay")
    common = target / "common" / "account-status.json"
    doc = json.loads(common.read_text())
    doc["rules"][0]["when"] = [{"field": "seller.account_status", "in": ["suspended"]}]
    common.write_text(json.dumps(doc, indent=2))
    shutil.copytree(POLICIES / "ebay" / "tests", target / "ebay" / "tests")
    out = io.StringIO()
    cases = tmp_path / "cases"
    code = cli.main(["test", str(target), "--examples", "100", "--write-cases", str(cases)], out, io.StringIO())
    assert code == 1
    assert "invariant 'closed-or-suspended-account-never-allowed' does not hold" in out.getvalue()
    assert "invariants: 0 held, 1 broken" in out.getvalue()
    (written,) = cases.glob("*.json")
    assert json.loads(written.read_text())["expect"] == {"outcome_not": ["allow"]}
    out = io.StringIO()
    assert cli.main(["test", str(target), "--no-invariants"], out, io.StringIO()) in (0, 1)
    assert "invariants:" not in out.getvalue()


@pytest.mark.parametrize(
    ("invariant", "pointer", "expected"),
    [
        ({"id": "x", "description": "d", "never": ["allow"], "versions_of": "p"}, "/invariants/0", "not both"),
        ({"id": "x", "description": "d", "never": ["maybe"]}, "/invariants/0/never/0", "not allowed"),
        (
            {"id": "x", "description": "d", "never": ["allow"], "when": [{"field": "seller.shoe_size", "equals": 1}]},
            "/invariants/0/when/0",
            "shoe_size",
        ),
        ({"id": "x", "description": "d"}, "/invariants/0", ""),
    ],
)
def test_bad_invariants_are_refused_with_file_and_pointer(
    tmp_path: Path, invariant: dict[str, object], pointer: str, expected: str
) -> None:
    path = tmp_path / "invariants.json"
    path.write_text(json.dumps({"platform": "dhgate", "invariants": [invariant]}))
    with pytest.raises(LoadError) as info:
        load_invariants(path)
    assert any(
        p.file == str(path) and p.pointer.startswith(pointer) and expected in p.message for p in info.value.problems
    ), info.value.problems
