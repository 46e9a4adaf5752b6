"""Loading and checking policies: every problem reported with file, JSON pointer and what was expected."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from policy_engine import Engine, LoadError, load_documents
from policy_engine._language.reference import evaluate
from policy_engine._pipeline import load as load_module
from policy_engine._pipeline.check import check_policies
from policy_engine._pipeline.load import parse_policy
from policy_engine._pipeline.request import normalize_request

BASE: dict[str, Any] = {
    "id": "test.policy",
    "version": "1.0.0",
    "platform": "testplatform",
    "effective_from": "2020-01-01",
    "title": "Test",
    "sources": [{"document": "test", "provenance": "illustrative"}],
    "data": {"closed": ["shoes"]},
    "rules": [
        {
            "id": "qualified",
            "when": [{"field": "seller.entity_type", "equals": "enterprise"}],
            "derive": "ok",
        },
        {
            "id": "deny-closed",
            "when": [{"field": "product.category", "under": {"ref": "closed"}}, {"not": {"derived": "ok"}}],
            "outcome": "deny",
            "message": {"en": "No {product.category}.", "zh": "不行 {product.category}。"},
        },
    ],
}


def write(tmp_path: Path, name: str, doc: Any) -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


def problems_of(tmp_path: Path) -> list[str]:
    """`file:pointer: message` of each problem of loading the folder (their codes are checked in test_problems)."""
    with pytest.raises(LoadError) as info:
        load_documents([tmp_path])
    return [f"{p.where}: {p.message}" for p in info.value.problems]


def test_valid_document_loads(tmp_path: Path) -> None:
    write(tmp_path, "p.json", BASE)
    (policy,) = load_documents([tmp_path])
    assert policy.key == "test.policy@1.0.0"
    assert policy.digest.startswith("sha256:")


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    write(tmp_path, "bad.json", '{"id": "x",\n  "version": }')
    (msg,) = problems_of(tmp_path)
    assert "bad.json" in msg and "line 2" in msg and "column" in msg


def test_schema_violations_point_at_the_field(tmp_path: Path) -> None:
    doc = copy.deepcopy(BASE)
    doc["rules"][0]["when"][0] = {"field": "seller.entity_type", "equal": "enterprise"}
    doc["effective_from"] = "2020-13-01"
    write(tmp_path, "p.json", doc)
    msgs = problems_of(tmp_path)
    assert any("/effective_from" in m and "date" in m for m in msgs)
    assert any("/rules/0/when/0" in m for m in msgs)


def test_unknown_field_lists_the_alternatives(tmp_path: Path) -> None:
    doc = copy.deepcopy(BASE)
    doc["rules"][0]["when"][0]["field"] = "seller.entitytype"
    write(tmp_path, "p.json", doc)
    (msg,) = problems_of(tmp_path)
    assert "/rules/0/when/0/field" in msg and "seller.entity_type" in msg


_COUNT_OPS = "expected one of: equals, not_equals, less_than, at_most, greater_than, at_least"


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"count": "seller.categories", "at_lest": 3}, "/rules/0/when/0: unknown field 'at_lest'; expected one of: "),
        ({"count": "seller.categories", "at_least": 3, "wher": []}, "/rules/0/when/0: unknown field 'wher'"),
        (
            {"count": "seller.violations", "at_least": 2, "merge": {"field": "item.occurred_on", "within": 3}},
            "/rules/0/when/0/merge: unknown field 'within'; expected one of: field, within_days",
        ),
        (
            {"count": "seller.categories", "at_least": 2, "where": [{"field": "item", "equls": "shoes"}]},
            "/rules/0/when/0/where/0: unknown field 'equls'",
        ),
        (
            {"count": "seller.categories"},
            f"/rules/0/when/0: a count takes exactly one operator, found none; {_COUNT_OPS}",
        ),
        (
            {"count": "seller.categories", "where": [{"field": "item", "equals": "shoes"}]},
            f"/rules/0/when/0: a count takes exactly one operator, found none; {_COUNT_OPS}",
        ),
        (
            {"count": "seller.categories", "at_least": 3, "equals": 2},
            f"/rules/0/when/0: a count takes exactly one operator, found 'at_least', 'equals'; {_COUNT_OPS}",
        ),
        (
            {
                "count": "seller.categories",
                "distinct": "main_category",
                "at_least": 2,
                "where": [{"field": "item", "equals": "x"}],
            },
            "/rules/0/when/0: `distinct` does not combine with `where` or `merge` in a count",
        ),
        (
            {"some": "seller.categories", "wher": []},
            "/rules/0/when/0: unknown field 'wher'; expected one of: some, where",
        ),
        (
            {"field": "seller.id", "equals": "x", "in": ["y"]},
            "/rules/0/when/0: a comparison takes exactly one operator, found 'equals', 'in'; expected one of: equals,",
        ),
    ],
)
def test_a_wrong_key_inside_a_condition_is_named(tmp_path: Path, condition: dict[str, Any], expected: str) -> None:
    doc = copy.deepcopy(BASE)
    doc["rules"][0]["when"] = [condition]
    write(tmp_path, "p.json", doc)
    (msg,) = problems_of(tmp_path)
    assert expected in msg, msg
    assert "unknown fields 'count'" not in msg and "unknown field 'count'" not in msg


def test_every_problem_of_every_file_is_reported(tmp_path: Path) -> None:
    a = copy.deepcopy(BASE)
    a["rules"][1]["when"][0]["under"] = {"ref": "missing"}
    b = copy.deepcopy(BASE)
    b["id"] = "test.other"
    b["rules"][1]["when"][1] = {"not": {"derived": "nobody-derives-this"}}
    write(tmp_path, "a.json", a)
    write(tmp_path, "b.json", b)
    msgs = problems_of(tmp_path)
    assert any("a.json" in m and "missing" in m for m in msgs)
    assert any("b.json" in m and "nobody-derives-this" in m for m in msgs)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["rules"].append(dict(d["rules"][0])), "already used"),
        (lambda d: d["rules"][0].update(when=[{"not": {"derived": "ok"}}]), "cycle through negation"),
        (lambda d: d["rules"][1]["message"].update(en="Hi {seller.nothing}"), "placeholder"),
        (
            lambda d: d["rules"][0]["when"].append({"field": "product.category", "at_least": 3}),
            "number or date",
        ),
        (
            lambda d: d["rules"][0]["when"].append({"field": "seller.metrics.refund_rate", "equals": "high"}),
            "number",
        ),
        (lambda d: d.update(effective_until="2019-01-01"), "after effective_from"),
        (lambda d: d["rules"][0]["when"].append({"field": "item.brand", "equals": "x"}), "inside `some`"),
        (lambda d: d["rules"][0].update(source_refs=[3]), "source 3 does not exist"),
        (lambda d: d["rules"][0].update(outcome="deny"), "either derives a conclusion"),
        (lambda d: d["rules"][1].pop("message"), "needs a `message`"),
        (
            lambda d: d["rules"][0]["when"].append({"field": "product.attributes.size", "in": ["L", 42]}),
            "all be strings",
        ),
        (
            lambda d: d["rules"][0]["when"].append(
                {"some": "seller.trademarks", "where": [{"field": "item.classes", "includes": "9"}]}
            ),
            "number values",
        ),
        (lambda d: d.update(platform="*", default_outcome="review"), "cannot set the default outcome"),
    ],
)
def test_semantic_errors(tmp_path: Path, mutate: Any, expected: str) -> None:
    doc = copy.deepcopy(BASE)
    mutate(doc)
    write(tmp_path, "p.json", doc)
    msgs = problems_of(tmp_path)
    assert any(expected in m and "p.json:/" in m for m in msgs), msgs


def test_overlapping_versions_are_an_error(tmp_path: Path) -> None:
    v2 = copy.deepcopy(BASE)
    v2["version"] = "1.1.0"
    v2["effective_from"] = "2021-01-01"
    write(tmp_path, "v1.json", BASE)
    write(tmp_path, "v2.json", v2)
    (msg,) = problems_of(tmp_path)
    assert "overlaps" in msg and "v2.json:/effective_from" in msg


def test_consecutive_versions_load_and_switch_on_the_date(tmp_path: Path) -> None:
    v1 = dict(copy.deepcopy(BASE), effective_until="2021-01-01")
    v2 = dict(copy.deepcopy(BASE), version="1.1.0", effective_from="2021-01-01")
    v2["rules"][1]["outcome"] = "review"
    write(tmp_path, "v1.json", v1)
    write(tmp_path, "v2.json", v2)
    engine = Engine.from_directory(tmp_path)
    req = {"platform": "testplatform", "seller": {}, "product": {"category": "shoes/boots"}}
    assert engine.decide({**req, "as_of": "2020-12-31"}).rules == ("test.policy@1.0.0#deny-closed",)
    assert engine.decide({**req, "as_of": "2021-01-01"}).rules == ("test.policy@1.1.0#deny-closed",)
    assert engine.decide({**req, "as_of": "2021-01-01"}).outcome == "review"
    engine.close()


def test_disagreeing_platform_defaults(tmp_path: Path) -> None:
    a = dict(copy.deepcopy(BASE), default_outcome="review")
    b = dict(copy.deepcopy(BASE), id="test.b", default_outcome="allow")
    write(tmp_path, "a.json", a)
    write(tmp_path, "b.json", b)
    assert any("disagrees" in m for m in problems_of(tmp_path))


def test_a_bad_policy_never_replaces_a_good_engine(tmp_path: Path) -> None:
    write(tmp_path, "p.json", BASE)
    engine = Engine.from_directory(tmp_path)
    bad = copy.deepcopy(BASE)
    bad["rules"][0]["when"] = []
    write(tmp_path, "p.json", bad)
    with pytest.raises(LoadError):
        Engine.from_directory(tmp_path)
    req = {"platform": "testplatform", "as_of": "2024-01-01", "seller": {}, "product": {"category": "shoes"}}
    assert engine.decide(req).outcome == "deny"
    engine.close()


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    assert any("no policy files" in m for m in problems_of(tmp_path))


def test_shipped_policies_load() -> None:
    engine = Engine.default()
    assert {"aliexpress", "dhgate"} <= engine.platforms
    engine.close()


def nested(depth: int) -> Any:
    """A policy-like object whose `data` holds lists nested `depth` levels below it."""
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return dict(copy.deepcopy(BASE), data={"closed": ["shoes"], "deep": value})


@pytest.mark.parametrize("depth", [70, 5000])
def test_deep_nesting_is_a_problem_with_a_pointer(tmp_path: Path, depth: int) -> None:
    # 5000 levels make the JSON parser itself fail (RecursionError); 70 parse but exceed the bound
    text = json.dumps(nested(1)).replace('["x"]', "[" * depth + '"x"' + "]" * depth)
    write(tmp_path, "deep.json", text)
    (msg,) = problems_of(tmp_path)
    pointer = "/data/deep" + "/0" * 62
    assert msg == f"{tmp_path / 'deep.json'}:{pointer}: nested deeper than 64 levels; expected at most 64"


def test_nesting_up_to_the_bound_is_accepted() -> None:
    from policy_engine._pipeline.load import MAX_DEPTH, check_depth, parse_json

    value: Any = 1
    for _ in range(MAX_DEPTH):
        value = {"k": value}
    assert check_depth(value, "f") == []
    assert parse_json(json.dumps(value), "f") == (value, [])
    (problem,) = check_depth({"wrap": value}, "f")
    assert problem.pointer == "/wrap" + "/k" * (MAX_DEPTH - 1) and "at most 64" in problem.message


def test_deep_text_pointer_escapes_keys_and_counts_indices() -> None:
    from policy_engine._pipeline.load import parse_json

    text = '{"a/b": [1, "s,]", {"c~": ' + "[" * 3000 + "]" * 3000 + "}]}"
    value, (problem,) = parse_json(text, "f")
    assert value is None and problem.pointer == "/a~1b/2/c~0" + "/0" * 61


def test_deep_dict_given_to_parse_policy_is_a_problem_not_a_crash() -> None:
    from policy_engine._pipeline.load import parse_policy

    policy, problems = parse_policy(nested(3000), "mem")
    assert policy is None and [p.code for p in problems] == ["PE004"]


def test_invalid_utf8_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(b'{"id": "x",\n  "title": "caf\xe9"}')
    (msg,) = problems_of(tmp_path)
    assert msg == f"{path}:/: not valid UTF-8 at line 2, column 16 (byte 0xe9); expected UTF-8 text"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("p.JSON", "the extension '.JSON' is not loaded"),
        ("tests/p.json", "a policy document in the test case folder"),
        ("taxonomy.json", "a policy document named taxonomy.json"),
        ("invariants.json", "a policy document named invariants.json"),
        ("p.json.txt", "a policy document in a file not named *.json"),
    ],
)
def test_a_policy_that_would_be_skipped_is_an_error(tmp_path: Path, name: str, expected: str) -> None:
    write(tmp_path, "good.json", BASE)
    (tmp_path / name).parent.mkdir(exist_ok=True)
    write(tmp_path, name, dict(copy.deepcopy(BASE), id="test.hidden"))
    (msg,) = problems_of(tmp_path)
    assert msg.startswith(f"{tmp_path / name}:/: {expected}")


def test_known_non_policy_files_are_listed_not_loaded(tmp_path: Path) -> None:
    from policy_engine._pipeline.load import skipped_files

    write(tmp_path, "good.json", BASE)
    write(tmp_path, "taxonomy.json", {"platform": "testplatform", "categories": ["shoes"]})
    write(tmp_path, "notes.md", "# notes")
    (tmp_path / "tests").mkdir()
    write(tmp_path, "tests/case.json", {"name": "c", "request": {}, "expect": {"outcome": "deny"}})
    assert [p.id for p in load_documents([tmp_path])] == ["test.policy"]
    skipped = [(s.path.relative_to(tmp_path).as_posix(), s.reason, s.problem) for s in skipped_files([tmp_path])]
    assert skipped == [
        ("notes.md", "not a .json file", None),
        ("taxonomy.json", "a taxonomy (read by lint), not a policy", None),
        ("tests", "test cases (1 file), not policies", None),
    ]


@pytest.mark.parametrize(
    ("text", "pointer", "message"),
    [
        ('{"a": [1, NaN]}', "/a/1", "NaN is not JSON; expected a finite number"),
        ('{"a": -Infinity}', "/a", "-Infinity is not JSON; expected a finite number"),
        ('[{"x": 1e999}]', "/0/x", "the number 1e999 is too large; expected a finite number"),
        ('{"n": ' + "9" * 5000 + "}", "/n", "the number has 5000 digits; expected at most 4300"),
        ('{"a": {"b": 1, "c": 2, "b": 3}}', "/a/b", "the key 'b' appears twice; expected each key once"),
        (
            '{"a": ["ok", "\\ud800"]}',
            "/a/1",
            "a lone UTF-16 surrogate escape in a string; expected text that UTF-8 can hold",
        ),
        ('{"\\udc00": 1}', "", "a lone UTF-16 surrogate escape in a string; expected text that UTF-8 can hold"),
    ],
)
def test_json_the_engine_cannot_read_safely_is_a_problem(text: str, pointer: str, message: str) -> None:
    from policy_engine._pipeline.load import parse_json

    value, problems = parse_json(text, "f")
    assert value is None and [(p.file, p.pointer, p.message) for p in problems] == [("f", pointer, message)]


def test_surrogate_pairs_and_ordinary_numbers_are_read() -> None:
    from policy_engine._pipeline.load import parse_json

    assert parse_json('{"e": "\\ud83d\\ude00", "n": [1.5, -2e10, 12]}', "f") == ({"e": "😀", "n": [1.5, -2e10, 12]}, [])


def test_a_repeated_key_in_a_policy_is_a_problem(tmp_path: Path) -> None:
    text = json.dumps(BASE).replace('"rules": [', '"rules": [], "rules": [', 1)
    write(tmp_path, "p.json", text)
    assert problems_of(tmp_path) == [
        f"{tmp_path / 'p.json'}:/rules: the key 'rules' appears twice; expected each key once"
    ]


def test_the_first_problem_in_document_order_is_reported() -> None:
    from policy_engine._pipeline.load import check_depth, parse_json

    deep: Any = 1
    for _ in range(70):
        deep = [deep]
    (problem,) = check_depth({"a": 1, "b": [2, deep], "c": deep}, "f")
    assert problem.pointer == "/b/1" + "/0" * 62  # the 65th level
    _, (problem,) = parse_json('{"a": "ok", "b": ["\\udc00"], "c": "\\ud800"}', "f")
    assert problem.pointer == "/b/0"


# --- counts of distinct main categories ------------------------------------------------------------------------


def _main_count_doc(count: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc["rules"][1]["when"] = [count]
    return doc


def load_documents_from(doc: dict[str, Any]) -> list[Any]:
    p, problems = parse_policy(doc)
    assert p is not None and not problems, problems
    assert check_policies([p]) == []
    return [p]


def agrees_with_reference(engine: Engine, request: dict[str, Any]) -> str:
    decision = engine.decide(request)
    ref = evaluate(engine.policies, normalize_request(request))
    assert (decision.outcome, decision.rules, decision.derived) == (ref.outcome, ref.rules, ref.derived)
    assert decision.error is None
    return decision.outcome


MAIN_COUNT = {"count": "seller.categories", "distinct": "main_category", "including": "product.category"}


@pytest.mark.parametrize(
    ("categories", "category", "outcome"),
    [
        (["shoes/sneakers", "shoes/boots", "shoes/sandals"], "bags/handbags", "allow"),  # shoes and bags
        (["shoes/sneakers", "bags/handbags", "toys/dolls"], "bags/backpacks", "allow"),  # still three
        (["shoes/sneakers", "bags/handbags", "toys/dolls"], "home/kitchen", "deny"),  # a fourth
        (["shoes", "bags", "toys", "home"], "shoes/boots", "deny"),  # already four
        ([], "shoes", "allow"),
    ],
)
def test_distinct_main_categories_with_the_product(categories: list[str], category: str, outcome: str) -> None:
    (policy,) = load_documents_from(_main_count_doc({**MAIN_COUNT, "greater_than": 3}))
    engine = Engine([policy])
    request = {
        "platform": "testplatform",
        "as_of": "2024-01-01",
        "seller": {"categories": categories},
        "product": {"category": category},
    }
    assert agrees_with_reference(engine, request) == outcome
    decision = engine.decide(request)
    if outcome == "deny":
        (step,) = decision.reasons[0].proof.steps
        assert step.kind == "count" and step.text.endswith(")") and "main categories" in step.text


def test_distinct_main_categories_without_including() -> None:
    count = {"count": "seller.categories", "distinct": "main_category", "equals": 1}
    (policy,) = load_documents_from(_main_count_doc(count))
    engine = Engine([policy])
    request = {"platform": "testplatform", "as_of": "2024-01-01", "product": {"category": "toys"}}
    same = {**request, "seller": {"categories": ["shoes/boots", "shoes/sneakers"]}}
    assert agrees_with_reference(engine, same) == "deny"
    assert agrees_with_reference(engine, {**request, "seller": {"categories": ["shoes", "bags"]}}) == "allow"


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (
            {"count": "seller.trademarks", "distinct": "main_category", "at_least": 2},
            "/rules/1/when/0/distinct: `distinct` counts the main categories of a list of categories",
        ),
        (
            {**MAIN_COUNT, "including": "product.brand", "at_least": 2},
            "/rules/1/when/0/including: `including` needs a category field; product.brand is not one",
        ),
    ],
)
def test_distinct_count_needs_categories(tmp_path: Path, count: dict[str, Any], expected: str) -> None:
    write(tmp_path, "p.json", _main_count_doc(count))
    msgs = problems_of(tmp_path)
    assert any(expected in m for m in msgs), msgs


@pytest.mark.parametrize(
    "count",
    [
        {"count": "seller.categories", "including": "product.category", "at_least": 2},  # needs distinct
        {**MAIN_COUNT, "where": [{"field": "item", "under": "shoes"}], "at_least": 2},  # not with where
        {**MAIN_COUNT, "distinct": "elements", "at_least": 2},
    ],
)
def test_distinct_count_schema(tmp_path: Path, count: dict[str, Any]) -> None:
    write(tmp_path, "p.json", _main_count_doc(count))
    assert problems_of(tmp_path)


def test_the_policy_folders_are_searched_as_pathlib_would_list_them(tmp_path: Path) -> None:
    """The folders are walked with `os.walk` (pathlib's rglob costs a sixth of a `decide` run on the shipped
    tree): the same files, in the same order, as `sorted(root.rglob("*"))` keeping files, and the same policy
    files as `sorted(root.rglob("*.json"))` keeping files with a `.json` suffix outside `tests/` folders."""
    import os

    from policy_engine._pipeline.load import NON_POLICY_NAMES, discover

    root = tmp_path / "policies"
    for rel in [
        "a.json",
        "a-b.json",  # sorts before "a/..." as text, after it as paths
        "a/b.json",
        "a/tests/case.json",
        "a/tests/deeper/case.json",
        "tests.json",
        ".hidden.json",
        ".json",
        "x.JSON",
        "notes.md",
        "taxonomy.json",
        "dir.json/inner.json",
        "é/ü.json",
        "z/tests/x/tests/y.json",
    ]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("{}", encoding="utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "linked.json").write_text("{}", encoding="utf-8")
    os.symlink(outside / "linked.json", root / "file-link.json")
    os.symlink(outside, root / "folder-link")
    os.symlink(tmp_path / "missing.json", root / "broken.json")
    files = [f for f in sorted(root.rglob("*")) if f.is_file()]
    found, links = load_module._walk(root)
    assert [f for _, f in found] == files
    assert links == [(root / "broken.json", False), (root / "folder-link", True)]
    expected = [
        f
        for f in sorted(root.rglob("*.json"))
        if f.is_file()
        and f.suffix == ".json"
        and "tests" not in f.relative_to(root).parts[:-1]
        and f.name not in NON_POLICY_NAMES
    ]
    assert discover([root]) == expected
    assert root / "file-link.json" in expected and not any("folder-link" in str(f) for f in files)


def test_links_to_folders_and_to_nothing_are_listed_and_hide_no_policy(tmp_path: Path) -> None:
    """Links to folders are not followed: one that holds policies would silently drop their rules, so it
    is an error; a link to nothing where a policy file would be read is one too."""
    import os

    from policy_engine._pipeline.load import skipped_files

    root, elsewhere = tmp_path / "policies", tmp_path / "elsewhere"
    (root / "tests").mkdir(parents=True)
    write(root, "good.json", BASE)
    for name, content in (("policies/p.json", dict(copy.deepcopy(BASE), id="test.linked")), ("docs/a.json", {"x": 1})):
        (elsewhere / name).parent.mkdir(parents=True, exist_ok=True)
        (elsewhere / name).write_text(json.dumps(content), encoding="utf-8")
    os.symlink(elsewhere / "docs", root / "docs")
    os.symlink(tmp_path / "missing-case.json", root / "tests" / "case.json")
    assert [p.id for p in load_documents([root])] == ["test.policy"]  # neither link hides a policy
    os.symlink(elsewhere / "policies", root / "linked")
    os.symlink(tmp_path / "missing.json", root / "gone.json")
    skipped = {s.path.name: (s.reason, s.problem and s.problem.code) for s in skipped_files([root])}
    assert skipped["docs"] == ("a link to a folder (not followed)", None)
    assert skipped["linked"] == ("a link to a folder (not followed)", "PE006")
    assert skipped["gone.json"] == ("a link to nothing", "PE001")
    assert skipped["case.json"] == ("a link to nothing", None)
    with pytest.raises(LoadError) as raised:
        load_documents([root])
    assert sorted(Path(p.file).name for p in raised.value.problems) == ["gone.json", "linked"]


def test_named_data_that_is_neither_a_value_nor_a_list_of_them_says_so(tmp_path: Path) -> None:
    doc = json.loads(json.dumps(BASE))
    doc["data"] = {"empty": [], "table": {"a": 1}}
    write(tmp_path, "p.json", json.dumps(doc))
    expected = "expected text, a number, a boolean, or a non-empty list of them"
    assert problems_of(tmp_path) == [
        f"{tmp_path / 'p.json'}:/data/empty: [] is not named data: {expected}",
        f'{tmp_path / "p.json"}:/data/table: {{"a": 1}} is not named data: {expected}',
    ]


def test_a_folder_reached_twice_is_loaded_once(tmp_path: Path) -> None:
    """A folder given twice, or beside a folder inside it, loads each file once: not a version "also
    defined" in its own file and overlapping itself. Two files with the same document are still two."""
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "p.json", BASE)
    (tmp_path / "sub" / "tests").mkdir()
    write(tmp_path / "sub" / "tests", "case.json", {"request": {}})
    for paths in ([tmp_path, tmp_path], [tmp_path, tmp_path / "sub"], [tmp_path / "sub" / "p.json", tmp_path]):
        (policy,) = load_documents(paths)
        assert policy.key == "test.policy@1.0.0"
        assert [s.path for s in load_module.skipped_files(paths)] == [tmp_path / "sub" / "tests"]
    write(tmp_path, "copy.json", BASE)
    assert any("also defined in" in p for p in problems_of(tmp_path))


