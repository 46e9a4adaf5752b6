"""One problem model: every problem the package reports has a code from one catalogue, documented in
docs/language.md, and the command line prints the code and severity of each."""

from __future__ import annotations

import ast
import io
import json
import re
import typing
from pathlib import Path

import pytest

import policy_engine
from policy_engine import LoadError, Problem
from policy_engine._tools import lint
from policy_engine.cli import main
from policy_engine.errors import CATALOGUE, ProblemCode

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "policy_engine"


def _codes_in_source() -> dict[str, set[str]]:
    """Every string constant that looks like a problem code, by the module that writes it (the catalogue aside)."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"PE\d{3}", node.value):
                found.setdefault(node.value, set()).add(path.relative_to(PACKAGE).as_posix())
    return found


def test_every_code_the_package_uses_is_in_the_catalogue_and_every_catalogue_code_is_used() -> None:
    used = _codes_in_source()
    assert sorted(set(used) - set(CATALOGUE)) == []
    assert sorted(set(CATALOGUE) - set(used)) == []
    assert typing.get_args(ProblemCode) == tuple(CATALOGUE)


def test_the_catalogue_is_documented_as_it_is() -> None:
    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    section = text[text.index("## 13. Problem codes") :]
    rows = re.findall(r"^\| (PE\d{3}) \| (\w+) \| (.*) \|$", section, flags=re.MULTILINE)
    documented = {code: (severity, meaning.replace("\\|", "|")) for code, severity, meaning in rows}
    assert documented == CATALOGUE
    assert [code for code, _, _ in rows] == sorted(CATALOGUE)


def test_a_problem_has_a_catalogue_code_and_its_severity() -> None:
    p = Problem(file="p.json", pointer="/rules/0", message="cycle", code="PE031")
    assert (p.severity, str(p)) == ("error", "p.json:/rules/0: error PE031: cycle")
    assert Problem(file="p.json", pointer="", message="gap", code="PE103").severity == "warning"
    assert p.to_dict() == {
        "file": "p.json",
        "pointer": "/rules/0",
        "message": "cycle",
        "code": "PE031",
        "severity": "error",
    }
    with pytest.raises(ValueError):
        Problem(file="p.json", pointer="", message="x", code="invalid")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Problem("p.json", "", "x", "PE010")  # type: ignore[misc]
    assert "Problem" in policy_engine.__all__ and not hasattr(lint, "Finding")


def _policy(rule_when: list[object]) -> dict[str, object]:
    return {
        "id": "demo.p",
        "version": "1.0.0",
        "platform": "demo",
        "effective_from": "2024-01-01",
        "title": "t",
        "sources": [{"document": "d", "provenance": "illustrative"}],
        "rules": [
            {"id": "r", "when": rule_when, "outcome": "review", "message": {"en": "Review.", "zh": "审核。"}},
        ],
    }


@pytest.mark.parametrize(
    ("when", "code"),
    [
        ([{"count": "seller.categories", "at_lest": 3}], "PE010"),
        ([{"field": "seller.nme", "equals": "x"}], "PE020"),
        ([{"field": "product.brand", "at_least": 3}], "PE021"),
        ([{"derived": "nothing"}], "PE024"),
        ([{"not": {"field": "product.brand", "equals": {"field": "seller.id"}}}], "PE035"),
    ],
)
def test_load_check_and_compile_problems_carry_their_codes(tmp_path: Path, when: list[object], code: str) -> None:
    (tmp_path / "p.json").write_text(json.dumps(_policy(when)), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert main(["validate", str(tmp_path)], out=out, err=err) == 2
    lines = err.getvalue().splitlines()[1:]
    assert lines and all(line.startswith(f"  {tmp_path / 'p.json'}:/rules/0/when/0") for line in lines)
    assert all(f": error {code}: " in line for line in lines), lines


@pytest.mark.parametrize(
    ("when", "pointer"),
    [
        ([{"field": "product.attributes.kids", "at_least": False}], "/rules/0/when/0/at_least"),
        ([{"field": "product.attributes.kids", "less_than": True}], "/rules/0/when/0/less_than"),
        ([{"not": {"field": "product.attributes.kids", "at_most": True}}], "/rules/0/when/0/not/at_most"),
        ([{"field": "product.attributes.model", "less_than": "Pro Max"}], "/rules/0/when/0/less_than"),
        ([{"field": "product.attributes.size", "greater_than": "10"}], "/rules/0/when/0/greater_than"),
    ],
)
def test_an_order_against_a_boolean_or_a_text_is_refused_at_load(
    tmp_path: Path, when: list[object], pointer: str
) -> None:
    # A field of any kind (a product attribute) orders numbers only. A boolean has no order: the condition
    # can never hold, yet the rule engine ordered false and true all the same and fired the rule (deny where
    # the language, and the reference evaluator, allow). Texts the rule engine compares as it reads them,
    # escapes and the closing quote included: "Pro" came after "Pro Max" (allow where the reference denies).
    (tmp_path / "p.json").write_text(json.dumps(_policy(when)), encoding="utf-8")
    with pytest.raises(LoadError) as info:
        policy_engine.load_documents([tmp_path])
    assert [(p.pointer, p.code) for p in info.value.problems] == [(pointer, "PE021")], info.value.problems
    message = info.value.problems[0].message
    assert "orders numbers on" in message and ("is a boolean, which has no order" in message or "is a text" in message)


def test_lint_findings_are_problems_printed_alike(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text(json.dumps(_policy([{"field": "product.brand", "exists": True}])))
    out = io.StringIO()
    assert main(["lint", str(tmp_path)], out=out, err=io.StringIO()) == 0
    lines = out.getvalue().splitlines()
    no_taxonomy = f"{tmp_path / 'p.json'}:/: warning PE110: no taxonomy.json declares the categories of platform 'demo'"
    assert no_taxonomy in lines
    assert any(line.startswith(f"{tmp_path / 'p.json'}:/rules/0: warning PE108: ") for line in lines)
    assert lines[-1] == "0 errors, 2 warnings in 1 policies"  # warnings do not fail


def test_json_lines_of_undecided_requests_keep_their_fields_and_add_code_and_severity(tmp_path: Path) -> None:
    lines = tmp_path / "requests.jsonl"
    lines.write_text('{"platform": "aliexpress"}\nnot json\n', encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert main(["decide", str(lines)], out=out, err=err) == 2
    first, second = (json.loads(x) for x in out.getvalue().splitlines())
    assert first["error"] == "request" and first["message"].startswith(f"{lines}:1:/: ")
    assert {p["code"] for p in first["problems"]} == {"PE010"}
    assert all(set(p) == {"file", "pointer", "message", "code", "severity"} for p in first["problems"])
    assert second["error"] == "json" and second["problems"][0]["code"] == "PE002"
    assert f"{lines}:2:/: error PE002: malformed JSON" in err.getvalue()


def test_a_load_error_names_the_codes_of_its_problems(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text("{", encoding="utf-8")
    with pytest.raises(LoadError) as info:
        policy_engine.load_documents([tmp_path])
    assert [p.code for p in info.value.problems] == ["PE002"]
    assert ": error PE002: malformed JSON" in str(info.value)


@pytest.mark.parametrize(
    ("when", "quoted"),
    [
        ([{"field": "seller.nme", "equals": "x"}], "unknown request field 'seller.nme'; expected one of: seller.id"),
        ([{"fild": "seller.id", "equals": "x"}], "unknown field 'fild'"),
        ([{"some": "seller.grants", "where": [{"field": "item.knd", "equals": "x"}]}], "no field 'item.knd'"),
        ([{"field": "item.kind", "equals": "x"}], "'item.kind' is only meaningful inside `some`"),
        ([{"field": "seller.account_status", "equals": "shut"}], "'shut' is not a value `seller.account_status`"),
        ([{"derived": "nope"}], "derives 'nope'"),
        ([{"all": "x"}], "'x' is not of type array"),
    ],
)
def test_messages_quote_what_the_document_says_one_way(tmp_path: Path, when: list[object], quoted: str) -> None:
    (tmp_path / "p.json").write_text(json.dumps(_policy(when)), encoding="utf-8")
    with pytest.raises(LoadError) as info:
        policy_engine.load_documents([tmp_path])
    messages = [p.message for p in info.value.problems]
    assert any(quoted in m for m in messages), messages
    assert not any('"' in m or "`seller.nme`" in m for m in messages), messages


def test_a_stored_decision_that_is_text_is_quoted_like_any_other_value(tmp_path: Path) -> None:
    from policy_engine._tools.verify import read_decisions

    (tmp_path / "d.json").write_text('"abc"\n', encoding="utf-8")
    decisions, problems = read_decisions(tmp_path / "d.json")
    assert decisions == [] and [(p.code, p.message.split(";")[0]) for p in problems] == [
        ("PE010", "'abc' is not an object")
    ]


def test_a_comparison_checked_sound_once_does_not_hide_a_different_one() -> None:
    """The checks remember comparisons found sound; one that differs only in its operand's type, or in the
    list it is in, is still checked, and the same one again in a bad place still fails there."""
    from policy_engine._pipeline.check import check_policies
    from policy_engine._pipeline.load import parse_policy

    def rule(k: int, cond: dict[str, typing.Any]) -> dict[str, typing.Any]:
        return {"id": f"r{k}", "when": [cond], "outcome": "deny", "message": {"en": "x", "zh": "x"}}

    conds = [
        {"field": "seller.metrics.refund_rate", "equals": 1},
        {"field": "seller.metrics.refund_rate", "equals": True},  # a boolean for a number
        {"some": "seller.grants", "where": [{"field": "item.status", "equals": "approved"}]},
        {"some": "seller.violations", "where": [{"field": "item.status", "equals": "approved"}]},  # no such status
        {"field": "seller.metrics.refund_rate", "equals": 1},
    ]
    doc = {
        "id": "t.memo",
        "version": "1.0.0",
        "platform": "testplatform",
        "effective_from": "2000-01-01",
        "title": "t",
        "sources": [{"document": "t", "provenance": "illustrative"}],
        "rules": [rule(k, c) for k, c in enumerate(conds)],
    }
    policy, problems = parse_policy(doc, "memo.json")
    assert policy is not None and problems == []
    found = sorted((p.pointer, p.code) for p in check_policies([policy]))
    assert found == [("/rules/1/when/0/equals", "PE021"), ("/rules/3/when/0/where/0/equals", "PE023")]
