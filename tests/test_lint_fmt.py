"""`policy-engine lint` findings and `policy-engine fmt` layout."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from policy_engine._pipeline import load_documents
from policy_engine._tools.fmt import format_document
from policy_engine._tools.lint import lint_policies, load_taxonomies

ROOT = Path(__file__).resolve().parent.parent
MESSAGE = {"en": "No.", "zh": "不行。"}
BASE: dict[str, Any] = {
    "id": "t.lint",
    "version": "1.0.0",
    "platform": "testplatform",
    "effective_from": "2020-01-01",
    "title": "t",
    "sources": [
        {"url": "https://example.org/rules", "provenance": "sourced"},
        {"document": "none", "provenance": "illustrative"},
    ],
    "data": {"closed": ["shoes"], "unused": ["x"]},
    "rules": [
        {
            "id": "closed",
            "when": [{"field": "product.category", "under": {"ref": "closed"}}],
            "outcome": "deny",
            "message": MESSAGE,
            "remedies": [{"code": "fix", "en": "Fix.", "zh": "修正。"}],
            "source_refs": [0],
        },
    ],
}


def findings(tmp_path: Path, doc: dict[str, Any], taxonomy: list[str] | None = None) -> list[str]:
    (tmp_path / "p.json").write_text(json.dumps(doc), encoding="utf-8")
    if taxonomy is not None:
        (tmp_path / "taxonomy.json").write_text(json.dumps({"platform": "testplatform", "categories": taxonomy}))
    return [
        f"{f.code} {f.severity} {f.pointer} {f.message}"
        for f in lint_policies(load_documents([tmp_path]), load_taxonomies([tmp_path]))
    ]


def test_clean_policy_has_only_the_unused_data(tmp_path: Path) -> None:
    (finding,) = findings(tmp_path, BASE, ["shoes/sneakers"])
    assert finding.startswith("PE106 warning /data/unused")


def test_undeclared_category(tmp_path: Path) -> None:
    out = findings(tmp_path, BASE, ["bags"])
    assert any(f.startswith("PE101 error /rules/0/when/0/under") and "'shoes'" in f for f in out)


def test_missing_taxonomy_is_a_warning(tmp_path: Path) -> None:
    assert any(f.startswith("PE110 warning") for f in findings(tmp_path, BASE))


def test_contradictory_rule(tmp_path: Path) -> None:
    doc = copy.deepcopy(BASE)
    doc["rules"][0]["when"] += [
        {"field": "seller.entity_type", "equals": "enterprise"},
        {"field": "seller.entity_type", "equals": "individual"},
    ]
    assert any(f.startswith("PE104 error /rules/0") for f in findings(tmp_path, doc, ["shoes"]))
    doc["rules"][0]["when"][1:] = [
        {"field": "seller.metrics.refund_rate", "at_least": 0.5},
        {"field": "seller.metrics.refund_rate", "less_than": 0.2},
    ]
    assert any(f.startswith("PE104 error") for f in findings(tmp_path, doc, ["shoes"]))
    doc["rules"][0]["when"][1:] = [{"derived": "x"}, {"not": {"derived": "x"}}]
    doc["rules"].append({"id": "x", "derive": "x", "when": [{"field": "seller.country", "equals": "CN"}]})
    assert any(f.startswith("PE104 error /rules/0") for f in findings(tmp_path, doc, ["shoes"]))


def test_rules_that_can_fire_are_not_called_contradictory(tmp_path: Path) -> None:
    """`not (x not_equals a)` also holds when x is missing, so it does not contradict `x exists false`, nor
    another such negation; `1` is not `true` (values compare with their kind). Each rule below fires for
    some request; `equals true` with `equals 1` cannot, and is reported."""
    field = "product.attributes.ce"
    fire = {
        "not-not-equals-and-missing": [{"not": {"field": field, "not_equals": "a"}}, {"field": field, "exists": False}],
        "two-not-not-equals": [
            {"not": {"field": field, "not_equals": "a"}},
            {"not": {"field": field, "not_equals": "b"}},
        ],
        "one-but-not-true": [{"field": field, "equals": 1}, {"field": field, "not_equals": True}],
    }
    doc = copy.deepcopy(BASE)
    for name, when in [
        *fire.items(),
        ("true-and-one", [{"field": field, "equals": True}, {"field": field, "equals": 1}]),
    ]:
        doc["rules"].append({"id": name, "outcome": "review", "message": MESSAGE, "source_refs": [0], "when": when})
    contradictions = [f for f in findings(tmp_path, doc, ["shoes"]) if f.startswith("PE104")]
    assert contradictions == [
        "PE104 error /rules/4 rule 'true-and-one' can never fire: its conditions contradict each other"
    ]


def _rule(rule_id: str, when: list[dict[str, Any]], outcome: str = "deny") -> dict[str, Any]:
    remedies = [{"code": "fix", "en": "Fix.", "zh": "修正。"}]
    return {
        "id": rule_id,
        "outcome": outcome,
        "message": MESSAGE,
        "source_refs": [0],
        "remedies": remedies,
        "when": when,
    }


def test_never_decides_only_where_a_stronger_rule_always_fires(tmp_path: Path) -> None:
    """PE105 holds a rule to a stronger one only with the same named data values (names are each document's
    own), only when the stronger one's policy is in force on every day the rule's is, and never for an
    advisory (reported whatever decides)."""
    stronger = copy.deepcopy(BASE)
    stronger["id"], stronger["data"] = "t.deny", {"limit": 1000}
    stronger["rules"] = [_rule("over", [{"field": "product.attributes.price", "at_least": {"ref": "limit"}}])]
    weaker = copy.deepcopy(stronger)
    weaker["id"], weaker["data"] = "t.review", {"limit": 100}
    weaker["rules"][0].update(id="over-review", outcome="review")
    weaker["rules"].append({**weaker["rules"][0], "id": "note", "outcome": "advisory"})

    def never_decides(stronger_doc: dict[str, Any], weaker_doc: dict[str, Any]) -> list[str]:
        for f in tmp_path.glob("*.json"):
            f.unlink()
        (tmp_path / "a.json").write_text(json.dumps(stronger_doc), encoding="utf-8")
        (tmp_path / "b.json").write_text(json.dumps(weaker_doc), encoding="utf-8")
        return sorted(f.pointer for f in lint_policies(load_documents([tmp_path]), {}) if f.code == "PE105")

    assert never_decides(stronger, weaker) == []  # limits 1000 and 100: a price of 500 is a review
    same = {**weaker, "data": {"limit": 1000}}
    assert never_decides(stronger, same) == ["/rules/0"]  # the same limit: the deny fires whenever; not the advisory
    assert never_decides({**stronger, "effective_until": "2024-06-01"}, same) == []  # the review decides later


def test_shadowed_rule(tmp_path: Path) -> None:
    doc = copy.deepcopy(BASE)
    doc["rules"].append(
        {
            "id": "allow-sneakers",
            "outcome": "allow",
            "message": MESSAGE,
            "source_refs": [0],
            "when": [
                {"field": "product.category", "under": {"ref": "closed"}},
                {"field": "seller.country", "equals": "CN"},
            ],
        }
    )
    assert any(f.startswith("PE105 warning /rules/1") for f in findings(tmp_path, doc, ["shoes"]))


def test_messages_remedies_and_provenance(tmp_path: Path) -> None:
    doc = copy.deepcopy(BASE)
    doc["rules"][0]["message"] = {"en": "Same text", "zh": "Same text"}
    doc["rules"][0]["remedies"] = []
    doc["rules"][0]["source_refs"] = [1]
    doc["rules"][0]["provenance"] = "sourced"
    out = findings(tmp_path, doc, ["shoes"])
    assert any(f.startswith("PE107 error /rules/0/message") for f in out)
    assert any(f.startswith("PE108 warning /rules/0") for f in out)
    assert any(f.startswith("PE109 error /rules/0") for f in out)


def test_version_gap(tmp_path: Path) -> None:
    v1 = dict(copy.deepcopy(BASE), effective_until="2021-01-01")
    v2 = dict(copy.deepcopy(BASE), version="2.0.0", effective_from="2021-02-01")
    (tmp_path / "v1.json").write_text(json.dumps(v1))
    (tmp_path / "v2.json").write_text(json.dumps(v2))
    out = lint_policies(load_documents([tmp_path]), {})
    assert any(f.code == "PE103" and f.file.endswith("v2.json") for f in out)


def test_shipped_library_lints_without_errors() -> None:
    paths = [ROOT / "policies"]
    out = lint_policies(load_documents(paths), load_taxonomies(paths))
    assert [str(f) for f in out if f.severity == "error"] == []


def test_format_is_canonical_and_idempotent() -> None:
    for path in sorted((ROOT / "policies").glob("*/*.json")):
        if path.name == "taxonomy.json":
            continue
        doc = json.loads(path.read_text(encoding="utf-8"))
        once = format_document(doc)
        assert json.loads(once) == doc
        assert format_document(json.loads(once)) == once
    shuffled = dict(reversed(list(BASE.items())))
    text = format_document(shuffled)
    assert text.index('"id"') < text.index('"version"') < text.index('"rules"') and text.endswith("}\n")


def test_fmt_that_cannot_write_leaves_the_original_whole(tmp_path: Path, monkeypatch: Any) -> None:
    """A write that fails part-way (a full disk, an interrupted process) must not leave half a policy: fmt
    writes the new text beside the file and renames it over, so the original stays as it was, loadable,
    and no stray file is left; a write that succeeds replaces it whole and keeps its permissions."""
    import io
    import os

    from policy_engine.cli import main

    source = Path(__file__).resolve().parent.parent / "policies" / "lazada" / "lazmall-brand-authorization-1.1.0.json"
    one_line = json.dumps(json.loads(source.read_text(encoding="utf-8")))
    policy = tmp_path / "p.json"
    policy.write_text(one_line, encoding="utf-8")
    policy.chmod(0o640)
    real_fsync = os.fsync

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    out, err = io.StringIO(), io.StringIO()
    assert main(["fmt", str(tmp_path)], out, err) == 2
    assert "cannot write the file: No space left on device" in err.getvalue()
    assert "0 files reformatted" in out.getvalue()
    assert policy.read_text(encoding="utf-8") == one_line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json"]
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert main(["fmt", str(tmp_path)], io.StringIO(), io.StringIO()) == 0
    assert policy.read_text(encoding="utf-8") == format_document(json.loads(one_line))
    assert policy.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json"]


def test_a_conclusion_no_policy_in_force_derives_is_reported_for_its_period(tmp_path: Path) -> None:
    """The policy deriving `qualified` ends on 2024-06-01; the rule denying unless qualified goes on: from
    then it denies every listing, which validate (looking at all versions) cannot see. Lint says when."""
    deriving = copy.deepcopy(BASE)
    deriving.update(id="t.qualify", effective_until="2024-06-01", data={})
    deriving["rules"] = [{"id": "q", "derive": "qualified", "when": [{"field": "seller.country", "equals": "CN"}]}]
    testing = copy.deepcopy(BASE)
    testing.update(id="t.deny", data={})
    testing["rules"] = [_rule("deny-unless-qualified", [{"not": {"derived": "qualified"}}])]
    (tmp_path / "a.json").write_text(json.dumps(deriving), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps(testing), encoding="utf-8")
    found = [f"{f.pointer} {f.message}" for f in lint_policies(load_documents([tmp_path]), {}) if f.code == "PE113"]
    assert found == [
        "/rules/0 rule 'deny-unless-qualified' tests the conclusion 'qualified', which no policy of testplatform in "
        "force from 2024-06-01 on derives: it never holds then, and its negation always does"
    ]
    deriving.pop("effective_until")
    (tmp_path / "a.json").write_text(json.dumps(deriving), encoding="utf-8")
    assert [f for f in lint_policies(load_documents([tmp_path]), {}) if f.code == "PE113"] == []


def test_fmt_writes_a_linked_policy_through_its_link(tmp_path: Path) -> None:
    """A policy folder that links to a shared file: fmt formats the shared file and keeps the link."""
    import io

    from policy_engine.cli import main

    source = ROOT / "policies" / "lazada" / "lazmall-brand-authorization-1.1.0.json"
    shared = tmp_path / "shared" / "p.json"
    shared.parent.mkdir()
    shared.write_text(json.dumps(json.loads(source.read_text(encoding="utf-8"))), encoding="utf-8")
    linked = tmp_path / "policies" / "p.json"
    linked.parent.mkdir()
    linked.symlink_to(shared)
    assert main(["fmt", str(linked.parent)], io.StringIO(), io.StringIO()) == 0
    assert linked.is_symlink() and linked.resolve() == shared.resolve()
    assert shared.read_text(encoding="utf-8") == format_document(json.loads(source.read_text(encoding="utf-8")))
