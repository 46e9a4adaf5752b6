"""The analysts' language: named data in messages, enumerated values checked at load, the public resources."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

from policy_engine import Engine, LoadError
from policy_engine._pipeline import load_documents
from policy_engine._pipeline.explain import fill
from policy_engine._pipeline.request import normalize_request
from policy_engine._tools.lint import lint_policies
from policy_engine._tools.suite import discover_cases, load_cases

ROOT = Path(__file__).resolve().parent.parent
BASE: dict[str, Any] = {
    "id": "t.language",
    "version": "1.0.0",
    "platform": "testplatform",
    "effective_from": "2020-01-01",
    "title": "t",
    "sources": [{"document": "none", "provenance": "illustrative"}],
    "data": {"max_refund_rate": 0.1, "min_orders": 2500, "closed": ["shoes", "bags"], "label": "Closed"},
    "rules": [
        {
            "id": "refunds",
            "when": [
                {"field": "seller.metrics.refund_rate", "greater_than": {"ref": "max_refund_rate"}},
                {"field": "seller.metrics.orders", "less_than": {"ref": "min_orders"}},
                {"field": "product.category", "under": {"ref": "closed"}},
            ],
            "outcome": "deny",
            "message": {
                "en": "{data.label}: refund rate above {data.max_refund_rate:.2f} ({data.max_refund_rate:percent} %) "
                "in {data.closed}, fewer than {data.min_orders:,} orders.",
                "zh": "退款率高于 {data.max_refund_rate}（{data.max_refund_rate:percent}%），"
                "订单少于 {data.min_orders} 笔。",
            },
            "remedies": [
                {
                    "code": "reduce",
                    "en": "Bring the refund rate down to {data.max_refund_rate} for {product.brand}.",
                    "zh": "将 {product.brand} 的退款率降至 {data.max_refund_rate}。",
                }
            ],
        }
    ],
}


def _load(tmp_path: Path, doc: dict[str, Any]) -> Any:
    (tmp_path / "p.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return load_documents([tmp_path])


def _problems(tmp_path: Path, doc: dict[str, Any]) -> list[str]:
    with pytest.raises(LoadError) as info:
        _load(tmp_path, doc)
    return [f"{Path(p.file).name}:{p.pointer} {p.message}" for p in info.value.problems]


# -- named data in messages and remedies ----------------------------------------------------------------------


def test_data_placeholders_are_filled_from_the_named_data(tmp_path: Path) -> None:
    (policy,) = _load(tmp_path, BASE)
    rule = policy.rules[0]
    assert rule.message is not None
    assert rule.message.en == "Closed: refund rate above 0.10 (10 %) in shoes, bags, fewer than 2,500 orders."
    assert rule.message.zh == "退款率高于 0.1（10%），订单少于 2500 笔。"
    assert rule.remedies[0].text.en == "Bring the refund rate down to 0.1 for {product.brand}."
    assert rule.message.templates is not None and "{data.max_refund_rate:.2f}" in rule.message.templates[0]


def test_a_decision_shows_the_filled_texts(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text(json.dumps(BASE, ensure_ascii=False), encoding="utf-8")
    request = {
        "platform": "testplatform",
        "as_of": "2024-01-01",
        "seller": {"id": "S", "metrics": {"refund_rate": 0.2, "orders": 3}},
        "product": {"id": "P", "category": "shoes", "brand": "Acme"},
    }
    engine = Engine.from_directory(tmp_path)
    try:
        decision = engine.decide(request)
    finally:
        engine.close()
    assert decision.outcome == "deny"
    assert decision.reasons[0].message["zh"] == "退款率高于 0.1（10%），订单少于 2500 笔。"
    assert decision.remedies[0].message["en"] == "Bring the refund rate down to 0.1 for Acme."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{data.max_rate}", "/rules/0/message/en placeholder {data.max_rate} names no named data of this policy"),
        ("{data.closed:.2f}", "/rules/0/message/en placeholder {data.closed:.2f}: the format '.2f' applies to numbers"),
        ("{data.min_orders:bogus}", "/rules/0/message/en placeholder {data.min_orders:bogus}: unknown format 'bogus'"),
        ("{data.min_orders:d}", None),
    ],
)
def test_a_data_placeholder_must_name_data_of_the_policy(tmp_path: Path, text: str, expected: str | None) -> None:
    doc = copy.deepcopy(BASE)
    doc["rules"][0]["message"]["en"] = text
    if expected is None:
        (policy,) = _load(tmp_path, doc)
        assert policy.rules[0].message.en == "2500"
        return
    (problem,) = _problems(tmp_path, doc)
    assert problem.startswith(f"p.json:{expected}")


def test_a_bad_remedy_placeholder_points_at_the_remedy(tmp_path: Path) -> None:
    doc = copy.deepcopy(BASE)
    doc["rules"][0]["remedies"][0]["zh"] = "{data.nope}"
    (problem,) = _problems(tmp_path, doc)
    assert problem.startswith("p.json:/rules/0/remedies/0/zh placeholder {data.nope}")
    assert "expected one of: closed, label, max_refund_rate, min_orders" in problem


def test_a_bad_data_placeholder_hides_no_other_problem_of_its_document(tmp_path: Path) -> None:
    doc = copy.deepcopy(BASE)
    doc["rules"][0]["message"] = {"en": "{product.brnad}", "zh": "{data.min_orders:bogus} {data.nope}"}
    doc["rules"][0]["when"].append({"field": "seller.metrics.orders", "equals": "many"})  # a number is never text
    problems = sorted(_problems(tmp_path, doc))
    assert [p.split(" ", 1)[0] for p in problems] == [
        "p.json:/rules/0/message/en",
        "p.json:/rules/0/message/zh",
        "p.json:/rules/0/message/zh",
        "p.json:/rules/0/when/3/equals",
    ], problems
    assert "placeholder {product.brnad} names no request field" in problems[0]
    assert {"{data.min_orders:bogus}:", "{data.nope}"} == {p.split()[2] for p in problems[1:3]}
    assert "'many' does not fit `seller.metrics.orders`" in problems[3]


def test_lint_warns_of_a_number_that_repeats_named_data(tmp_path: Path) -> None:
    doc = copy.deepcopy(BASE)
    doc["rules"][0]["message"] = {
        "en": "Refund rate above 0.10 on 2024-01-01, 10 % of 2,500 orders (version 0.1.2).",
        "zh": "退款率高于 {data.max_refund_rate}，即 10%。",
    }
    assert _findings(tmp_path, doc, "PE111") == [
        "PE111 /rules/0/message/en 0.10 is the named data 'max_refund_rate'; write {data.max_refund_rate:.2f} "
        "so that the text follows the value",
        "PE111 /rules/0/message/en 2,500 is the named data 'min_orders'; write {data.min_orders:,} "
        "so that the text follows the value",
    ]
    clean = lint_policies(_load(tmp_path, BASE), {})
    assert [f for f in clean if f.code in ("PE106", "PE111")] == []  # data used in texts only counts as used


def test_lint_warns_when_the_two_languages_show_different_named_data(tmp_path: Path) -> None:
    """A translation that writes a value out its own way (50 万元 for 500,000) goes stale with the value."""
    doc = copy.deepcopy(BASE)
    doc["rules"][0]["message"] = {
        "en": "Orders below {data.min_orders:,}; refund rate above {data.max_refund_rate}.",
        "zh": "订单少于 2500 笔；退款率高于 {data.max_refund_rate}。",
    }
    doc["rules"][0]["remedies"] = [{"code": "x", "en": "Ship more orders.", "zh": "至少发货 {data.min_orders:,} 笔。"}]
    assert _findings(tmp_path, doc, "PE112") == [
        "PE112 /rules/0/message/zh the English text shows {data.min_orders} and this one does not; write the same "
        "placeholders in both, so that both follow the value",
        "PE112 /rules/0/remedies/0/en the Chinese text shows {data.min_orders} and this one does not; write the same "
        "placeholders in both, so that both follow the value",
    ]
    assert _findings(tmp_path, BASE, "PE112") == []


def _findings(tmp_path: Path, doc: dict[str, Any], code: str) -> list[str]:
    return [f"{f.code} {f.pointer} {f.message}" for f in lint_policies(_load(tmp_path, doc), {}) if f.code == code]


def test_shipped_messages_render_as_before_their_thresholds_became_placeholders() -> None:
    """The shipped policies that write thresholds as `{data.…}` render exactly the texts they had when the
    numbers were written out (tests/rendered_texts.json), in their model and in the analysts' cases."""
    before = json.loads((ROOT / "tests" / "rendered_texts.json").read_text(encoding="utf-8"))
    policies = load_documents([ROOT / "policies"])
    templated = {}
    for p in policies:
        for r in p.rules:
            texts = ([r.message] if r.message else []) + [m.text for m in r.remedies]
            if any(t.templates for t in texts):
                templated[p.cite(r)] = {
                    "message": {"en": r.message.en, "zh": r.message.zh} if r.message else None,
                    "remedies": {m.code: {"en": m.text.en, "zh": m.text.zh} for m in r.remedies},
                }
    assert templated == {k: {"message": v.get("message"), "remedies": v["remedies"]} for k, v in before.items()}
    cases = [c for f in discover_cases([ROOT / "policies"]) for c in load_cases(f)]
    cases = [c for c in cases if set(c.expect.get("rules", ())) & set(before)]
    assert len(cases) >= 20
    engine = Engine.from_directory(ROOT / "policies")
    try:
        for case in cases:
            decision = engine.decide(case.request, as_of=case.as_of)
            request = normalize_request(case.request, as_of=case.as_of)
            for reason in decision.reasons:
                if reason.rule in before:
                    want = before[reason.rule]["message"]
                    assert reason.message == {lang: fill(want[lang], request, lang) for lang in ("en", "zh")}
            for remedy in decision.remedies:
                if remedy.rule in before and remedy.code in before[remedy.rule]["remedies"]:
                    want = before[remedy.rule]["remedies"][remedy.code]
                    assert remedy.message == {lang: fill(want[lang], request, lang) for lang in ("en", "zh")}
    finally:
        engine.close()