@pytest.mark.parametrize("given", ["policies", Path("policies"), b"policies"])
def test_one_path_where_a_list_is_expected_is_a_type_error(given: Any) -> None:
    """A text is not read letter by letter (`p`, `o`, ... or, from `/`, the whole disk)."""
    from policy_engine.parallel import WorkerPool

    with pytest.raises(TypeError, match="expected a list of folders or files"):
        load_documents(given)
    with pytest.raises(TypeError, match="expected a list of folders or files"):
        WorkerPool(given, workers=1)
    with pytest.raises(TypeError, match="expected folders or files"):
        load_documents([3])  # type: ignore[list-item]


def test_paths_reaching_files_twice_never_hide_a_problem(tmp_path: Path) -> None:
    """Whatever the order of the paths and however they are given (a generator too), a broken link where a
    policy would be loaded, a path through a missing folder, and a link to a folder of policies that are
    not loaded otherwise stay problems; a link to a folder whose policies are loaded from another path
    given is none."""
    a = tmp_path / "a"
    (a / "tests").mkdir(parents=True)
    write(a, "p.json", BASE)
    (a / "tests" / "p.json").symlink_to(tmp_path / "nowhere.json")  # seen from a/tests: a policy's place
    for paths in ([a, a / "tests"], [a / "tests", a]):
        with pytest.raises(LoadError, match="a link to a file that does not exist"):
            load_documents(paths)
    (a / "tests" / "p.json").unlink()
    for paths in ([a / "p.json", tmp_path / "missing" / ".." / "a" / "p.json"], [a, a / "p.json" / ".." / "p.json"]):
        for ordered in (paths, paths[::-1]):
            with pytest.raises(LoadError, match="cannot read"):
                load_documents(ordered)
    b = tmp_path / "b"
    b.mkdir()
    write(b, "q.json", {**BASE, "id": "test.other"})
    (a / "linked").symlink_to(b, target_is_directory=True)
    with pytest.raises(LoadError, match="links to folders are not followed"):
        load_documents(p for p in [a])  # an iterator: every check still sees the paths
    assert sorted(p.id for p in load_documents(iter([a, b]))) == ["test.other", "test.policy"]
    assert sorted(p.id for p in load_documents([b, a])) == ["test.other", "test.policy"]


def test_cases_and_invariants_reached_twice_run_once(tmp_path: Path) -> None:
    from policy_engine._tools.invariants import discover_invariants
    from policy_engine._tools.suite import discover_cases

    (tmp_path / "p" / "tests").mkdir(parents=True)
    write(tmp_path / "p" / "tests", "case.json", {"request": {}})
    write(tmp_path / "p", "invariants.json", {})
    paths = [tmp_path, tmp_path / "p", tmp_path / "p" / "tests" / "case.json", tmp_path / "." / "p"]
    assert discover_cases(paths) == [tmp_path / "p" / "tests" / "case.json"]
    assert discover_invariants(paths) == [tmp_path / "p" / "invariants.json"]
