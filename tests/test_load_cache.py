"""Loading through the cache: a set of policy files checked before, byte for byte, is rebuilt without the
checks into exactly the policies a full load gives; anything else is checked in full."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import policy_engine._pipeline as pipeline
from policy_engine import Decision, Engine, ItemError, LoadError
from policy_engine._pipeline import load_documents
from policy_engine._pipeline.cache import CACHE_ENV, CompileCache
from policy_engine._pipeline.load import read_sources

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"


class _Checks:
    """Counts the loads that ran every check (`parse_sources`)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = pipeline.parse_sources

        def counted(sources: Any) -> Any:
            self.calls += 1
            return real(sources)

        monkeypatch.setattr(pipeline, "parse_sources", counted)


def _answer(answer: Decision | ItemError) -> Any:
    return answer.to_dict() if isinstance(answer, Decision) else answer


def _entries(cache: Path) -> list[Path]:
    return [f for f in cache.glob("*.json") if b"checked policy files" in f.read_bytes().partition(b"\n")[0]]


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A copy of the shipped policies that a test may change."""
    folder = tmp_path / "policies"
    shutil.copytree(POLICIES, folder)
    return folder


def test_files_checked_before_are_rebuilt_into_the_same_policies_without_the_checks(
    library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = load_documents([library])
    checks = _Checks(monkeypatch)
    cache = tmp_path / "cache"
    first = load_documents([library], cache=cache)
    assert checks.calls == 1 and len(_entries(cache)) == 1
    again = load_documents([library], cache=cache)
    assert checks.calls == 1  # rebuilt, not checked
    assert len(again) == len(full) > 40
    for a, b, c in zip(full, first, again, strict=True):
        assert a == b == c  # every field: id, version, dates, rules, texts, data, file, citation path, digest
        assert (a.file, a.path, a.digest) == (c.file, c.path, c.digest)
    # and the engines built on them decide the same, proofs included
    plain, cached = Engine(full, cache=False), Engine(again, cache=False)
    decided = 0
    for case in sorted(POLICIES.glob("*/tests/*.json"))[::8]:
        doc = json.loads(case.read_text(encoding="utf-8"))
        request, as_of = doc["request"], doc.get("as_of")
        a, b = (e.decide_each([request], as_of=as_of)[0] for e in (plain, cached))
        assert _answer(a) == _answer(b), case
        decided += 1
    assert decided > 50


def test_a_changed_byte_a_new_file_or_another_citation_is_checked_in_full(
    library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    load_documents([library], cache=cache)
    checks = _Checks(monkeypatch)
    target = library / "dhgate" / sorted(p.name for p in (library / "dhgate").glob("*.json"))[0]
    doc = json.loads(target.read_text(encoding="utf-8"))
    target.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")  # same policy, other bytes
    load_documents([library], cache=cache)
    assert checks.calls == 1
    load_documents([library], cache=cache)
    assert checks.calls == 1  # the new bytes were recorded in turn
    (library / "dhgate" / "extra.json").write_text(json.dumps(dict(doc, version="99.0.0")), encoding="utf-8")
    with pytest.raises(LoadError):  # overlapping versions: checked, reported, and not recorded
        load_documents([library], cache=cache)
    with pytest.raises(LoadError):
        load_documents([library], cache=cache)
    assert checks.calls == 3
    (library / "dhgate" / "extra.json").unlink()
    load_documents([library / "dhgate", library / "common"], cache=cache)  # cited from other folders
    assert checks.calls == 4


def test_a_file_that_breaks_after_it_was_recorded_gives_its_problem(library: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    load_documents([library], cache=cache)
    target = next((library / "lazada").glob("*.json"))
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace('"rules"', '"rules_"', 1), encoding="utf-8")
    with pytest.raises(LoadError) as raised:
        load_documents([library], cache=cache)
    assert any(p.file == str(target) for p in raised.value.problems)


def _reheader(path: Path, body: bytes) -> None:
    header = json.loads(path.read_bytes().partition(b"\n")[0])
    header["length"] = len(body)
    header["sha256"] = hashlib.sha256(header["key"].encode() + b"\n" + body).hexdigest()
    path.write_bytes(json.dumps(header).encode() + b"\n" + body)


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-5] ^= 1
    path.write_bytes(bytes(data))


def _one_digest_short(path: Path) -> None:
    body = json.loads(path.read_bytes().partition(b"\n")[2])
    _reheader(path, json.dumps({"digests": body["digests"][:-1]}).encode())


def _not_digests(path: Path) -> None:
    _reheader(path, json.dumps({"digests": 7}).encode())


def _not_json(path: Path) -> None:
    _reheader(path, b"\xff{")


def _other_package(path: Path) -> None:
    header = json.loads(path.read_bytes().partition(b"\n")[0])
    header["parts"]["package"] = "0.0.1"
    body = path.read_bytes().partition(b"\n")[2]
    path.write_bytes(json.dumps(header).encode() + b"\n" + body)


@pytest.mark.parametrize("damage", [_flip, _one_digest_short, _not_digests, _not_json, _other_package])
def test_a_damaged_or_foreign_record_is_not_trusted(
    library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: Any
) -> None:
    cache = tmp_path / "cache"
    full = load_documents([library], cache=cache)
    (entry,) = _entries(cache)
    damage(entry)
    checks = _Checks(monkeypatch)
    assert load_documents([library], cache=cache) == full
    assert checks.calls == 1


def test_the_record_covers_the_package_and_the_schemas(library: Path, tmp_path: Path) -> None:
    store = CompileCache(tmp_path / "cache")
    sources, _ = read_sources([library])
    _, parts, _ = store.checked_sources(sources)
    assert parts["package"] and len(parts["code"]) == 64 and len(parts["schemas"]) == 64
    assert len(parts["files"]) == len(sources) > 40
    assert all(len(sha) == 64 for _, _, sha in parts["files"])


def test_engines_load_through_their_cache_and_without_one_record_nothing(
    library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    Engine.from_directory(library, cache=cache, prepare=False)
    assert len(_entries(cache)) == 1
    default = tmp_path / "default"
    default.mkdir()
    monkeypatch.setenv(CACHE_ENV, str(default))
    Engine.from_directory(library, cache=False, prepare=False)
    load_documents([library])  # the function alone uses no cache unless given one
    assert not list(default.iterdir())
    Engine.from_directory(library, prepare=False)  # the default cache folder
    assert len(_entries(default)) == 1