# -- enumerated values ------------------------------------------------------------------------------------------


def _with_when(when: list[dict[str, Any]], data: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc["rules"][0]["when"] = when
    doc["rules"][0]["message"] = {"en": "No.", "zh": "不行。"}
    del doc["rules"][0]["remedies"]
    doc["data"] = data or {}
    return doc


@pytest.mark.parametrize(
    ("when", "data", "expected"),
    [
        (
            [{"some": "seller.violations", "where": [{"field": "item.kind", "equals": "trade_mark"}]}],
            None,
            "/rules/0/when/0/where/0/equals 'trade_mark' is not a value `item.kind` of seller.violations can hold; "
            "expected one of: counterfeit, trademark, copyright, patent, prohibited_item",
        ),
        (
            [
                {
                    "count": "seller.grants",
                    "where": [{"field": "item.status", "in": ["approved", "aproved"]}],
                    "at_least": 1,
                }
            ],
            None,
            "/rules/0/when/0/where/1/in/1 'aproved' is not a value `item.status` of seller.grants can hold; "
            "expected one of: approved, pending, rejected, revoked, expired",
        ),
        (
            [{"not": {"field": "seller.account_status", "not_in": {"ref": "statuses"}}}],
            {"statuses": ["active", "banned"]},
            "/rules/0/when/0/not/not_in/ref 'banned' (in named data 'statuses') is not a value "
            "`seller.account_status` can hold; expected one of: active, warned, restricted, frozen, suspended, closed",
        ),
        (
            [{"some": "seller.trademarks", "where": [{"any": [{"field": "item.mark_type", "not_equals": "text"}]}]}],
            None,
            "/rules/0/when/0/where/0/any/0/not_equals 'text' is not a value `item.mark_type` of seller.trademarks "
            "can hold; expected one of: word, design_with_text, design_only",
        ),
    ],
)
def test_an_enumerated_field_is_compared_only_with_its_values(
    tmp_path: Path, when: list[dict[str, Any]], data: dict[str, Any] | None, expected: str
) -> None:
    if "where/1/" in expected:
        when[0]["where"].insert(0, {"field": "item.kind", "equals": "category_admission"})
    assert _problems(tmp_path, _with_when(when, data)) == [f"p.json:{expected}"]


def test_known_values_and_open_fields_load(tmp_path: Path) -> None:
    when = [
        {"some": "seller.violations", "where": [{"field": "item.kind", "in": ["trademark", "counterfeit"]}]},
        {"field": "seller.store_type", "equals": "anything"},  # not enumerated
        {"field": "product.attributes.kind", "equals": "trade_mark"},
        {"field": "seller.entity_type", "not_equals": "x"},  # not checked: a value no seller has
    ]
    (policy,) = _load(tmp_path, _with_when(when))
    assert policy.rules[0].id == "refunds"


def test_the_vocabulary_agrees_with_the_request_schema() -> None:
    from policy_engine._language.schemas import load_schema
    from policy_engine._language.vocab import VALUES

    schema = load_schema("request")["properties"]["seller"]["properties"]
    for key, values in VALUES.items():
        parts = key.split(".")[1:]
        node = schema[parts[0]]
        if len(parts) == 2:
            node = node["items"]["properties"][parts[1]]
        if "enum" in node:
            assert tuple(node["enum"]) == values, key
        else:  # an open kind: the schema's description names every kind a policy may use
            assert all(f"`{v}`" in node["description"] for v in values), key


# -- the shipped files, and how proofs cite policy files ------------------------------------------------------


def test_resources_find_the_shipped_schemas_and_policies() -> None:
    import policy_engine
    from policy_engine import resources

    assert "resources" in policy_engine.__all__ and policy_engine.resources is resources
    assert {p.stem for p in resources.schemas_dir().glob("*.json")} == set(resources.SCHEMAS)
    for name in resources.SCHEMAS:
        assert resources.schema(name)["$id"].endswith(f"/{name}.json")
        assert resources.schema_path(name).parent == resources.schemas_dir()
    with pytest.raises(ValueError, match="no shipped schema 'requests'; expected one of: policy, request"):
        resources.schema_path("requests")
    assert (resources.policies_dir() / "aliexpress" / "brand-closed-management.json").is_file()
    assert (resources.examples_dir() / "aliexpress-shoes-denied.json").is_file()


def _proof_files(decision: Any) -> set[str]:
    return {proof.file for reason in decision.reasons if reason.proof for proof in reason.proof.walk()}


def test_proofs_cite_policy_files_relative_to_the_policy_folder(tmp_path: Path) -> None:
    import shutil

    from policy_engine import resources
    from policy_engine._language.schemas import validate
    from policy_engine._pipeline import load_texts
    from policy_engine._tools.verify import compare

    request = json.loads((resources.examples_dir() / "aliexpress-shoes-denied.json").read_text(encoding="utf-8"))
    copy_dir = tmp_path / "elsewhere" / "policies"
    shutil.copytree(resources.policies_dir(), copy_dir)
    decisions = []
    for source in (resources.policies_dir(), copy_dir.resolve()):
        engine = Engine.from_directory(source, prepare=False)
        try:
            decisions.append(engine.decide(request))
        finally:
            engine.close()
    shipped, copied = decisions
    assert _proof_files(shipped) == _proof_files(copied) == {"aliexpress/brand-closed-management.json"}
    assert validate("decision", shipped.to_dict()) == []
    assert compare(shipped.to_dict(), copied.to_dict()) == []
    assert shipped.to_dict() == copied.to_dict()  # wherever the folder is
    # A folder of one platform: its files by name. Texts sent to a worker: the same names as from disk.
    one = Engine.from_directory(copy_dir / "aliexpress", prepare=False)
    try:
        assert _proof_files(one.decide(request)) == {"brand-closed-management.json"}
    finally:
        one.close()
    texts = {str(f): f.read_text(encoding="utf-8") for f in sorted(copy_dir.rglob("*.json")) if "tests" not in f.parts}
    texts = {k: v for k, v in texts.items() if not k.endswith(("taxonomy.json", "invariants.json"))}
    assert (
        {p.path for p in load_texts(texts)}
        == {p.path for p in load_documents([copy_dir])}
        >= {"aliexpress/brand-closed-management.json", "common/account-status.json"}
    )


# -- test case tables -------------------------------------------------------------------------------------------

TABLE_POLICY: dict[str, Any] = {
    "id": "t.tables",
    "version": "1.0.0",
    "platform": "testplatform",
    "effective_from": "2020-01-01",
    "title": "t",
    "sources": [{"document": "none", "provenance": "illustrative"}],
    "data": {"max_refund_rate": 0.1},
    "rules": [
        {
            "id": "refunds",
            "when": [{"field": "seller.metrics.refund_rate", "greater_than": {"ref": "max_refund_rate"}}],
            "outcome": "deny",
            "message": {"en": "Too many refunds.", "zh": "退款太多。"},
        },
        {
            "id": "suspended",
            "when": [{"field": "seller.account_status", "equals": "suspended"}],
            "outcome": "review",
            "message": {"en": "Suspended.", "zh": "已暂停。"},
        },
    ],
}
BASE_REQUEST: dict[str, Any] = {
    "platform": "testplatform",
    "as_of": "2024-01-01",
    "seller": {"id": "S", "account_status": "active", "metrics": {"refund_rate": 0.01, "orders": 10}},
    "product": {"id": "P", "category": "shoes", "brand": "Acme"},
}


def _table_tree(tmp_path: Path, table: dict[str, Any], name: str = "refunds.json") -> Path:
    (tmp_path / "testplatform" / "tests").mkdir(parents=True, exist_ok=True)
    (tmp_path / "testplatform" / "p.json").write_text(json.dumps(TABLE_POLICY, ensure_ascii=False), encoding="utf-8")
    path = tmp_path / "testplatform" / "tests" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(table, ensure_ascii=False), encoding="utf-8")
    return path


