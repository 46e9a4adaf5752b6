"""`policy-engine verify`: re-decide a stored decision's request and say exactly what differs."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from policy_engine.cli import main

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("shipped_cli")  # the shipped policies compiled once (conftest.py)
DENIED = ROOT / "examples" / "aliexpress-shoes-denied.json"
ALLOWED = ROOT / "examples" / "aliexpress-shoes-allowed.json"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def write(path: Path, doc: Any) -> Path:
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def decided(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The decision of the denied example, exactly as `policy-engine decide` prints it."""
    code, out, err = run("decide", str(DENIED))
    assert code == 0, err
    return write(tmp_path_factory.mktemp("verify") / "decision.json", out)


def test_same_decision_exit_0(decided: Path) -> None:
    code, out, err = run("verify", str(decided), str(DENIED))
    assert (code, out, err) == (0, "same decision\n", "")


def test_same_decision_with_policies_from_another_folder(decided: Path, tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    code, out, _ = run("verify", str(decided), str(DENIED), "--policies", str(policies))
    assert (code, out) == (0, "same decision\n")


def test_tampered_outcome_is_named(decided: Path, tmp_path: Path) -> None:
    doc = json.loads(decided.read_text(encoding="utf-8"))
    assert doc["outcome"] == "deny"
    doc["outcome"] = "allow"
    code, out, _ = run("verify", str(write(tmp_path / "d.json", doc)), str(DENIED))
    assert code == 1
    assert out.splitlines() == ["different decision (recorded → re-decided):", "  outcome: allow → deny"]


def test_tampered_rule_is_named(decided: Path, tmp_path: Path) -> None:
    doc = json.loads(decided.read_text(encoding="utf-8"))
    doc["reasons"][0]["rule"] = "aliexpress.brand-closed-management@1.0.0#other"
    code, out, _ = run("verify", str(write(tmp_path / "d.json", doc)), str(DENIED))
    assert code == 1
    assert (
        "  deciding rules: aliexpress.brand-closed-management@1.0.0#other → "
        "aliexpress.brand-closed-management@1.0.0#filed-mark-not-registered"
    ) in out.splitlines()


def test_tampered_proof_is_named_by_pointer(decided: Path, tmp_path: Path) -> None:
    doc = json.loads(decided.read_text(encoding="utf-8"))
    evidence = doc["reasons"][0]["proof"]["steps"][0]["evidence"][0]
    assert evidence == {"pointer": "/product/category", "value": "shoes/sneakers"}
    evidence["value"] = "shoes/boots"
    code, out, _ = run("verify", str(write(tmp_path / "d.json", doc)), str(DENIED))
    assert code == 1
    assert out.splitlines()[1:] == ['  /reasons/0/proof/steps/0/evidence/0/value: "shoes/boots" → "shoes/sneakers"']


def test_changed_request_names_the_digest(decided: Path, tmp_path: Path) -> None:
    req = json.loads(DENIED.read_text(encoding="utf-8"))
    req["product"]["title"] = "another title"  # a field no rule reads: the same outcome, another request
    code, out, _ = run("verify", str(decided), str(write(tmp_path / "r.json", req)))
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "different decision (recorded → re-decided):"
    assert lines[1].startswith("  request: the request does not match the receipt's digest (receipt sha256:")
    assert len(lines) == 2


def test_changed_request_and_outcome(decided: Path) -> None:
    code, out, _ = run("verify", str(decided), str(ALLOWED))
    assert code == 1
    assert "the request does not match the receipt's digest" in out
    assert "  outcome: deny → allow" in out.splitlines()


def test_changed_policy_version_is_named(decided: Path, tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    path = policies / "aliexpress" / "store-types.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["version"] == "1.0.0"
    doc["version"] = "1.1.0"
    write(path, doc)
    code, out, _ = run("verify", str(decided), str(DENIED), "--policies", str(policies))
    assert code == 1
    assert out.splitlines()[1:] == ["  policy aliexpress.store-types: version 1.0.0 → 1.1.0"]


def test_changed_policy_text_is_named_with_the_detail(decided: Path, tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    path = policies / "aliexpress" / "brand-closed-management.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    rule = next(r for r in doc["rules"] if r["id"] == "filed-mark-not-registered")
    rule["message"]["en"] = "Not qualified: {product.brand}."
    write(path, doc)
    code, out, _ = run("verify", str(decided), str(DENIED), "--policies", str(policies))
    assert code == 1
    lines = out.splitlines()
    assert lines[1].startswith("  policy aliexpress.brand-closed-management@1.0.0: digest sha256:")
    assert lines[1].endswith("(same version, other text)")
    assert lines[2].startswith("  /reasons/0/message/en: ") and lines[2].endswith('→ "Not qualified: Acme."')
    assert len(lines) == 3


def test_tampered_policy_set_digest(decided: Path, tmp_path: Path) -> None:
    doc = json.loads(decided.read_text(encoding="utf-8"))
    doc["receipt"]["policy_set_digest"] = "sha256:" + "0" * 64
    code, out, _ = run("verify", str(write(tmp_path / "d.json", doc)), str(DENIED))
    assert code == 1
    assert "policy set digest does not match the decision's own list of policies" in out


def test_other_software_versions_are_notes_not_differences(decided: Path, tmp_path: Path) -> None:
    doc = json.loads(decided.read_text(encoding="utf-8"))
    doc["receipt"]["package_version"] = "0.0.1"
    code, out, _ = run("verify", str(write(tmp_path / "d.json", doc)), str(DENIED))
    assert code == 0
    assert out.splitlines()[0] == "same decision"
    assert "note: decided with policy_engine 0.0.1, verified with " in out


def test_all_platforms_output_is_verified_line_by_line(tmp_path: Path) -> None:
    code, out, err = run("decide", str(DENIED), "--all-platforms")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) > 1
    decisions = write(tmp_path / "all.jsonl", out)
    code, out, _ = run("verify", str(decisions), str(DENIED))
    assert code == 0
    assert out.splitlines()[0] == "line 1 (aliexpress): same decision"
    assert len(out.splitlines()) == len(lines)
    tampered = [json.loads(x) for x in lines]
    tampered[1]["outcome"] = "review" if tampered[1]["outcome"] != "review" else "allow"
    write(decisions, "\n".join(json.dumps(d) for d in tampered) + "\n")
    code, out, _ = run("verify", str(decisions), str(DENIED))
    assert code == 1
    assert f"line 2 ({tampered[1]['platform']}): different decision (recorded → re-decided):" in out


def test_a_map_of_platform_to_decision(decided: Path, tmp_path: Path) -> None:
    doc = json.loads(decided.read_text(encoding="utf-8"))
    code, out, _ = run("verify", str(write(tmp_path / "d.json", {"aliexpress": doc})), str(DENIED))
    assert (code, out) == (0, "/aliexpress: same decision\n")
    code, out, _ = run("verify", str(write(tmp_path / "d.json", [doc])), str(DENIED))
    assert (code, out) == (0, "/0 (aliexpress): same decision\n")


@pytest.mark.parametrize(
    ("which", "content", "pointer", "expected"),
    [
        ("decision", None, "/", "cannot read the file"),
        ("decision", "DENY  aliexpress  as of 2024-03-01\n", "/", "malformed JSON at line 1, column 1"),
        ("decision", {"platform": "aliexpress"}, "/", "not a decision (it has no `outcome`)"),
        ("decision", "receipt-less", "/", "the decision has no `receipt`"),
        ("decision", "bad-outcome", "/outcome", "'maybe' is not allowed"),
        ("decision", [], "/", "no decision in the file"),
        ("request", None, "/", "cannot read the file"),
        ("request", "{", "/", "malformed JSON"),
        ("request", {"platform": "aliexpress", "seller": {}}, "/", "expected 'product' to be present"),
        ("request", "bad-entity", "/seller/entity_type", "is not allowed"),
    ],
)
def test_bad_input_exit_2_with_file_and_pointer(
    decided: Path, tmp_path: Path, which: str, content: Any, pointer: str, expected: str
) -> None:
    path = tmp_path / f"{which}.json"
    if content == "receipt-less":
        doc = json.loads(decided.read_text(encoding="utf-8"))
        del doc["receipt"]
        write(path, doc)
    elif content == "bad-outcome":
        doc = json.loads(decided.read_text(encoding="utf-8"))
        doc["outcome"] = "maybe"
        write(path, doc)
    elif content == "bad-entity":
        req = json.loads(DENIED.read_text(encoding="utf-8"))
        req["seller"]["entity_type"] = "corporation"
        write(path, req)
    elif content is not None:
        write(path, content)
    args = (str(path), str(DENIED)) if which == "decision" else (str(decided), str(path))
    code, out, err = run("verify", *args)
    assert code == 2
    assert out == ""
    assert err.startswith("policy-engine verify: error\n")
    assert f"{path}:{pointer}: " in err and expected in err
    assert "Traceback" not in err
