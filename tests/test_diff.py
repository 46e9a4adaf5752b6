"""`policy-engine diff`: static changes, and the requests a planted change decides differently."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from policy_engine import Engine
from policy_engine._language import schemas
from policy_engine._tools.diff import DEFAULT_BUDGET, DiffReport, Flip, decision_key, diff_engines
from policy_engine._tools.lint import load_taxonomies
from policy_engine._tools.suite import cases_from, report_failure, run_cases
from policy_engine.cli import main

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
sys.path.insert(0, str(ROOT))
from bench.diff import changed_copy  # noqa: E402


@pytest.fixture(scope="module")
def old() -> Iterator[Engine]:
    engine = Engine.from_directory(POLICIES)
    yield engine
    engine.close()


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    return target


def _edit(
    folder: Path, name: str, change: Callable[[dict[str, Any]], None], indent: int | None = 2, sort: bool = False
) -> Path:
    path = folder / name
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=indent, sort_keys=sort), encoding="utf-8")
    return path


def _rule(doc: dict[str, Any], rule_id: str) -> dict[str, Any]:
    (rule,) = (r for r in doc["rules"] if r["id"] == rule_id)
    return rule


def _diff(old: Engine, new_folder: Path, **kwargs: Any) -> DiffReport:
    new = Engine.from_directory(new_folder)
    try:
        taxonomies = {k: v[1] for k, v in load_taxonomies([new_folder]).items()}
        return diff_engines(old, new, taxonomies=taxonomies, **kwargs)
    finally:
        new.close()


def _check_examples(report: DiffReport, old: Engine, new_folder: Path) -> None:
    """Every example is a valid request that the two sides really decide as reported."""
    new = Engine.from_directory(new_folder)
    try:
        for flip in report.flips:
            assert schemas.validate("request", flip.example) == [], flip.example
            assert decision_key(old.decide_each([flip.example])[0]) == flip.old
            assert decision_key(new.decide_each([flip.example])[0]) == flip.new
            assert flip.old != flip.new and flip.count >= 1
    finally:
        new.close()


def _rules_in(report: DiffReport) -> set[str]:
    return {r for f in report.flips for r in (*f.old[1], *f.new[1])}


def test_changes_that_alter_no_decision_report_no_flips(old: Engine, tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    # Reformatted with sorted keys and another indent, rules reordered, a message typo fixed.
    _edit(folder, "dhgate/cycling-admission.json", lambda d: d.update(rules=d["rules"][::-1]), indent=4, sort=True)

    def typo(doc: dict[str, Any]) -> None:
        rule = _rule(doc, "brand-not-qualified")
        rule["message"]["en"] = rule["message"]["en"].replace(" ", "  ", 1)  # a doubled space

    _edit(folder, "aliexpress/brand-closed-management.json", typo, indent=None)
    report = _diff(old, folder)
    assert report.flips == ()
    assert [(c.kind, c.subject, c.pointer) for c in report.static] == [
        ("changed", "aliexpress.brand-closed-management@1.0.0#brand-not-qualified", "/rules/15/message/en")
    ]
    assert report.searched["old"] == 0  # the same rules are in force on both sides on every date
    # Searched all the same, on every date, the generated requests are decided alike.
    report = _diff(old, folder, platforms=["aliexpress", "dhgate"], budget=25, search_unchanged=True)
    assert report.flips == ()
    assert report.searched["platforms"]["aliexpress"] > 200 and report.searched["platforms"]["dhgate"] > 400


def test_a_threshold_change_from_the_command_line(old: Engine, tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    path = _edit(folder, "dhgate/cycling-admission.json", lambda d: d["data"].update(max_refund_rate=0.2))
    out, err = io.StringIO(), io.StringIO()
    cases = tmp_path / "tests"
    argv = ["diff", str(POLICIES), str(folder), "--platform", "dhgate", "--as-of", "2020-01-01", "--format", "json"]
    code = main([*argv, "--write-cases", str(cases)], out, err)
    assert code == 1, err.getvalue()
    report = json.loads(out.getvalue())
    assert {"static", "flips", "searched"} <= report.keys()
    assert report["static"] == [
        {
            "platform": "dhgate",
            "kind": "changed",
            "subject": "dhgate.cycling-admission@1.0.0 data max_refund_rate",
            "detail": "0.05 -> 0.2",
            "file": str(path),
            "pointer": "/data/max_refund_rate",
        }
    ]
    assert report["searched"]["old"] == report["searched"]["new"] == DEFAULT_BUDGET
    assert {f["as_of"] for f in report["flips"]} == {"2020-01-01"}
    # Each example is written as a test case expecting the new decision, and passes against the new policies.
    written = sorted(cases.glob("*.json"))
    assert len(written) == len(report["flips"]) > 0
    for file in written:
        assert schemas.validate("testcase", json.loads(file.read_text(encoding="utf-8"))) == []
    loaded, problems = cases_from([cases])
    assert problems == []
    new = Engine.from_directory(folder)
    try:
        assert all(r.passed for r in run_cases(new, loaded)), [report_failure(r) for r in run_cases(new, loaded)]
    finally:
        new.close()
    assert not any(r.passed for r in run_cases(old, loaded))


@pytest.fixture(scope="module")
def planted(old: Engine, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DiffReport]:
    """One copy of the shipped policies with five changes that do not meet (other policies or dates;
    `bench.diff.changed_copy` says which), searched once with the default budget."""
    folder = changed_copy(tmp_path_factory.mktemp("planted") / "policies")
    return folder, _diff(old, folder)


def _flips(report: DiffReport, platform: str, rule: str) -> list[Flip]:
    return [f for f in report.flips if f.platform == platform and (rule in f.old[1]) != (rule in f.new[1])]


def test_planted_changes_are_listed_with_file_and_pointer(planted: tuple[Path, DiffReport]) -> None:
    folder, report = planted
    found = {(c.platform, c.kind, c.file.removeprefix(str(folder) + "/"), c.pointer) for c in report.static}

    def index(name: str, rule_id: str) -> int:
        rules = json.loads((POLICIES / name).read_text(encoding="utf-8"))["rules"]
        return next(i for i, r in enumerate(rules) if r["id"] == rule_id)

    assert found == {
        ("dhgate", "changed", "dhgate/cycling-admission.json", "/data/max_refund_rate"),
        ("aliexpress", "changed", "aliexpress/brand-closed-management.json", "/data/closed_categories"),
        (
            "dhgate",
            "changed",
            "dhgate/phone-admission.json",
            f"/rules/{index('dhgate/phone-admission.json', 'owns-phone-trademark')}/when/0/where",
        ),
        (
            "dhgate",
            "changed",
            "dhgate/cycling-admission-2.0.0.json",
            f"/rules/{index('dhgate/cycling-admission-2.0.0.json', 'dispute-rate-too-high')}/when",
        ),
        ("lazada", "moved", "lazada/lazmall-brand-authorization-1.0.0.json", "/effective_until"),
        ("lazada", "moved", "lazada/lazmall-brand-authorization-1.1.0.json", "/effective_from"),
    }
    details = {c.detail for c in report.static}
    assert '+"toys", -"phone-cables"' in details and "0.05 -> 0.2" in details
    assert "effective window 2023-08-24 until open-ended -> 2023-10-01 until open-ended" in details


def test_every_example_is_a_valid_request_decided_as_reported(old: Engine, planted: tuple[Path, DiffReport]) -> None:
    folder, report = planted
    assert {f.platform for f in report.flips} == {"aliexpress", "dhgate", "lazada"}
    _check_examples(report, old, folder)
    assert report.searched["platforms"]["amazon"] == 0  # nothing changed there


def test_a_threshold(planted: tuple[Path, DiffReport]) -> None:
    _, report = planted
    flips = _flips(report, "dhgate", "dhgate.cycling-admission#refund-rate-too-high")
    assert flips and all("2016-07-15" <= f.as_of < "2023-01-13" for f in flips)
    alone = [f for f in flips if f.new[0] == "allow"]
    assert [f.old for f in alone] == [("deny", ("dhgate.cycling-admission#refund-rate-too-high",))]
    example = alone[0].example
    assert set(example["seller"]["metrics"]) == {"refund_rate"}  # shrunk: nothing else measured
    assert 0.05 < example["seller"]["metrics"]["refund_rate"] <= 0.2


def test_a_named_set_member_added_and_another_removed(planted: tuple[Path, DiffReport]) -> None:
    _, report = planted
    flips = _flips(report, "aliexpress", "aliexpress.brand-closed-management#brand-not-qualified")
    assert {f.example["product"]["category"].split("/")[0] for f in flips} >= {"toys", "phone-cables"}


def test_a_dropped_condition(planted: tuple[Path, DiffReport]) -> None:
    _, report = planted
    flips = _flips(report, "dhgate", "dhgate.phone-admission#phone-brand-not-proven")
    assert flips
    for flip in flips:
        assert "dhgate.phone-admission#phone-brand-not-proven" in flip.old[1]
        assert "design_only" in [t.get("mark_type") for t in flip.example["seller"]["trademarks"]]


def test_an_added_condition(planted: tuple[Path, DiffReport]) -> None:
    _, report = planted
    flips = _flips(report, "dhgate", "dhgate.cycling-admission#dispute-rate-too-high")
    assert flips and all(f.as_of >= "2023-01-13" for f in flips)
    assert all(f.example["seller"].get("entity_type") != "enterprise" for f in flips)


def test_a_moved_effective_date(planted: tuple[Path, DiffReport]) -> None:
    _, report = planted
    flips = [f for f in report.flips if f.platform == "lazada"]
    assert flips and all("2023-08-24" <= f.as_of < "2023-10-01" for f in flips)


def test_git_revisions_and_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copytree(POLICIES / "dhgate", repo / "policies" / "dhgate")
    shutil.copytree(POLICIES / "common", repo / "policies" / "common")

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "empty")
    git("add", "policies")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "policies")
    _edit(repo / "policies", "dhgate/cycling-admission.json", lambda d: d["data"].update(max_dispute_rate=0.3))
    monkeypatch.chdir(repo)
    out, err = io.StringIO(), io.StringIO()
    assert main(["diff", "git:HEAD", "policies", "--budget", "60"], out, err) == 1, err.getvalue()
    text = out.getvalue()
    assert text.startswith("policy diff git:HEAD -> policies\n")
    assert "dhgate.cycling-admission@1.0.0 data max_dispute_rate: 0.1 -> 0.3" in text
    assert "(policies/dhgate/cycling-admission.json:/data/max_dispute_rate)" in text
    assert "dhgate.cycling-admission#dispute-rate-too-high" in text
    # Unchanged: nothing differs.
    out = io.StringIO()
    assert main(["diff", "git:HEAD", "git:HEAD"], out, io.StringIO()) == 0
    assert "static changes: 0" in out.getvalue()
    # A revision git does not know, a revision without policies/, a folder that does not exist.
    for argv, expected in (
        (["git:nope", "policies"], "git:nope:/: error PE001: 'nope' names no commit of this repository"),
        (["git:HEAD~1", "policies"], "git:HEAD~1:/: error PE001: no policies/ folder at HEAD~1"),
        (["missing", "policies"], "missing:/: error PE001: not a folder"),
    ):
        err = io.StringIO()
        assert main(["diff", *argv], io.StringIO(), err) == 2
        assert expected in err.getvalue(), err.getvalue()
    # An invalid policy on one side: its file and pointer, and what was expected.
    _edit(repo / "policies", "dhgate/cycling-admission.json", lambda d: d.update(effective_from="someday"))
    err = io.StringIO()
    assert main(["diff", "git:HEAD", "policies"], io.StringIO(), err) == 2
    assert "policies/dhgate/cycling-admission.json:/effective_from:" in err.getvalue()
    _edit(repo / "policies", "dhgate/cycling-admission.json", lambda d: d.update(effective_from="2016-07-15"))
    git("add", "policies")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "bad")
    err = io.StringIO()
    (repo / "policies" / "dhgate" / "cycling-admission.json").write_text("{", encoding="utf-8")
    git("add", "policies")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "broken")
    assert main(["diff", "git:HEAD", "git:HEAD~1"], io.StringIO(), err) == 2
    assert "git:HEAD:policies/dhgate/cycling-admission.json:" in err.getvalue(), err.getvalue()


def test_the_default_budget_is_documented() -> None:
    out = io.StringIO()
    assert main(["diff", "--help"], out, out) == 0
    assert f"(default {DEFAULT_BUDGET})" in out.getvalue()


def test_an_unknown_platform_is_bad_input() -> None:
    err = io.StringIO()
    assert main(["diff", str(POLICIES), str(POLICIES), "--platform", "nowhere"], io.StringIO(), err) == 2
    assert "'nowhere'" in err.getvalue()


def test_a_platform_diff_compiles_only_that_platform_and_reports_a_broken_side_up_front(
    tmp_path: Path, compilations: list[str]
) -> None:
    new = _copy(tmp_path)
    broken = [
        {"any": [{"field": "seller.store_type", "equals": f"a{i}"}, {"field": "seller.country", "equals": "CN"}]}
        for i in range(7)
    ]  # loads, but has more alternatives than a network may hold
    rule = {"id": "too-many-alternatives", "outcome": "review", "message": {"en": "x", "zh": "x"}, "when": broken}
    _edit(new, "wish/honest-store-advisory.json", lambda d: d["rules"].append(rule))
    err = io.StringIO()
    assert main(["diff", str(POLICIES), str(new), "--platform", "amazon", "--budget", "20"], io.StringIO(), err) == 0
    assert compilations and set(compilations) == {"amazon"}, err.getvalue()

    compilations.clear()
    err = io.StringIO()
    assert main(["diff", str(POLICIES), str(new), "--platform", "wish"], io.StringIO(), err) == 2
    assert "honest-store-advisory.json:/rules/" in err.getvalue() and "alternatives" in err.getvalue()
    assert set(compilations) == {"wish"}


def _demo(folder: Path, versions: list[dict[str, Any]]) -> Path:
    (folder / "demo").mkdir(parents=True)
    for n, extra in enumerate(versions):
        doc = {
            "id": "demo.p",
            "version": f"{n + 1}.0.0",
            "platform": "demo",
            "effective_from": f"{2020 + 5 * n}-01-01",
            "title": "t",
            "sources": [{"document": "x", "provenance": "illustrative"}],
            "rules": [
                {
                    "id": "r",
                    "when": [{"field": "product.brand", "equals": "Z"}],
                    "outcome": "review",
                    "message": {"en": "m", "zh": "审"},
                }
            ],
            **extra,
        }
        if n + 1 < len(versions):
            doc["effective_until"] = f"{2025 + 5 * n}-01-01"
        (folder / "demo" / f"p{n}.json").write_text(json.dumps(doc), encoding="utf-8")
    return folder


def test_a_key_added_or_removed_is_a_static_change_not_a_crash(tmp_path: Path) -> None:
    old = _demo(tmp_path / "old", [{}])
    new = _demo(tmp_path / "new", [{"description": "added", "default_outcome": "review"}])
    out, err = io.StringIO(), io.StringIO()
    main(["diff", str(old), str(new)], out, err)
    assert "Traceback" not in err.getvalue() and err.getvalue() == "", err.getvalue()
    assert 'description null -> "added"' in out.getvalue()
    assert "default_outcome" in out.getvalue()


def test_a_platform_default_set_by_a_later_version_is_searched_on_every_day(tmp_path: Path) -> None:
    """The platform default holds on every day, whichever version sets it: a later version changing it from
    deny to allow changes the earlier days too, though their versions are the same on both sides."""
    old = _demo(tmp_path / "old", [{}, {"default_outcome": "deny"}])
    new = _demo(tmp_path / "new", [{}, {"default_outcome": "allow"}])
    out = io.StringIO()
    assert main(["diff", str(old), str(new), "--as-of", "2021-06-01"], out, io.StringIO()) == 1
    assert "as of 2021-06-01: deny -> allow" in out.getvalue()