TABLE: dict[str, Any] = {
    "name": "refunds",
    "request": BASE_REQUEST,
    "cases": [
        {"name": "base-allowed", "expect": {"outcome": "allow", "rules": []}},
        {
            "name": "high-refunds",
            "merge": {"seller": {"metrics": {"refund_rate": 0.2}}},
            "expect": {"outcome": "deny", "rules": ["t.tables@1.0.0#refunds"]},
        },
        {
            "name": "suspended-without-metrics",
            "merge": {"seller": {"account_status": "suspended", "metrics": None}},
            "overrides": {"/product/brand": None},
            "as_of": "2023-06-01",
            "expect": {"outcome": "review"},
        },
        {"name": "base-again", "merge": {"seller": {"id": "S2"}}, "expect": {"outcome": "allow"}},
    ],
}


def test_merge_patch_follows_rfc_7386() -> None:
    from policy_engine._tools.suite import merge_patch

    # the examples of RFC 7386, appendix A
    examples = [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ]
    for target, patch, result in examples:
        before = copy.deepcopy(target)
        assert merge_patch(target, patch) == result
        assert target == before


def test_a_table_runs_each_case_with_its_merged_request(tmp_path: Path) -> None:
    path = _table_tree(tmp_path, TABLE)
    cases = load_cases(path)
    assert [(c.name, c.pointer, c.where) for c in cases] == [
        ("base-allowed", "/cases/0", f"{path}:/cases/0"),
        ("high-refunds", "/cases/1", f"{path}:/cases/1"),
        ("suspended-without-metrics", "/cases/2", f"{path}:/cases/2"),
        ("base-again", "/cases/3", f"{path}:/cases/3"),
    ]
    # no case changes what the others see
    assert cases[3].request == {**BASE_REQUEST, "seller": {**BASE_REQUEST["seller"], "id": "S2"}}
    assert cases[1].request["seller"] == {
        "id": "S",
        "account_status": "active",
        "metrics": {"refund_rate": 0.2, "orders": 10},
    }
    assert cases[2].request["seller"] == {"id": "S", "account_status": "suspended"}
    assert cases[2].request["product"]["brand"] is None and str(cases[2].as_of) == "2023-06-01"
    assert cases[0].request == BASE_REQUEST
    from policy_engine.cli import main

    out, err = io.StringIO(), io.StringIO()
    assert main(["test", str(tmp_path), "--policies", str(tmp_path), "--no-invariants"], out, err) == 0, out.getvalue()
    assert "4 passed, 0 failed" in out.getvalue()
    failing = copy.deepcopy(TABLE)
    failing["cases"][1]["expect"] = {"outcome": "allow"}
    _table_tree(tmp_path, failing)
    out, err = io.StringIO(), io.StringIO()
    assert main(["test", str(tmp_path), "--policies", str(tmp_path), "--no-invariants"], out, err) == 1
    assert f"FAIL {path}:/cases/1: high-refunds" in out.getvalue()


