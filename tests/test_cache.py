"""The disk cache of compiled networks: faithful, never trusted, never changing an answer."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, reject, settings
from profiles import scaled

from policy_engine import CompileError, Decision, Engine, cli
from policy_engine._language.model import Policy
from policy_engine._pipeline import cache as cache_module
from policy_engine._pipeline import load_documents
from policy_engine._pipeline.cache import CACHE_ENV, CompileCache, decode_compiled, default_cache_dir, encode_compiled
from policy_engine._pipeline.compile import Compiled
from policy_engine._pipeline.load import parse_policy
from policy_engine._tools.suite import discover_cases, load_case
from policy_engine.testing import policy_documents

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
sys.path.insert(0, str(ROOT))
from bench.bench import SHAPES, synthetic_policy, synthetic_request  # noqa: E402


def _networks(engine: Engine) -> Iterator[tuple[str, dt.date]]:
    for platform in sorted(engine.platforms):
        for day in engine.windows(platform):
            if any(p.platform == platform for p in engine.in_force(platform, day)):
                yield platform, day


def _same(a: Compiled, b: Compiled) -> None:
    assert a == b
    # equal as JSON text too (`==` takes 1, 1.0 and True for one another); the C encoder, without indent
    assert a.ruleset == b.ruleset and json.dumps(a.ruleset, sort_keys=True) == json.dumps(b.ruleset, sort_keys=True)
    assert list(a.actions) == list(b.actions) and a.actions == b.actions
    assert a.derived_groups == b.derived_groups and a.plan == b.plan
    assert all(x is y for x, y in zip(a.policies, b.policies, strict=True))


@pytest.fixture(scope="module")
def shipped() -> list[Policy]:
    return load_documents([POLICIES])


class _Counting:
    """Counts the networks compiled (not read from the cache)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = cache_module.compile_policies

        def counted(platform: str, policies: Any) -> Compiled:
            self.calls += 1
            return real(platform, policies)

        monkeypatch.setattr(cache_module, "compile_policies", counted)


def test_every_shipped_network_is_rebuilt_faithfully_from_its_json(shipped: list[Policy]) -> None:
    engine = Engine(shipped, cache=False)
    count = 0
    for platform, day in _networks(engine):
        compiled = engine.compiled(platform, day)
        text = json.dumps(encode_compiled(compiled))
        assert text == json.dumps(encode_compiled(compiled))  # deterministic
        _same(decode_compiled(json.loads(text), engine.in_force(platform, day)), compiled)
        count += 1
    assert count > 10
    engine.close()


@pytest.mark.parametrize("shape", SHAPES)
def test_synthetic_networks_are_rebuilt_faithfully(shape: str) -> None:
    policy, problems = parse_policy(synthetic_policy(shape, 120), "synthetic.json")
    assert policy is not None, problems
    from policy_engine._pipeline.compile import compile_policies

    compiled = compile_policies("bench", [policy])
    _same(decode_compiled(json.loads(json.dumps(encode_compiled(compiled))), [policy]), compiled)


def test_an_entry_is_stored_only_if_every_field_of_every_action_comes_back(shipped: list[Policy]) -> None:
    """The check before storing compares actions field by field (the same policy or rule at once, not
    rule by rule): a network that differs in any field of one action is not the same network."""
    import attrs

    from policy_engine._pipeline.compile import compile_policies

    policy, problems = parse_policy(synthetic_policy("mix", 40), "synthetic.json")
    assert policy is not None, problems
    compiled = compile_policies("bench", [policy])
    assert cache_module._same_network(compiled, compiled)
    other = shipped[0]
    name, action = next((n, a) for n, a in compiled.actions.items() if a.atoms)
    changed = {
        "policy": other,
        "rule": other.rules[0],
        "atoms": action.atoms[:-1],
        "stratum": action.stratum + 1,
        "consumed": not action.consumed,
    }
    assert set(changed) == set(attrs.fields_dict(type(action)))  # a new field must be compared too
    for field, value in changed.items():
        actions = {**compiled.actions, name: attrs.evolve(action, **{field: value})}
        assert not cache_module._same_network(attrs.evolve(compiled, actions=actions), compiled), field
    renamed = {(f"{n}x" if n == name else n): a for n, a in compiled.actions.items()}
    assert not cache_module._same_network(attrs.evolve(compiled, actions=renamed), compiled)


