"""The documentation stays in step with the schemas, and its policy examples stay valid."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from policy_engine import Engine
from policy_engine._pipeline.check import check_policies
from policy_engine._pipeline.compile import compile_policies
from policy_engine._pipeline.load import COMPARISON_OPS, parse_policy
from policy_engine._pipeline.request import normalize_request
from policy_engine.decision import policy_set_digest, request_digest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SCHEMAS = ROOT / "schemas"
LANGUAGE = DOCS / "language.md"

_JSON_BLOCK = re.compile(r"^[ \t]*```json[ \t]*\n(.*?)^[ \t]*```", re.S | re.M)


def _schema(name: str) -> dict[str, Any]:
    with open(SCHEMAS / f"{name}.json", encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


def _property_names(node: Any) -> set[str]:
    """Every name defined under a `properties` keyword, anywhere in the schema (including `$defs`)."""
    names: set[str] = set()
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict):
            names.update(props)
        for value in node.values():
            names |= _property_names(value)
    elif isinstance(node, list):
        for value in node:
            names |= _property_names(value)
    return names


def _policy_blocks(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line, document) for every ```json block of a page that is a whole policy document."""
    text = path.read_text(encoding="utf-8")
    found = []
    for match in _JSON_BLOCK.finditer(text):
        try:
            doc = json.loads(match.group(1))
        except json.JSONDecodeError:
            continue  # a fragment, such as a single rule or a `data` member
        if isinstance(doc, dict) and {"id", "version", "rules"} <= doc.keys():
            found.append((text.count("\n", 0, match.start()) + 1, doc))
    return found


@pytest.fixture(scope="module")
def language() -> str:
    return LANGUAGE.read_text(encoding="utf-8")


@pytest.mark.parametrize("schema", ["policy", "request"])
def test_every_schema_property_is_documented(language: str, schema: str) -> None:
    names = _property_names(_schema(schema))
    assert names, f"no properties found in schemas/{schema}.json"
    missing = sorted(n for n in names if f"`{n}`" not in language)
    assert not missing, f"docs/language.md does not mention these {schema} schema properties in backticks: {missing}"


def test_every_comparison_operator_is_documented(language: str) -> None:
    comparison = _schema("policy")["$defs"]["comparison"]["properties"]
    operators = set(comparison) - {"field"}
    assert operators == set(COMPARISON_OPS), "the schema and the loader disagree on the comparison operators"
    missing = sorted(op for op in operators if f"`{op}`" not in language)
    assert not missing, f"docs/language.md does not document these operators: {missing}"


def test_every_count_operator_is_documented(language: str) -> None:
    operators = set(_schema("policy")["$defs"]["count"]["properties"]) - {"count"}
    missing = sorted(op for op in operators if f"`{op}`" not in language)
    assert not missing, f"docs/language.md does not document these count operators: {missing}"


def test_every_list_path_and_its_element_fields_are_documented(language: str) -> None:
    from policy_engine._language.vocab import LISTS

    missing = []
    for path, spec in LISTS.items():
        if f"`{path}`" not in language:
            missing.append(path)
        missing.extend(f"item.{f}" for f in spec.fields if f and f"`item.{f}`" not in language)
    assert not missing, f"docs/language.md does not document: {missing}"


def test_language_reference_has_whole_policy_examples() -> None:
    assert _policy_blocks(LANGUAGE), "docs/language.md has no complete policy document in a ```json block"


@pytest.mark.parametrize("page", ["language.md", "tutorial.md"])
def test_policy_documents_in_the_docs_are_valid(page: str) -> None:
    path = DOCS / page
    assert _policy_blocks(path), f"docs/{page} has no policy document to check"
    for line, doc in _policy_blocks(path):
        where = f"docs/{page}, block at line {line}"
        policy, problems = parse_policy(doc, where)
        assert problems == [], f"{where}: " + "; ".join(map(str, problems))
        assert policy is not None
        # The cross-document checks and the compiler refuse more than the schema: keep the examples
        # loadable and compilable too (both are pure Python and fast).
        assert check_policies([policy]) == [], where
        platform = policy.platform if policy.platform != "*" else "example"
        compile_policies(platform, [policy])


def test_platform_pages_are_in_step_with_the_policies() -> None:
    from policy_engine._pipeline import load_documents
    from policy_engine._tools.docgen import platform_page

    root = Path(__file__).resolve().parent.parent
    policies = load_documents([root / "policies"])
    for platform in {p.platform for p in policies}:
        page = root / "docs" / "platforms" / ("common.md" if platform == "*" else f"{platform}.md")
        assert page.read_text(encoding="utf-8") == platform_page(platform, policies, root), (
            f"{page} is out of date: run policy-engine docs"
        )


def test_test_case_and_taxonomy_fields_are_documented() -> None:
    import json as _json

    root = Path(__file__).resolve().parent.parent
    text = (root / "docs" / "language.md").read_text(encoding="utf-8")
    for name in ("testcase", "taxonomy", "invariants"):
        schema = _json.loads((root / "schemas" / f"{name}.json").read_text(encoding="utf-8"))
        names = set(schema["properties"]) | set(schema["properties"].get("expect", {}).get("properties", {}))
        names |= set(schema.get("$defs", {}).get("invariant", {}).get("properties", {}))
        missing = sorted(n for n in names - {"$schema"} if f"`{n}`" not in text)
        assert missing == [], f"{name} fields not documented in docs/language.md: {missing}"
    assert "### Lint codes" in text