@pytest.mark.parametrize(
    ("change", "pointer", "message"),
    [
        (lambda t: t["cases"][1]["expect"].update(outcome="maybe"), "/cases/1/expect/outcome", "maybe"),
        (lambda t: t["cases"][2].update(name="base-allowed"), "/cases/2/name", "also the name of /cases/0"),
        (
            lambda t: t["cases"][1].update(overrides={"/seller/id/x": 1}),
            "/cases/1/overrides/~1seller~1id~1x",
            '/seller/id is "S", not an object or a list',
        ),
        (  # an override does not invent the request's shape: a typo is not a new member
            lambda t: t["cases"][1].update(overrides={"/selller/id": "S3"}),
            "/cases/1/overrides/~1selller~1id",
            "/ has no member 'selller'; expected one of its members (as_of, platform, product, seller)",
        ),
        (
            lambda t: t.update(overrides={"/seller/trademarks/0/status": "registered"}),
            "/overrides/~1seller~1trademarks~10~1status",
            "/seller has no member 'trademarks'",
        ),
        (
            lambda t: t["cases"][0].update(
                merge={"seller": {"violations": [{"kind": "trademark"}]}}, overrides={"/seller/violations/1": {}}
            ),
            "/cases/0/overrides/~1seller~1violations~11",
            "/seller/violations has no element '1'; expected an index from 0 to 0, or - to append",
        ),
        (lambda t: t["cases"][0].update(request={}), "/cases/0", "request"),
        (lambda t: t.update(expect={"outcome": "allow"}), "", "not allowed"),
        (lambda t: t.update(cases=[]), "/cases", "empty"),
    ],
)
def test_errors_in_a_table_point_at_the_case(tmp_path: Path, change: Any, pointer: str, message: str) -> None:
    table = copy.deepcopy(TABLE)
    change(table)
    path = _table_tree(tmp_path, table)
    with pytest.raises(LoadError) as info:
        load_cases(path)
    (problem,) = info.value.problems
    assert (problem.file, problem.pointer) == (str(path), pointer), problem
    assert message in problem.message
    assert str(info.value).startswith("1 problem in the test cases; nothing was loaded")