@settings(max_examples=scaled(100))
@given(doc=policy_documents())
def test_every_generated_network_is_rebuilt_faithfully(doc: dict[str, Any]) -> None:
    """Every condition form of the language (text operators, counts, shifted dates...) survives the codec:
    a plan or action field the codec forgot would change what the network reads."""
    from policy_engine._pipeline.compile import compile_policies

    policy, problems = parse_policy(doc, "generated.json")
    assert policy is not None, problems
    try:
        compiled = compile_policies(policy.platform, [policy])
    except CompileError:
        reject()
    _same(decode_compiled(json.loads(json.dumps(encode_compiled(compiled))), [policy]), compiled)


def test_a_network_the_codec_cannot_hold_whole_is_not_stored(
    tmp_path: Path, shipped: list[Policy], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = cache_module.encode_compiled

    def forgetful(compiled: Compiled) -> dict[str, Any]:
        body = real(compiled)
        body["plan"]["category_keys"] = []  # as if a field were not stored
        return body

    monkeypatch.setattr(cache_module, "encode_compiled", forgetful)
    engine = Engine(shipped, cache=tmp_path)
    engine.compiled("aliexpress", dt.date(2024, 3, 1))
    engine.close()
    assert list(tmp_path.iterdir()) == []


def _all_requests() -> list[dict[str, Any]]:
    requests = [load_case(p).request for p in discover_cases([POLICIES])]
    for name in ("aliexpress-shoes-denied.json", "aliexpress-shoes-allowed.json", "dhgate-cycling.json"):
        requests.append(json.loads((ROOT / "examples" / name).read_text(encoding="utf-8")))
    return requests


def _answers(engine: Engine, requests: list[dict[str, Any]]) -> list[Any]:
    return [r.to_dict() if isinstance(r, Decision) else (r.kind, r.problems) for r in engine.decide_each(requests)]


def test_a_warm_cache_gives_the_same_decisions_and_proofs_as_compiling(
    tmp_path: Path, shipped: list[Policy], monkeypatch: pytest.MonkeyPatch
) -> None:
    requests = _all_requests()
    assert len(requests) > 100
    counting = _Counting(monkeypatch)
    cold = Engine(shipped, cache=tmp_path)
    cold_out = _answers(cold, requests)
    assert sum(isinstance(a, dict) for a in cold_out) > 100
    compiled = counting.calls
    assert compiled > 0 and len(list(tmp_path.glob("*.json"))) == compiled
    cold.close()
    warm = Engine(load_documents([POLICIES]), cache=tmp_path)
    warm_out = _answers(warm, requests)
    assert counting.calls == compiled  # every network came from the cache
    assert warm_out == cold_out  # outcomes, rules, proofs, messages, remedies and receipts
    uncached = Engine(shipped, cache=False)
    assert _answers(uncached, requests) == cold_out
    for engine in (warm, uncached):
        engine.close()


@pytest.fixture
def one_entry(tmp_path: Path, shipped: list[Policy]) -> tuple[CompileCache, list[Policy], Path, Compiled]:
    """A cache holding the entry of one network, and what it holds."""
    store = CompileCache(tmp_path / "cache")
    day = dt.date(2024, 3, 1)
    policies = list(Engine(shipped, cache=False).in_force("aliexpress", day))
    compiled = store.compile("aliexpress", policies)
    (path,) = (tmp_path / "cache").glob("*.json")
    assert path == store.path(store.key("aliexpress", policies))
    return store, policies, path, compiled


def _rebuilt(store: CompileCache, policies: list[Policy], monkeypatch: pytest.MonkeyPatch) -> tuple[Compiled, int]:
    counting = _Counting(monkeypatch)
    compiled = store.compile("aliexpress", policies)
    return compiled, counting.calls


def test_a_sound_entry_is_read_not_compiled(one_entry: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    store, policies, _path, compiled = one_entry
    again, calls = _rebuilt(store, policies, monkeypatch)
    assert calls == 0
    _same(again, compiled)


def _reheader(path: Path, **changes: Any) -> None:
    """Rewrite an entry's header with a valid checksum: only what `changes` says is wrong."""
    line, _, blob = path.read_bytes().partition(b"\n")
    header = json.loads(line)
    header.update(changes)
    body = changes.pop("_body", None)
    if body is not None:
        blob = body
        header.pop("_body")
        header["length"] = len(blob)
        header["sha256"] = hashlib.sha256(header["key"].encode() + b"\n" + blob).hexdigest()
    path.write_bytes(json.dumps(header).encode() + b"\n" + blob)


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    at = len(data) - 40
    data[at] = ord("x") if data[at] != ord("x") else ord("y")
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _not_json(path: Path) -> None:
    path.write_bytes(b"\x00\xff garbage\n{")


def _stale_package(path: Path) -> None:
    header = json.loads(path.read_bytes().partition(b"\n")[0])
    _reheader(path, parts={**header["parts"], "package": "0.0.1"})


def _stale_compiler(path: Path) -> None:
    header = json.loads(path.read_bytes().partition(b"\n")[0])
    _reheader(path, parts={**header["parts"], "compiler": "0" * 64})


def _older_format(path: Path) -> None:
    _reheader(path, format=0)


def _body_and_ruleset(path: Path) -> tuple[Any, bytes]:
    """An entry's body, parsed, and the ruleset's text on the line after it."""
    body, newline, ruleset = path.read_bytes().partition(b"\n")[2].partition(b"\n")
    assert newline and ruleset.startswith(b"{")
    return json.loads(body), ruleset


def _body_for_other_digests(path: Path) -> None:
    """A well-formed entry with a valid checksum whose body names other versions of the policies."""
    body, ruleset = _body_and_ruleset(path)
    body["policies"][0][1] = "sha256:" + "0" * 64
    _reheader(path, _body=json.dumps(body).encode() + b"\n" + ruleset)


def _body_with_wrong_rule(path: Path) -> None:
    """A valid checksum, but an action pointing at another rule of its policy."""
    body, ruleset = _body_and_ruleset(path)
    action = next(a for a in body["actions"] if isinstance(a[2], list) and a[2][0] > 0)
    action[2][0] -= 1
    _reheader(path, _body=json.dumps(body).encode() + b"\n" + ruleset)


def _body_without_ruleset(path: Path) -> None:
    """A valid checksum, but the ruleset's line is missing."""
    body, _ = _body_and_ruleset(path)
    _reheader(path, _body=json.dumps(body).encode())


def _body_not_a_network(path: Path) -> None:
    _reheader(path, _body=b'{"platform": "aliexpress", "policies": 7}')


@pytest.mark.parametrize(
    "damage",
    [
        _flip_byte,
        _truncate,
        _empty,
        _not_json,
        _stale_package,
        _stale_compiler,
        _older_format,
        _body_for_other_digests,
        _body_with_wrong_rule,
        _body_without_ruleset,
        _body_not_a_network,
    ],
)
def test_a_damaged_stale_or_forged_entry_is_ignored_and_rebuilt(
    one_entry: Any, monkeypatch: pytest.MonkeyPatch, damage: Any
) -> None:
    store, policies, path, compiled = one_entry
    damage(path)
    again, calls = _rebuilt(store, policies, monkeypatch)
    assert calls == 1  # compiled again, not read
    _same(again, compiled)
    # and the entry was rewritten: the next read is a hit again
    third, calls = _rebuilt(store, policies, monkeypatch)
    assert calls == 0
    _same(third, compiled)


def test_an_entry_of_another_network_under_this_name_is_foreign(
    one_entry: Any, shipped: list[Policy], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, policies, path, compiled = one_entry
    other = list(Engine(shipped, cache=False).in_force("dhgate", dt.date(2024, 3, 1)))
    store.compile("dhgate", other)
    other_path = store.path(store.key("dhgate", other))
    assert other_path is not None and other_path != path
    shutil.copyfile(other_path, path)  # a whole, valid entry, for another key
    again, calls = _rebuilt(store, policies, monkeypatch)
    assert calls == 1
    _same(again, compiled)


def test_a_changed_policy_has_another_key(one_entry: Any, tmp_path: Path) -> None:
    store, policies, _path, _compiled = one_entry
    folder = tmp_path / "changed"
    shutil.copytree(POLICIES, folder, ignore=shutil.ignore_patterns("tests"))
    changed = folder / "aliexpress" / "brand-closed-management.json"
    doc = json.loads(changed.read_text(encoding="utf-8"))
    doc["description"] = doc.get("description", "") + " (edited)"
    changed.write_text(json.dumps(doc), encoding="utf-8")
    edited = list(Engine(load_documents([folder]), cache=False).in_force("aliexpress", dt.date(2024, 3, 1)))
    assert store.key("aliexpress", edited) != store.key("aliexpress", policies)
    assert store.read(store.key("aliexpress", edited), store.parts("aliexpress", edited), edited) is None


def test_a_concurrent_writer_never_exposes_half_an_entry(one_entry: Any) -> None:
    store, policies, path, compiled = one_entry
    key, parts = store.key("aliexpress", policies), store.parts("aliexpress", policies)
    # a writer that died half way leaves its temporary file behind: it is never read as an entry
    (path.parent / f".{key[:16]}.crashed.tmp").write_bytes(path.read_bytes()[:100])
    stop = threading.Event()
    errors: list[BaseException] = []
    reads: list[int] = []

    def writer() -> None:
        while not stop.is_set():
            store.write(key, parts, compiled)

    def reader() -> None:
        try:
            for _ in range(10):
                found = store.read(key, parts, policies)
                assert found is not None  # os.replace: the old entry or the new one, whole
                _same(found, compiled)
                reads.append(1)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    writers = [threading.Thread(target=writer)]
    readers = [threading.Thread(target=reader) for _ in range(2)]
    for t in writers + readers:
        t.start()
    for t in readers:
        t.join()
    stop.set()
    for t in writers:
        t.join()
    assert not errors, errors[0]
    assert len(reads) == 20
    assert {p.name for p in path.parent.iterdir() if not p.name.endswith(".crashed.tmp")} == {path.name}


def test_an_unwritable_cache_folder_only_means_compiling(tmp_path: Path, shipped: list[Policy]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    engine = Engine(shipped, cache=blocker / "cache")
    assert engine.decide(json.loads((ROOT / "examples" / "aliexpress-shoes-denied.json").read_text())).outcome == "deny"
    engine.close()


def test_the_cache_can_be_turned_off(tmp_path: Path, shipped: list[Policy], monkeypatch: pytest.MonkeyPatch) -> None:
    request = json.loads((ROOT / "examples" / "dhgate-cycling.json").read_text(encoding="utf-8"))
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "env"))
    Engine(shipped, cache=False).decide(request)
    assert not (tmp_path / "env").exists()
    Engine(shipped).decide(request)
    assert list((tmp_path / "env").glob("*.json"))
    monkeypatch.setenv(CACHE_ENV, "off")
    assert default_cache_dir() is None
    assert CompileCache.choose(None).directory is None


def test_the_default_folder_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setattr(cache_module.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "policy_engine"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "policy_engine"

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(cache_module.Path, "home", staticmethod(no_home))
    assert default_cache_dir() is None  # no cache, and no failure


def test_policies_not_loaded_from_documents_are_compiled_not_cached(tmp_path: Path) -> None:
    import attrs

    policy, _ = parse_policy(synthetic_policy("join", 60), "synthetic.json")
    assert policy is not None
    made = attrs.evolve(policy, digest="")
    engine = Engine([made], cache=tmp_path)
    assert engine.decide(synthetic_request()).outcome == "deny"
    assert not list(tmp_path.glob("*.json"))


def test_validate_compiles_everything_and_writes_no_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["validate", str(POLICIES)], out=out, err=err) == 0, err.getvalue()
    assert not list(tmp_path.glob("*.json"))


def test_decide_reads_the_networks_the_previous_run_wrote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    counting = _Counting(monkeypatch)
    shoes = str(ROOT / "examples" / "aliexpress-shoes-denied.json")
    outs = []
    for _ in range(2):
        out, err = io.StringIO(), io.StringIO()
        cli.main(["decide", shoes, "--format", "json"], out=out, err=err)
        outs.append(out.getvalue())
    assert counting.calls == 1 and outs[0] == outs[1]
    kinds = sorted(json.loads(f.read_bytes().partition(b"\n")[0])["magic"] for f in tmp_path.glob("*.json"))
    assert kinds == ["policy_engine checked policy files", "policy_engine compiled network"]


def _fake_key(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def test_the_folder_keeps_under_its_limit_dropping_the_least_recently_used(one_entry: Any) -> None:
    store, policies, path, compiled = one_entry
    size = path.stat().st_size
    small = CompileCache(path.parent, max_bytes=4 * size + size // 2)  # room for four entries
    parts = store.parts("aliexpress", policies)
    os_times = iter(range(1_000_000_000, 1_000_000_000 + 100, 10))
    written = []
    for n in range(3):
        small.write(_fake_key(n), parts, compiled)
        written.append(small.path(_fake_key(n)))
    for p in [path, *written]:  # oldest first: the real entry, then 0, 1, 2
        t = next(os_times)
        os.utime(p, (t, t))
    # reading the real entry marks it used: entry 0 is now the least recently used
    assert small.read(store.key("aliexpress", policies), parts, policies) is not None
    (path.parent / "notes.txt").write_text("not an entry")
    small.write(_fake_key(3), parts, compiled)
    left = {p.name for p in path.parent.iterdir()}
    assert left == {path.name, "notes.txt", *(small.path(_fake_key(n)).name for n in (1, 2, 3))}  # type: ignore[union-attr]
    # an entry larger than the whole limit is still kept once written (the run that wrote it reads it next)
    tiny = CompileCache(path.parent, max_bytes=1)
    tiny.write(_fake_key(4), parts, compiled)
    assert {p.name for p in path.parent.iterdir()} == {"notes.txt", small.path(_fake_key(4)).name}  # type: ignore[union-attr]


def test_temporary_files_of_dead_writers_are_removed_after_an_hour(one_entry: Any) -> None:
    store, policies, path, _compiled = one_entry
    key = store.key("aliexpress", policies)
    stale = path.parent / f".{key[:16]}.dead.tmp"
    fresh = path.parent / f".{key[:16]}.writing.tmp"
    for p in (stale, fresh):
        p.write_bytes(b"half")
    old = path.stat().st_mtime - 2 * 3600
    os.utime(stale, (old, old))
    assert store.prune() == [stale]
    assert {p.name for p in path.parent.iterdir()} == {path.name, fresh.name}


@pytest.mark.parametrize(
    ("setting", "expected"),
    [("", 256 * 2**20), ("1", 2**20), ("0.5", 2**19), ("0", 0), ("-3", 256 * 2**20), ("lots", 256 * 2**20)],
)
def test_the_size_limit_comes_from_the_environment(
    setting: str, expected: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(cache_module.MAX_MB_ENV, setting)
    assert CompileCache(tmp_path).max_bytes == expected


@pytest.mark.parametrize("kind", ["link to a device", "pipe", "link to an entry"])
def test_an_entry_that_is_not_a_plain_file_is_never_read(
    one_entry: Any, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """A link to /dev/zero would be read forever, a pipe would block: neither is opened."""
    store, policies, path, compiled = one_entry
    saved = path.with_name("saved")
    path.rename(saved)
    if kind == "pipe":
        os.mkfifo(path)
    else:
        os.symlink("/dev/zero" if kind == "link to a device" else saved, path)
    again, calls = _rebuilt(store, policies, monkeypatch)
    assert calls == 1  # compiled again, not read
    _same(again, compiled)
