"""The command line, run as a user would: a subprocess, exit codes, stdout and stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def cli(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "policy_engine", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=120,
    )


def write(tmp_path: Path, name: str, doc: Any) -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


def test_validate_shipped_policies() -> None:
    r = cli("validate")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok:")


def test_validate_reports_file_pointer_and_exit_2(tmp_path: Path) -> None:
    doc = json.loads((ROOT / "policies/common/account-status.json").read_text())
    doc["rules"][0]["when"][0]["field"] = "seller.acount_status"
    path = write(tmp_path, "broken.json", doc)
    r = cli("validate", str(path))
    assert r.returncode == 2
    assert f"{path}:/rules/0/when/0/field" in r.stderr and "seller.account_status" in r.stderr
    assert "Traceback" not in r.stderr


def test_decide_json_is_a_valid_decision() -> None:
    r = cli("decide", str(EXAMPLES / "aliexpress-shoes-denied.json"))
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["outcome"] == "deny"
    assert d["reasons"][0]["rule"] == "aliexpress.brand-closed-management@1.0.0#brand-not-qualified"
    assert d["reasons"][0]["proof"]["steps"]


def test_decide_text_in_chinese() -> None:
    r = cli("decide", str(EXAMPLES / "aliexpress-shoes-denied.json"), "--format", "text", "--lang", "zh")
    assert r.returncode == 0
    assert r.stdout.startswith("DENY") and "品牌" in r.stdout


def test_decide_jsonl_gives_one_decision_per_line() -> None:
    lines = (EXAMPLES / "requests.jsonl").read_text().splitlines()
    r = cli("decide", str(EXAMPLES / "requests.jsonl"))
    assert r.returncode == 0, r.stderr
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(out) == len([x for x in lines if x.strip()])


def test_decide_from_stdin_with_as_of() -> None:
    req = json.loads((EXAMPLES / "dhgate-cycling.json").read_text())
    req["seller"]["entity_type"] = "individual"
    r = cli("decide", "-", "--as-of", "2016-07-14", stdin=json.dumps(req) + "\n")
    assert r.returncode == 0
    assert json.loads(r.stdout)["outcome"] == "allow"
    r = cli("decide", "-", "--as-of", "2016-07-15", stdin=json.dumps(req) + "\n")
    assert json.loads(r.stdout)["outcome"] == "deny"


def test_all_platforms() -> None:
    r = cli("decide", str(EXAMPLES / "aliexpress-shoes-denied.json"), "--all-platforms")
    assert r.returncode == 0
    platforms = [json.loads(x)["platform"] for x in r.stdout.splitlines()]
    assert platforms == sorted(platforms) and {"aliexpress", "dhgate"} <= set(platforms)


def test_explain_prints_the_proof_tree() -> None:
    r = cli("explain", str(EXAMPLES / "aliexpress-shoes-denied.json"))
    assert r.returncode == 0
    assert "because:" in r.stdout and "/product/category" in r.stdout and "remedies" in r.stdout


def test_bad_request_exit_2_with_pointer(tmp_path: Path) -> None:
    req = json.loads((EXAMPLES / "aliexpress-shoes-denied.json").read_text())
    req["seller"]["entity_type"] = "company"
    path = write(tmp_path, "req.json", req)
    r = cli("decide", str(path))
    assert r.returncode == 2
    assert f"{path}:/seller/entity_type" in r.stderr and "Traceback" not in r.stderr


def test_malformed_request_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, "req.json", '{"platform": "aliexpress",')
    r = cli("decide", str(path))
    assert r.returncode == 2 and "malformed JSON" in r.stderr and "Traceback" not in r.stderr


def test_unknown_platform_exit_2(tmp_path: Path) -> None:
    req = json.loads((EXAMPLES / "aliexpress-shoes-denied.json").read_text())
    req["platform"] = "nowhere"
    r = cli("decide", str(write(tmp_path, "req.json", req)))
    assert r.returncode == 2 and "nowhere" in r.stderr and "Traceback" not in r.stderr


def test_missing_file_exit_2() -> None:
    r = cli("decide", "does-not-exist.json")
    assert r.returncode == 2 and "does-not-exist.json" in r.stderr


def test_bad_as_of_exit_2() -> None:
    r = cli("decide", str(EXAMPLES / "aliexpress-shoes-denied.json"), "--as-of", "yesterday")
    assert r.returncode == 2 and "yesterday" in r.stderr


def test_installed_script_runs_from_any_directory(tmp_path: Path) -> None:
    r = cli("decide", str(EXAMPLES / "aliexpress-shoes-denied.json"), "--format", "text", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("DENY")


def test_test_command_passes_on_the_shipped_library(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    r = cli(
        "test",
        "policies/aliexpress",
        "policies/dhgate",
        "--policies",
        "policies",
        "--coverage",
        "--min-coverage",
        "100",
        "--junit",
        str(junit),
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.rstrip().endswith("0 failed")
    assert "rules decisive" in r.stdout and "coverage: 100.0%" in r.stdout
    assert "<testsuite" in junit.read_text()


def test_test_command_shows_a_readable_failure(tmp_path: Path) -> None:
    case = json.loads((ROOT / "policies/aliexpress/tests/aliexpress-001-closed-category-unqualified.json").read_text())
    case["expect"] = {"outcome": "allow", "rules": []}
    path = write(tmp_path, "tests-case.json", case)
    r = cli("test", str(path), "--policies", str(ROOT / "policies"))
    assert r.returncode == 1
    assert "FAIL" in r.stdout and "outcome: expected allow, got deny" in r.stdout
    assert "because:" in r.stdout and r.stdout.rstrip().endswith("0 passed, 1 failed")


def test_test_command_rejects_a_bad_case(tmp_path: Path) -> None:
    path = write(tmp_path, "case.json", {"name": "x", "expect": {"outcome": "maybe"}, "request": {}})
    r = cli("test", str(path))
    assert r.returncode == 2 and "case.json:/expect/outcome" in r.stderr


def test_lint_and_fmt_commands(tmp_path: Path) -> None:
    r = cli("lint")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 errors" in r.stdout
    doc = json.loads((ROOT / "policies/common/account-status.json").read_text())
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    r = cli("fmt", "--check", str(path))
    assert r.returncode == 1 and "would reformat" in r.stdout
    r = cli("fmt", str(path))
    assert r.returncode == 0 and path.read_text() == (ROOT / "policies/common/account-status.json").read_text()
    assert cli("fmt", "--check", str(path)).returncode == 0
    doc["rules"][0]["message"]["zh"] = doc["rules"][0]["message"]["en"]
    path.write_text(json.dumps(doc))
    r = cli("lint", str(path))
    assert r.returncode == 1 and f"{path}:/rules/0/message: error PE107" in r.stdout


def test_all_platforms_table() -> None:
    r = cli("decide", str(EXAMPLES / "aliexpress-shoes-denied.json"), "--all-platforms", "--format", "table")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[1].split()[:2] == ["platform", "outcome"]
    assert any(line.split()[:2] == ["aliexpress", "deny"] for line in lines)