def test_overrides_change_members_replace_and_append_elements(tmp_path: Path) -> None:
    table = copy.deepcopy(TABLE)
    table["cases"] = [
        {
            "name": "changed",
            "merge": {"seller": {"violations": [{"kind": "trademark"}]}},
            "overrides": {
                "/seller/violations/0/kind": "counterfeit",  # a member of an element
                "/seller/violations/-": {"kind": "patent"},  # appended
                "/seller/metrics": None,  # a member set to null
                "/product/title": "New",  # a member added to an object that exists
                "/seller/a~1b": 1,  # an escaped member name
            },
            "expect": {"outcome": "allow"},
        }
    ]
    (case,) = load_cases(_table_tree(tmp_path, table))
    assert case.request["seller"]["violations"] == [{"kind": "counterfeit"}, {"kind": "patent"}]
    assert case.request["seller"]["metrics"] is None and case.request["seller"]["a/b"] == 1
    assert case.request["product"]["title"] == "New"


def test_request_files_resolve_from_the_case_or_the_tests_folder(tmp_path: Path) -> None:
    from policy_engine._tools.suite import load_case

    path = _table_tree(tmp_path, {**TABLE, "request": None}, "refunds/table.json")
    tests = path.parent.parent
    (tests / "requests").mkdir()
    (tests / "requests" / "base.json").write_text(json.dumps(BASE_REQUEST), encoding="utf-8")
    table = {k: v for k, v in TABLE.items() if k != "request"}
    path.write_text(json.dumps({**table, "request_file": "requests/base.json"}), encoding="utf-8")
    assert [c.request["seller"]["id"] for c in load_cases(path)] == ["S", "S", "S", "S2"]
    # beside the case first: a file next to it wins over the tests folder's
    (path.parent / "requests").mkdir()
    (path.parent / "requests" / "base.json").write_text(json.dumps({**BASE_REQUEST, "seller": {"id": "T"}}))
    assert load_cases(path)[0].request["seller"] == {"id": "T"}
    # the requests/ folder holds requests, not cases
    assert discover_cases([tmp_path]) == [path]
    single = tests / "one.json"
    single.write_text(json.dumps({"name": "one", "request_file": "nowhere.json", "expect": {"outcome": "allow"}}))
    with pytest.raises(LoadError) as info:
        load_case(single)
    (problem,) = info.value.problems
    assert problem.pointer == "/request_file" and "no request file 'nowhere.json'; looked for" in problem.message
    with pytest.raises(LoadError, match="a table of cases; expected one case"):
        load_case(path)


