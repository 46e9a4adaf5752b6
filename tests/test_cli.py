"""The command line: exit codes, stdout and stderr, for every documented option and for bad input.

Most tests call `policy_engine.cli.main` in-process with the shipped policies compiled once; two run the
installed `policy-engine` script as a user would.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

from policy_engine import __version__, cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SHOES = str(EXAMPLES / "aliexpress-shoes-denied.json")
SCRIPT = Path(sys.executable).parent / "policy-engine"


@attrs.frozen
class Run:
    code: int
    out: str
    err: str


pytestmark = pytest.mark.usefixtures("shipped_cli")  # the shipped policies compiled once (conftest.py)


def run(*args: str, stdin: str | bytes = "") -> Run:
    out, err = io.StringIO(), io.StringIO()
    raw = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    code = cli.main(list(args), out=out, err=err, stdin=io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))
    assert "Traceback" not in err.getvalue()
    return Run(code, out.getvalue(), err.getvalue())


def script(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def write(tmp_path: Path, name: str, doc: Any) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


def shoes() -> dict[str, Any]:
    request: dict[str, Any] = json.loads(Path(SHOES).read_text(encoding="utf-8"))
    return request


def deep_text(depth: int) -> str:
    """The shoes request with a list nested `depth` levels deep in the product."""
    request = shoes()
    request["product"]["attributes"] = "DEEP"
    return json.dumps(request).replace('"DEEP"', "[" * depth + "]" * depth)


# --- the installed script ---------------------------------------------------------------------------------


def test_installed_script_explains_from_any_directory(tmp_path: Path) -> None:
    r = script("explain", SHOES, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("DENY  aliexpress") and "because:" in r.stdout


def test_installed_script_reports_its_version_and_bad_input(tmp_path: Path) -> None:
    r = script("--version", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith(f"policy-engine {__version__} (durable_rules 2.0.28)")
    r = script("decide", str(write(tmp_path, "deep.json", deep_text(5000))), cwd=tmp_path)
    assert r.returncode == 2 and "nested deeper than 64 levels" in r.stderr and "Traceback" not in r.stderr


# --- usage ------------------------------------------------------------------------------------------------


def test_version_and_help() -> None:
    r = run("--version")
    assert r.code == 0 and r.out == f"policy-engine {__version__} (durable_rules 2.0.28)\n"
    r = run("--help")
    assert r.code == 0 and "usage: policy-engine" in r.out
    for command in ("validate", "decide", "explain", "test", "lint", "fmt"):
        assert command in r.out
    r = run("decide", "--help")
    assert r.code == 0 and "--all-platforms" in r.out and "--format" in r.out


def test_usage_errors_exit_2() -> None:
    assert run().code == 2
    r = run("nonsense")
    assert r.code == 2 and "invalid choice" in r.err
    r = run("decide", SHOES, "--format", "yaml")
    assert r.code == 2 and "yaml" in r.err


# --- validate ---------------------------------------------------------------------------------------------


def test_validate_shipped_policies_lists_what_is_skipped() -> None:
    r = run("validate")
    assert r.code == 0, r.err
    assert r.out.splitlines()[-1].startswith("ok:")
    assert f"skipped {ROOT / 'policies/aliexpress/taxonomy.json'}: a taxonomy (read by lint), not a policy" in r.out
    assert f"skipped {ROOT / 'policies/aliexpress/tests'}: test cases (" in r.out


def test_validate_reports_file_pointer_and_exit_2(tmp_path: Path) -> None:
    doc = json.loads((ROOT / "policies/common/account-status.json").read_text())
    doc["rules"][0]["when"][0]["field"] = "seller.acount_status"
    path = write(tmp_path, "broken.json", doc)
    r = run("validate", str(path))
    assert r.code == 2
    assert f"{path}:/rules/0/when/0/field" in r.err and "seller.account_status" in r.err


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("wish/extra.JSON", "the extension '.JSON' is not loaded"),
        ("wish/tests/extra.json", "a policy document in the test case folder"),
        ("wish/taxonomy.json", "a policy document named taxonomy.json"),
    ],
)
def test_validate_fails_on_a_policy_that_would_be_skipped(tmp_path: Path, name: str, expected: str) -> None:
    doc = json.loads((ROOT / "policies/wish/baseline.json").read_text())
    write(tmp_path, "wish/baseline.json", doc)
    write(tmp_path, name, dict(doc, id="wish.extra"))
    r = run("validate", str(tmp_path))
    assert r.code == 2
    assert f"{tmp_path / name}:/: error PE006: {expected}" in r.err


def test_validate_lists_non_policy_files(tmp_path: Path) -> None:
    write(tmp_path, "wish/baseline.json", (ROOT / "policies/wish/baseline.json").read_text())
    write(tmp_path, "wish/taxonomy.json", (ROOT / "policies/wish/taxonomy.json").read_text())
    write(tmp_path, "wish/README.md", "notes")
    write(tmp_path, "wish/tests/a.json", {"name": "a"})
    r = run("validate", str(tmp_path))
    assert r.code == 0, r.err
    assert r.out.splitlines() == [
        f"skipped {tmp_path / 'wish/README.md'}: not a .json file",
        f"skipped {tmp_path / 'wish/taxonomy.json'}: a taxonomy (read by lint), not a policy",
        f"skipped {tmp_path / 'wish/tests'}: test cases (1 file), not policies",
        "ok: 1 policies, 1 rules, platforms wish (1 files)",
    ]


def test_validate_deep_policy_exit_2(tmp_path: Path) -> None:
    text = (ROOT / "policies/wish/baseline.json").read_text()
    path = write(tmp_path, "deep.json", text.replace('"rules"', '"x": ' + "[" * 3000 + "]" * 3000 + ', "rules"', 1))
    r = run("validate", str(path))
    expected = f"{path}:/x" + "/0" * 63 + ": error PE004: nested deeper than 64 levels; expected at most 64"
    assert r.code == 2 and expected in r.err


# --- decide: one request ------------------------------------------------------------------------------------


def test_decide_json_is_a_valid_decision() -> None:
    r = run("decide", SHOES)
    assert r.code == 0, r.err
    d = json.loads(r.out)
    assert d["outcome"] == "deny"
    assert d["reasons"][0]["rule"] == "aliexpress.brand-closed-management@1.0.0#filed-mark-not-registered"
    assert d["reasons"][0]["proof"]["steps"]


def test_decide_text_in_chinese_and_english() -> None:
    r = run("decide", SHOES, "--format", "text", "--lang", "zh")
    assert r.code == 0 and r.out.startswith("拒绝 DENY") and "品牌" in r.out
    r = run("decide", SHOES, "--format", "text", "--lang", "en")
    assert r.code == 0 and "brand Acme is not admitted there" in r.out and "because:" not in r.out


def test_decide_text_with_proofs() -> None:
    r = run("decide", SHOES, "--format", "text", "--proofs")
    assert r.code == 0 and "because:" in r.out and "/product/category" in r.out


def test_decide_with_as_of_from_stdin() -> None:
    req = json.loads((EXAMPLES / "dhgate-cycling.json").read_text())
    req["seller"]["entity_type"] = "individual"
    r = run("decide", "-", "--as-of", "2016-07-14", stdin=json.dumps(req) + "\n")
    assert r.code == 0 and json.loads(r.out)["outcome"] == "allow"
    r = run("decide", "-", "--as-of", "2016-07-15", stdin=json.dumps(req) + "\n")
    assert json.loads(r.out)["outcome"] == "deny"


def test_decide_with_policies_folders() -> None:
    r = run(
        "decide", SHOES, "--policies", str(ROOT / "policies/common"), "--policies", str(ROOT / "policies/aliexpress")
    )
    assert r.code == 0, r.err
    assert {p["id"].split(".")[0] for p in json.loads(r.out)["policies"]} <= {"aliexpress", "common"}


def test_all_platforms_json() -> None:
    r = run("decide", SHOES, "--all-platforms")
    assert r.code == 0
    platforms = [json.loads(x)["platform"] for x in r.out.splitlines()]
    assert platforms == sorted(platforms) and {"aliexpress", "dhgate"} <= set(platforms)


def test_all_platforms_table() -> None:
    r = run("decide", SHOES, "--all-platforms", "--format", "table")
    assert r.code == 0
    lines = r.out.splitlines()
    assert lines[0].split()[:3] == ["request", "platform", "outcome"]
    assert [SHOES, "aliexpress", "deny"] in [line.split()[:3] for line in lines]
    assert len(lines) > 3


def test_table_for_a_single_request() -> None:
    r = run("decide", SHOES, "--format", "table")
    assert r.code == 0
    header, row = r.out.splitlines()
    assert header.split()[:3] == ["request", "platform", "outcome"]
    assert row.split()[:4] == [
        SHOES,
        "aliexpress",
        "deny",
        "aliexpress.brand-closed-management@1.0.0#filed-mark-not-registered",
    ]


def test_bad_request_exit_2_with_pointer(tmp_path: Path) -> None:
    req = shoes()
    req["seller"]["entity_type"] = "company"
    path = write(tmp_path, "req.json", req)
    r = run("decide", str(path))
    assert r.code == 2 and r.out == ""
    assert f"{path}:/seller/entity_type" in r.err


def test_malformed_request_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, "req.json", '{"platform": "aliexpress",')
    r = run("decide", str(path))
    assert r.code == 2 and f"{path}:/: error PE002: malformed JSON at column 27" in r.err


def test_unknown_platform_exit_2(tmp_path: Path) -> None:
    req = dict(shoes(), platform="nowhere")
    r = run("decide", str(write(tmp_path, "req.json", req)))
    assert r.code == 2 and "'nowhere'" in r.err


def test_missing_file_exit_2() -> None:
    r = run("decide", "does-not-exist.json")
    expected = "does-not-exist.json:/: error PE001: cannot read the file: No such file or directory"
    assert r.code == 2 and expected in r.err
    r = run("decide", "does-not-exist.jsonl")
    assert r.code == 2 and "does-not-exist.jsonl:/: error PE001: cannot read the file" in r.err


def test_bad_as_of_exit_2() -> None:
    r = run("decide", SHOES, "--as-of", "yesterday")
    assert r.code == 2 and "'yesterday' is not a date" in r.err


def test_request_file_not_utf8_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "req.json"
    path.write_bytes(json.dumps(shoes()).replace("Acme", "Acm\xe9").encode("latin-1"))
    r = run("decide", str(path))
    assert r.code == 2 and f"{path}:/: error PE003: not valid UTF-8 at column" in r.err


@pytest.mark.parametrize("depth", [65, 100_000])
def test_deep_request_exit_2_with_pointer(tmp_path: Path, depth: int) -> None:
    path = write(tmp_path, "deep.json", deep_text(depth))
    for command in ("decide", "explain"):
        r = run(command, str(path))
        assert r.code == 2
        pointer = "/product/attributes" + "/0" * 62
        assert f"{path}:{pointer}: error PE004: nested deeper than 64 levels; expected at most 64" in r.err


# --- decide: JSON lines -----------------------------------------------------------------------------------


def test_decide_jsonl_gives_one_decision_per_line() -> None:
    lines = (EXAMPLES / "requests.jsonl").read_text().splitlines()
    r = run("decide", str(EXAMPLES / "requests.jsonl"))
    assert r.code == 0, r.err
    out = [json.loads(x) for x in r.out.splitlines()]
    assert len(out) == len([x for x in lines if x.strip()]) and all("outcome" in d for d in out)


def test_jsonl_lines_the_engine_cannot_read_safely(tmp_path: Path) -> None:
    good = json.dumps(shoes())
    lines = [
        good.replace('"brand": "Acme"', '"brand": "Acme", "price": NaN'),
        good.replace('"brand": "Acme"', '"brand": "Acme", "brand": "Other"'),
        good.replace("Acme", "\\udc00"),
        "9" * 5000,
        good,
    ]
    path = write(tmp_path, "r.jsonl", "\n".join(lines))
    r = run("decide", str(path))
    assert r.code == 2
    records = [json.loads(x) for x in r.out.splitlines()]
    assert [rec.get("error") or rec["outcome"] for rec in records] == ["json", "json", "json", "json", "deny"]
    assert [rec["problems"][0]["pointer"] for rec in records[:4]] == [
        "/product/price",
        "/product/brand",
        "/seller/trademarks/0/mark",
        "",
    ]


def test_jsonl_extension_in_any_case(tmp_path: Path) -> None:
    path = write(tmp_path, "r.JSONL", json.dumps(shoes()) + "\n" + json.dumps(shoes()) + "\n")
    r = run("decide", str(path))
    assert r.code == 0, r.err
    assert [json.loads(x)["outcome"] for x in r.out.splitlines()] == ["deny", "deny"]


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """Six lines: good, malformed, unknown platform, good, invalid request, blank, too deep."""
    good = json.dumps(shoes())
    lines = [
        good,
        '{"platform": ',
        json.dumps(dict(shoes(), platform="nowhere")),
        good.replace("Acme", "Other"),
        json.dumps(dict(shoes(), seller={"entity_type": "company"})),
        "",
        deep_text(2000),
    ]
    return write(tmp_path, "mixed.jsonl", "\n".join(lines) + "\n")


def test_jsonl_decides_every_good_line_and_reports_every_bad_one(mixed: Path) -> None:
    r = run("decide", str(mixed))
    assert r.code == 2
    records = [json.loads(x) for x in r.out.splitlines()]
    assert [rec.get("outcome") or rec["error"] for rec in records] == [
        "deny",
        "json",
        "platform",
        "deny",
        "request",
        "json",
    ]
    assert [rec["line"] for rec in records if "error" in rec] == [2, 3, 5, 7]
    bad = records[2]
    assert (
        bad["problems"]
        == [
            {
                "file": f"{mixed}:3",
                "pointer": "/platform",
                "message": bad["problems"][0]["message"],
                "code": "PE040",
                "severity": "error",
            }
        ]
        and "'nowhere'" in bad["message"]
    )
    assert records[5]["problems"][0]["pointer"] == "/product/attributes" + "/0" * 62
    err = r.err.splitlines()
    assert err[0] == "policy-engine decide: 4 of 6 requests not decided"
    for n in (2, 3, 5, 7):
        assert any(line.startswith(f"  {mixed}:{n}:/") for line in err), n


def test_jsonl_text_and_table_show_the_bad_lines(mixed: Path) -> None:
    r = run("decide", str(mixed), "--format", "text")
    assert r.code == 2
    assert r.out.count("DENY  aliexpress") == 2
    assert f"ERROR  {mixed}:2  not decided (json)" in r.out and f"ERROR  {mixed}:5  not decided (request)" in r.out
    r = run("decide", str(mixed), "--format", "table")
    assert r.code == 2
    rows = [line.split()[:3] for line in r.out.splitlines()[1:]]
    assert rows == [
        [f"{mixed}:1", "aliexpress", "deny"],
        [f"{mixed}:2", "-", "error"],
        [f"{mixed}:3", "-", "error"],
        [f"{mixed}:4", "aliexpress", "deny"],
        [f"{mixed}:5", "-", "error"],
        [f"{mixed}:7", "-", "error"],
    ]


def test_jsonl_all_platforms_reports_bad_lines(mixed: Path) -> None:
    r = run("decide", str(mixed), "--all-platforms")
    assert r.code == 2
    records = [json.loads(x) for x in r.out.splitlines()]
    errors = [(rec["line"], rec["error"]) for rec in records if "error" in rec]
    assert errors == [(2, "json"), (5, "request"), (7, "json")]  # the platform is ignored on every platform
    assert sum("outcome" in rec for rec in records) == 3 * len(cli._engine(None).platforms)


def test_stdin_with_bad_lines_and_invalid_utf8() -> None:
    good = json.dumps(shoes()).encode("utf-8")
    r = run("decide", "-", stdin=b"\xef\xbb\xbf" + good + b'\n{"a": "caf\xe9"}\r\n' + good + b"\n")
    assert r.code == 2
    records = [json.loads(x) for x in r.out.splitlines()]
    assert [rec.get("outcome") or rec["error"] for rec in records] == ["deny", "json", "deny"]
    assert "<stdin>:2:/: error PE003: not valid UTF-8 at column 11 (byte 0xe9)" in r.err


def test_jsonl_file_with_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"\xff\xfe{}\n" + json.dumps(shoes()).encode("utf-8") + b"\n")
    r = run("decide", str(path))
    assert r.code == 2
    assert [json.loads(x).get("outcome") for x in r.out.splitlines()] == [None, "deny"]
    assert f"{path}:1:/: error PE003: not valid UTF-8 at column 1 (byte 0xff)" in r.err


@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_empty_jsonl_and_stdin_exit_2(tmp_path: Path, content: str) -> None:
    path = write(tmp_path, "empty.jsonl", content)
    r = run("decide", str(path))
    assert r.code == 2 and r.out == "" and f"no requests in {path}" in r.err
    r = run("explain", "-", stdin=content)
    assert r.code == 2 and r.out == "" and "no requests in <stdin>" in r.err


# --- explain ----------------------------------------------------------------------------------------------


def test_explain_prints_the_proof_tree() -> None:
    r = run("explain", SHOES)
    assert r.code == 0
    assert "because:" in r.out and "/product/category" in r.out and "remedies" in r.out


def test_explain_all_platforms() -> None:
    r = run("explain", SHOES, "--all-platforms")
    assert r.code == 0, r.err
    assert "DENY  aliexpress" in r.out and "because:" in r.out
    assert r.out.count("  as of 2024-03-01") == len(cli._engine(None).platforms)


def test_explain_options() -> None:
    r = run("explain", SHOES, "--lang", "zh", "--as-of", "2025-01-01", "--policies", str(ROOT / "policies"))
    assert r.code == 0, r.err
    assert "2025-01-01" in r.out.splitlines()[0] and "品牌" in r.out


def test_explain_jsonl_with_a_bad_line(tmp_path: Path) -> None:
    path = write(tmp_path, "r.jsonl", json.dumps(shoes()) + "\nnull\n")
    r = run("explain", str(path))
    assert r.code == 2
    assert "because:" in r.out and f"ERROR  {path}:2  not decided (request)" in r.out


# --- test -------------------------------------------------------------------------------------------------


def test_test_command_passes_on_the_shipped_library(tmp_path: Path) -> None:
    junit = tmp_path / "missing" / "folder" / "junit.xml"
    r = run(
        "test",
        "--examples",
        "30",
        str(ROOT / "policies/aliexpress"),
        str(ROOT / "policies/dhgate"),
        "--policies",
        str(ROOT / "policies"),
        "--coverage",
        "--min-coverage",
        "100",
        "--junit",
        str(junit),
    )
    assert r.code == 0, r.out + r.err
    assert r.out.rstrip().endswith("0 failed")
    assert "rules decisive" in r.out and "coverage: 100.0%" in r.out
    assert "<testsuite" in junit.read_text()
    assert re.search(r"invariants: [1-9]\d* held, 0 broken \(30 requests each\)", r.out), r.out


def test_test_command_on_named_case_files_runs_those_cases_with_the_networks_they_need(
    compilations: list[str], tmp_path: Path
) -> None:
    import shutil

    policies = tmp_path / "policies"  # not the shipped folder: loaded for real, not the session's engine
    shutil.copytree(ROOT / "policies", policies)
    cases = [ROOT / "policies/aliexpress/tests/aliexpress-001-closed-category-unqualified.json"]
    cases.append(ROOT / "policies/aliexpress/tests/aliexpress-400-mark-registered-after-the-decision-date.json")
    r = run("test", *map(str, cases), "--policies", str(policies))
    assert r.code == 0, r.out + r.err
    assert r.out.rstrip().endswith("2 passed, 0 failed")
    assert "invariants: not checked (only case files were named" in r.out
    assert compilations and set(compilations) == {"aliexpress"} and len(compilations) <= 2  # the cases' dates


def test_test_command_decides_cases_with_the_policies_beside_them(tmp_path: Path) -> None:
    import shutil

    tree = tmp_path / "policies"
    for folder in ("dhgate", "common"):
        shutil.copytree(ROOT / "policies" / folder, tree / folder)
    # A platform folder, or its tests/ folder: its policies and the `*` policies beside it (common/), which
    # cases such as dhgate-022 (a suspended account) need.
    for named in (tree / "dhgate", tree / "dhgate" / "tests"):
        r = run("test", str(named), "--no-invariants")
        assert r.code == 0, r.out + r.err
        assert re.search(r"^\d+ passed, 0 failed$", r.out.rstrip().splitlines()[-1]), r.out
    # Case files alone: the platform folder they are in decides, not the shipped policies.
    path = tree / "dhgate" / "cycling-admission.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["data"]["max_refund_rate"] = 0.2  # this tree's limit; the shipped policies deny 0.1
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    seller = {
        "commitments": ["cycling"],
        "entity_type": "enterprise",
        "grants": [{"category": "cycling", "kind": "category_admission", "status": "approved"}],
        "metrics": {"refund_rate": 0.1},
    }
    request = {"platform": "dhgate", "as_of": "2020-11-10", "product": {"category": "cycling"}, "seller": seller}
    case = {"name": "refund-under-this-trees-limit", "request": request, "expect": {"outcome": "allow"}}
    named_case = write(tree / "dhgate" / "tests", "refund-under-this-trees-limit.json", case)
    suspended = tree / "dhgate" / "tests" / "dhgate-022-suspended-account.json"
    r = run("test", str(named_case), str(suspended))
    assert r.code == 0, r.out + r.err
    assert r.out.rstrip().endswith("2 passed, 0 failed")


def test_test_command_shows_a_readable_failure(tmp_path: Path) -> None:
    case = json.loads((ROOT / "policies/aliexpress/tests/aliexpress-001-closed-category-unqualified.json").read_text())
    case["expect"] = {"outcome": "allow", "rules": []}
    path = write(tmp_path, "tests-case.json", case)
    r = run("test", str(path), "--policies", str(ROOT / "policies"), "--no-invariants")
    assert r.code == 1
    assert "FAIL" in r.out and "outcome: expected allow, got deny" in r.out
    assert "because:" in r.out and r.out.rstrip().endswith("0 passed, 1 failed")
    r = run("test", str(path), "--policies", str(ROOT / "policies"), "--lang", "zh", "--no-invariants")
    assert r.code == 1 and "品牌" in r.out


def test_test_command_min_coverage_fails_below() -> None:
    case = ROOT / "policies/aliexpress/tests/aliexpress-001-closed-category-unqualified.json"
    r = run("test", str(case), "--policies", str(ROOT / "policies"), "--min-coverage", "90", "--no-invariants")
    assert r.code == 1 and "is below --min-coverage 90" in r.out and r.out.rstrip().endswith("1 passed, 0 failed")


def test_test_command_rejects_a_bad_case(tmp_path: Path) -> None:
    path = write(tmp_path, "case.json", {"name": "x", "expect": {"outcome": "maybe"}, "request": {}})
    r = run("test", str(path))
    assert r.code == 2 and "case.json:/expect/outcome" in r.err


def test_test_command_rejects_a_deep_case(tmp_path: Path) -> None:
    path = write(tmp_path, "case.json", '{"name": "x", "request": ' + deep_text(3000) + "}")
    r = run("test", str(path))
    assert r.code == 2 and f"{path}:/request/product/attributes" in r.err and "nested deeper than 64" in r.err


def test_test_command_junit_path_that_is_a_folder(tmp_path: Path) -> None:
    case = ROOT / "policies/aliexpress/tests/aliexpress-001-closed-category-unqualified.json"
    r = run("test", str(case), "--junit", str(tmp_path))
    assert r.code == 2 and f"{tmp_path}:/: error PE001: is a folder; expected a file name for the JUnit XML" in r.err
    blocker = write(tmp_path, "file", "x")
    r = run("test", str(case), "--junit", str(blocker / "junit.xml"))
    assert r.code == 2 and f"cannot create the folder {blocker}" in r.err


# --- lint and fmt -----------------------------------------------------------------------------------------


def test_lint_command(tmp_path: Path) -> None:
    r = run("lint")
    assert r.code == 0, r.out + r.err
    assert "0 errors" in r.out
    doc = json.loads((ROOT / "policies/common/account-status.json").read_text())
    doc["rules"][0]["message"]["zh"] = doc["rules"][0]["message"]["en"]
    path = write(tmp_path, "p.json", doc)
    r = run("lint", str(path))
    assert r.code == 1 and f"{path}:/rules/0/message: error PE107" in r.out


def test_lint_deep_policy_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, "p.json", "[" * 100_000)
    r = run("lint", str(path))
    assert r.code == 2 and f"{path}:" + "/0" * 64 + ": error PE004: nested deeper than 64 levels" in r.err


def test_fmt_command(tmp_path: Path) -> None:
    shipped = (ROOT / "policies/common/account-status.json").read_text()
    path = write(tmp_path, "p.json", json.loads(shipped))
    r = run("fmt", "--check", str(path))
    assert r.code == 1 and f"would reformat {path}" in r.out and path.read_text() != shipped
    r = run("fmt", str(path))
    assert r.code == 0 and f"reformatted {path}" in r.out and path.read_text() == shipped
    r = run("fmt", "--check", str(path))
    assert r.code == 0 and r.out == "0 files to reformat\n"


@pytest.mark.parametrize(
    ("content", "found"),
    [("[1, 2, 3]", "an array"), ('{"id": "x"}', "an object without version, platform, rules"), ("7", "a number")],
)
def test_fmt_refuses_what_is_not_a_policy(tmp_path: Path, content: str, found: str) -> None:
    path = write(tmp_path, "p.json", content)
    for args in (("--check",), ()):
        r = run("fmt", *args, str(path))
        assert r.code == 2 and "would reformat" not in r.out
        expected = (
            f"{path}:/: error PE010: not a policy: expected an object with id, version, platform and rules; "
            f"found {found}"
        )
        assert expected in r.err
        assert path.read_text() == content


def test_fmt_deep_document_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, "p.json", '{"rules": ' + "[" * 5000 + "]" * 5000 + "}")
    r = run("fmt", "--check", str(path))
    assert r.code == 2 and "nested deeper than 64 levels" in r.err


def test_commands_default_to_the_shipped_policies() -> None:
    r = run("fmt", "--check")
    assert r.code == 0 and r.out == "0 files to reformat\n"
    r = run("test", "--examples", "40")
    assert r.code == 0, r.out + r.err
    assert re.search(r"invariants: \d+ held, 0 broken", r.out), r.out
    passed = int(r.out.split()[-4])
    assert passed == len(list((ROOT / "policies").glob("*/tests/*.json"))) and r.out.rstrip().endswith("0 failed")


def test_only_the_commands_that_can_run_on_dask_offer_it() -> None:
    for command, offered in (("decide", True), ("replay", True), ("explain", False)):
        r = run(command, "--help")
        assert r.code == 0
        assert ("--workers" in r.out and "--scheduler" in r.out) is offered, command
    r = run("explain", str(ROOT / "examples/requests.jsonl"), "--workers", "1")
    assert r.code == 2 and "unrecognized arguments: --workers" in r.err


@pytest.mark.parametrize("day", ["20240301", "2024-W09-5", "2024-061"])
def test_as_of_on_the_command_line_is_read_as_a_requests_own(day: str) -> None:
    """`--as-of` takes what a request's `as_of` takes, YYYY-MM-DD, as its help says (not every form of
    Python's `date.fromisoformat`)."""
    bad = run("decide", SHOES, "--as-of", day)
    assert bad.code == 2 and "is not a date (expected YYYY-MM-DD)" in bad.err
    good = run("decide", SHOES, "--as-of", "2024-03-01")
    assert good.code in (0, 1) and json.loads(good.out)["as_of"] == "2024-03-01"
