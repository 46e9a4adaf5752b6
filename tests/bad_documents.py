"""Bad policy documents and the problems loading and compiling them gives, for tests/test_load_problems.py.

`all_problems()` loads and compiles each case and returns its problems as plain data (file names
relative to the case's folder). `tests/load_problems.json` holds what it returned before loading and
compiling were made faster; the test holds every later version to exactly the same problems.
"""

from __future__ import annotations

import copy
import json
import sys
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench import synthetic_policy  # noqa: E402


def _base(n: int = 60) -> dict[str, Any]:
    return synthetic_policy("revoked", n)


def _nest(depth: int) -> dict[str, Any]:
    cond: dict[str, Any] = {"field": "product.brand", "exists": True}
    for _ in range(depth):
        cond = {"not": cond}
    return cond


def _with(mutate: Callable[[dict[str, Any]], None], n: int = 60) -> dict[str, Any]:
    doc = _base(n)
    mutate(doc)
    return doc


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def _too_many_alternatives(doc: dict[str, Any]) -> None:
    doc["rules"][5]["when"] = [
        {"any": [{"field": "product.brand", "equals": f"b{i}-{j}"} for j in range(3)]} for i in range(5)
    ]


def _unknown_derived(doc: dict[str, Any]) -> None:
    doc["rules"][7]["when"].append({"not": {"derived": "never-derived"}})


def _duplicate_rule_id(doc: dict[str, Any]) -> None:
    doc["rules"][9]["id"] = doc["rules"][8]["id"]


def _unknown_ref(doc: dict[str, Any]) -> None:
    doc["rules"][3]["when"][0] = {"field": "product.category", "under": {"ref": "nowhere"}}


# In-memory documents, given to parse_policy as Python values.
MEMORY: dict[str, Callable[[], Any]] = {
    "too-deep-condition": lambda: _with(lambda d: d["rules"][10]["when"].append(_nest(70))),
    "deep-but-allowed": lambda: _with(lambda d: d["rules"][10]["when"].append(_nest(20))),
    "huge-integer": lambda: _with(_set(("data",), {"limit": 2**64 + 1})),
    "inexact-integer": lambda: _with(_set(("data",), {"limit": 2**53 + 1})),
    "long-text": lambda: _with(_set(("description",), "x" * 70_000)),
    "lone-surrogate": lambda: _with(_set(("title",), "bad \ud800 text")),
    "lone-surrogate-key": lambda: _with(_set(("data",), {"k\udc00": 1})),
    "integer-key": lambda: _with(_set(("data",), {1: "one"})),
    "tuple-value": lambda: _with(_set(("data",), {"pair": ("a", "b")})),
    "nan": lambda: _with(_set(("data",), {"rate": float("nan")})),
    "infinity": lambda: _with(_set(("data",), {"rate": float("inf")})),
    "decimal": lambda: _with(_set(("data",), {"rate": Decimal("0.1")})),
    "set-value": lambda: _with(_set(("rules", 2, "when", 0, "under"), {"c1"})),
    "not-an-object": lambda: ["a", "list"],
    "unknown-field": lambda: _with(_set(("rules", 4, "colour"), "red")),
    "bad-outcome-deep": lambda: _with(_set(("rules", 999, "outcome"), "maybe"), 1000),
    "missing-message": lambda: _with(lambda d: d["rules"][6].pop("message")),
    "bad-date": lambda: _with(_set(("effective_from",), "2024-02-30")),
    "unknown-ref": lambda: _with(_unknown_ref),
    "too-many-rules": lambda: _base(4095),
    "bool-as-number": lambda: _with(
        _set(("rules", 1, "when", 0), {"field": "seller.metrics.refund_rate", "at_most": True})
    ),
}

# Files: a policy folder holding one file written as this text (or these bytes).
FILES: dict[str, Callable[[], str | bytes]] = {
    "duplicate-key": lambda: json.dumps(_base())[:-1] + ', "title": "again"}',
    "malformed": lambda: json.dumps(_base())[:-2],
    "nan-text": lambda: json.dumps(_base())[:-1] + ', "data": {"r": NaN}}',
    "huge-exponent": lambda: json.dumps(_base())[:-1] + ', "data": {"r": 1e999}}',
    "escaped-surrogate": lambda: json.dumps(_base())[:-1] + ', "data": {"r": "\\udfff"}}',
    "not-utf8": lambda: json.dumps(_base()).encode("utf-8")[:-1] + b', "data": {"r": "\xff"}}',
    "too-deep-text": lambda: json.dumps(_with(lambda d: d["rules"][0]["when"].append(_nest(80)))),
    "deeper-than-the-parser": lambda: json.dumps(_with(lambda d: d["rules"][0]["when"].append("DEEP"))).replace(
        '"DEEP"', '{"not": ' * 3000 + '{"field": "product.brand", "exists": true}' + "}" * 3000
    ),
}