def test_pytest_collects_each_case_of_a_table(tmp_path: Path) -> None:
    import subprocess
    import sys

    _table_tree(tmp_path / "policies", TABLE)
    (tmp_path / "pytest.ini").write_text("[pytest]\npolicy_engine_policies = policies\n", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider", "policies"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert {line for line in run.stdout.splitlines() if "::" in line} == {
        f"policies/testplatform/tests/refunds.json::{name}"
        for name in ("base-allowed", "high-refunds", "suspended-without-metrics", "base-again")
    }


def test_the_documented_tables_are_valid_test_cases() -> None:
    import re

    from policy_engine._language.schemas import validate

    blocks = []
    for page in ("language.md", "tutorial.md"):
        text = (ROOT / "docs" / page).read_text(encoding="utf-8")
        for block in re.findall(r"^```json\n(.*?)^```", text, re.S | re.M):
            try:
                doc = json.loads(block)
            except json.JSONDecodeError:
                continue
            if isinstance(doc, dict) and "cases" in doc:
                blocks.append(doc)
                assert validate("testcase", doc, page) == [], page
    assert len(blocks) == 2


def test_lint_finds_a_negative_number_that_repeats_named_data(tmp_path: Path) -> None:
    doc = copy.deepcopy(BASE)
    doc["data"] = {**doc["data"], "floor": -5}
    doc["rules"][0]["message"] = {
        "en": "The score is below -5 (dates such as 2024-01-01 and ranges such as 5-10 are not numbers here).",
        "zh": "分数低于 {data.floor}。",
    }
    assert _findings(tmp_path, doc, "PE111") == [
        "PE111 /rules/0/message/en -5 is the named data 'floor'; write {data.floor} so that the text follows the value"
    ]