def test_digests_quoted_in_the_docs_are_those_of_the_shipped_policies_and_examples(engine: Engine) -> None:
    """A receipt shown in the README or a docs page names a policy set in force for some platform and period
    of the shipped policies, and a request digest one of the shipped example requests (as decided)."""
    sets = {
        policy_set_digest(p.digest for p in engine.in_force(platform, day))
        for platform in engine.platforms
        for day in engine.windows(platform)
    }
    requests = set()
    for path in sorted((ROOT / "examples").glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(raw, dict) and "platform" in raw:
            requests.add(request_digest(normalize_request(raw).body))
    pages = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    quoted_sets = quoted_requests = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for digest in re.findall(r'"policy_set_digest": "(sha256:[0-9a-f]{64})"', text):
            assert digest in sets, f"{page.name}: policy set {digest} is not one of the shipped policies"
            quoted_sets += 1
        for digest in re.findall(r'"request_digest": "(sha256:[0-9a-f]{64})"|request (sha256:[0-9a-f]{64})', text):
            found = digest[0] or digest[1]
            assert found in requests, f"{page.name}: request {found} is not one of the shipped examples"
            quoted_requests += 1
    assert quoted_sets >= 2 and quoted_requests >= 3


def _raise_refund_limit(path: Path) -> None:
    """The change of the README's examples: DHgate's cycling refund-rate limit from 0.05 to 0.2."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["data"]["max_refund_rate"] == 0.05
    doc["data"]["max_refund_rate"] = 0.2
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")


def _main(argv: list[str]) -> tuple[int, str]:
    """The command line run in this process: its exit code and what it printed."""
    import io

    from policy_engine.cli import main

    out = io.StringIO()
    return main(argv, out, io.StringIO()), out.getvalue()


def _readme_session(command: str) -> tuple[list[str], str, int]:
    """The README's session that runs `policy-engine COMMAND...`: its arguments, its output and its exit code."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pattern = r"```text\n\$ policy-engine (" + re.escape(command) + r"[^\n]*)\n(.*?)\$ echo \$\?\n(\d+)\n```"
    found = re.search(pattern, readme, re.S)
    assert found, f"the README's example of {command}"
    return found.group(1).split(), found.group(2), int(found.group(3))


def test_the_readme_diff_example_is_what_the_command_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's `diff` session, replayed: a git repository of the shipped policies with the refund-rate limit
    raised in the working tree (dhgate and the policies of every platform: the others are not searched)."""
    import shutil
    import subprocess

    argv, expected, code = _readme_session("diff git:HEAD policies")
    repo = tmp_path / "repo"
    for folder in ("dhgate", "common"):
        shutil.copytree(ROOT / "policies" / folder, repo / "policies" / folder)
    for args in (
        ["init", "-q"],
        ["add", "policies"],
        ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "p"],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    _raise_refund_limit(repo / "policies" / "dhgate" / "cycling-admission.json")
    monkeypatch.chdir(repo)
    assert _main(argv) == (code, expected)


def _sessions(page: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The files a page asks to save (`Save as \\`name.json\\``: the JSON block that follows) and every command
    of its console blocks with the output the page shows."""
    files: dict[str, str] = {}
    commands: list[tuple[str, str]] = []
    save_as = None
    lines = page.split("\n")
    i = 0
    while i < len(lines):
        named = re.search(r"[Ss]ave as `([^`]+\.json)`", lines[i])
        save_as = named.group(1) if named else save_as
        fence = lines[i].strip()
        if fence in ("```json", "```console") and (fence == "```console" or save_as):
            end = lines.index("```", i + 1)
            block = lines[i + 1 : end]
            if fence == "```json":
                files[save_as] = "\n".join(block) + "\n"  # type: ignore[index]
                save_as = None
            else:
                starts = [k for k, line in enumerate(block) if line.startswith("$ ")] + [len(block)]
                commands += [(block[a][2:], "\n".join(block[a + 1 : b])) for a, b in itertools.pairwise(starts)]
            i = end
        i += 1
    return files, commands


@pytest.mark.usefixtures("shipped_cli")
def test_the_worked_examples_print_what_the_page_shows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import shlex
    import shutil

    from policy_engine.cli import main

    files, commands = _sessions((DOCS / "examples.md").read_text(encoding="utf-8"))
    assert len(files) >= 5 and len(commands) >= 10
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for command, shown in commands:
        argv = shlex.split(command)
        if argv[0] == "cat":
            printed = (tmp_path / argv[1]).read_text(encoding="utf-8")
        else:
            assert argv[0] == "policy-engine", command
            out = io.StringIO()
            main(argv[1:], out, io.StringIO())
            printed = out.getvalue()
        assert printed.rstrip("\n") == shown, command


def test_the_readme_replay_example_is_what_the_command_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    argv, expected, code = _readme_session("replay examples/cycling-catalog.jsonl")
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    shutil.copytree(ROOT / "policies", tmp_path / "new-policies")
    (tmp_path / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "cycling-catalog.jsonl", tmp_path / "examples")
    _raise_refund_limit(tmp_path / "new-policies" / "dhgate" / "cycling-admission-2.0.0.json")
    monkeypatch.chdir(tmp_path)
    assert _main(argv) == (code, expected)