# Compile errors: policies that load but do not compile.
COMPILE: dict[str, Callable[[], dict[str, Any]]] = {
    "too-many-alternatives": lambda: _with(_too_many_alternatives),
}

# Semantic checks across documents.
CHECK: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "unknown-derived": lambda: [_with(_unknown_derived)],
    "duplicate-rule-id": lambda: [_with(_duplicate_rule_id)],
    "overlapping-versions": lambda: [_base(), dict(_base(), version="1.1.0")],
}

# Policy folders with files that look like policies but would not be loaded.
SKIPPED: dict[str, Callable[[], dict[str, str]]] = {
    "policy-in-tests": lambda: {"p.json": json.dumps(_base()), "tests/copy.json": json.dumps(_base())},
    "escaped-keys-in-tests": lambda: {
        "p.json": json.dumps(_base()),
        "tests/escaped.json": json.dumps(_base()).replace('"version"', '"\\u0076ersion"'),
    },
    "test-case-in-tests": lambda: {
        "p.json": json.dumps(_base()),
        "tests/case.json": json.dumps({"name": "c", "request": {"platform": "bench"}, "expect": {"rules": []}}),
    },
    "policy-named-taxonomy": lambda: {"p.json": json.dumps(_base()), "taxonomy.json": json.dumps(_base())},
    "upper-case-extension": lambda: {"p.json": json.dumps(_base()), "q.JSON": json.dumps(dict(_base(), id="q"))},
}


def _plain(problems: Any, folder: Path | None = None) -> list[list[str]]:
    out = []
    for p in problems:
        file, message = p.file, p.message
        if folder is not None:
            file, message = file.replace(str(folder), "<folder>"), message.replace(str(folder), "<folder>")
        out.append([file, p.pointer, message, p.code])
    return out


def _load_folder(folder: Path, files: dict[str, str | bytes], cache: Path | None = None) -> dict[str, Any]:
    """Write the files into a new policy folder and load it: whether it loaded, and its problems.

    With a `cache` folder, the policy files of the folder (`p*.json`) first hold valid policies, loaded
    with that cache so that it records them as checked under the same names; then the files are written
    and loaded with the cache again."""
    from policy_engine import LoadError
    from policy_engine._pipeline import load_documents

    def write(rel: str, data: str | bytes) -> None:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)

    if cache is not None:
        good = [rel for rel in files if rel.startswith("p") and "/" not in rel]
        for n, rel in enumerate(good):
            write(rel, json.dumps(dict(_base(), id=f"bench.good-{n}")))
        load_documents([folder], cache=cache)
    for rel, data in files.items():
        write(rel, data)
    try:
        load_documents([folder], cache=cache)
    except LoadError as exc:
        return {"loaded": False, "problems": _plain(exc.problems, folder)}
    return {"loaded": True, "problems": []}


def all_problems(cache: Path | None = None) -> dict[str, Any]:
    """Every case's outcome; with a `cache` folder, each folder of files is loaded through it, after the
    same file names held valid policies that the cache recorded as checked (see `_load_folder`)."""
    from policy_engine import CompileError
    from policy_engine._pipeline.compile import compile_policies
    from policy_engine._pipeline.load import parse_policy

    found: dict[str, Any] = {}
    for name, make in MEMORY.items():
        policy, problems = parse_policy(make(), f"{name}.json")
        found[f"memory/{name}"] = {"loaded": policy is not None, "problems": _plain(problems)}
    for name, make_doc in COMPILE.items():
        policy, problems = parse_policy(make_doc(), f"{name}.json")
        assert policy is not None, problems
        try:
            compile_policies("bench", [policy])
            found[f"compile/{name}"] = {"loaded": True, "problems": []}
        except CompileError as exc:
            found[f"compile/{name}"] = {"loaded": False, "problems": _plain(exc.problems)}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for name, make_text in FILES.items():
            found[f"file/{name}"] = _load_folder(base / name, {"p.json": make_text()}, cache)
        for name, make_docs in CHECK.items():
            docs: dict[str, str | bytes] = {f"p{i}.json": json.dumps(d) for i, d in enumerate(make_docs())}
            found[f"check/{name}"] = _load_folder(base / f"check-{name}", docs, cache)
        for name, make_files in SKIPPED.items():
            found[f"skipped/{name}"] = _load_folder(base / f"skipped-{name}", dict(make_files()), cache)
    return copy.deepcopy(found)
