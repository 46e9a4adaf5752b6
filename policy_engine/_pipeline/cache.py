"""A disk cache of compiled networks, so that a second run of a command does not compile again, and of
the sets of policy files that passed every check of loading, so that loading them again does not check
them again.

An entry holds one `Compiled` (one platform, one set of policy versions in force) as JSON, never as a
pickle: a cache folder is a place anyone with the user's rights may write to, and reading it must not run
code. Policies are not stored: the entry names them by `policy@version` and digest, and reading it
takes the policies just loaded; every rule of a policy is found again by its position, every condition
the network tests by its path in the rule. What the compiler made up itself (internal rules, the
negated and "missing" comparisons of its alternatives) is stored in full. The ruleset is stored as the
text durable_rules reads, on a line of its own after the rest, and given to the engine as it is.

The key covers everything a compiled network depends on: the digests of the policy versions in force,
the platform, the package version, the rule engine's version, the format of entries and a digest of the
compiler's own source files (a changed compiler never reads an entry of the previous one). An entry is
one file, `<key>.json`: a header line (format, key and its parts, length and SHA-256 of the body) and
the body. It is written to a temporary file in the same folder and moved into place with `os.replace`,
so a reader sees a whole entry or none. A reader trusts nothing: an entry whose header does not parse,
whose key or parts differ from the ones asked for, whose length or checksum is wrong, or whose body does
not rebuild into a network of exactly the policies asked for, is ignored and compiled again (and the
entry rewritten). Compile errors are never cached.

Checked files: `load_documents(paths, cache=...)` (and `Engine.from_directory`) record, for a set of
policy files that loaded without a problem, the canonical digest of each; the key covers every file's
name, citation path and SHA-256 of its bytes, the package version, a digest of the package's source
files and one of the shipped schemas. Loading exactly those files again (the folders are searched and
every file read each time) rebuilds the policies from their JSON without repeating the checks; any
other set, and any set with a problem, is checked in full, so a problem is always reported, and never
cached.

Where: `POLICY_ENGINE_CACHE` (a folder, or `off`), else the user's cache folder (`$XDG_CACHE_HOME` or
`~/.cache` on Linux, `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on Windows) under `policy_engine`.

The folder is kept under a size (`POLICY_ENGINE_CACHE_MAX_MB`, default 256 MB): after each write, the
entries least recently used (a read marks an entry used) are removed until the folder is under the
limit again, never the entry just written; temporary files a crashed writer left are removed after an
hour. Only files named like entries or temporary entries are ever removed.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import stat
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from .._language.model import (
    AllOf,
    AnyOf,
    AsOf,
    Compare,
    Condition,
    Count,
    Derived,
    FieldRef,
    Literal,
    Not,
    Operand,
    Policy,
    Remedy,
    Rule,
    Some,
    Text,
)
from ..resources import ENGINE_VERSION, SCHEMAS, schema_path
from .compile import Atom, Compiled, RuleAction, compile_policies
from .facts import FactPlan, engine_json
from .gcpause import gc_paused
from .load import SourceFile

__all__ = [
    "CACHE_ENV",
    "FORMAT",
    "MAX_MB_ENV",
    "CompileCache",
    "decode_compiled",
    "default_cache_dir",
    "default_max_bytes",
    "encode_compiled",
]

CACHE_ENV = "POLICY_ENGINE_CACHE"
MAX_MB_ENV = "POLICY_ENGINE_CACHE_MAX_MB"
DEFAULT_MAX_MB = 256
STALE_TMP_SECONDS = 3600  # a temporary file this old belongs to a writer that died
MAX_ENTRY_BYTES = 1 << 30  # a larger file under an entry's name is not one (never read)
_ENTRY_NAME = re.compile(r"[0-9a-f]{64}\.json")
_TMP_NAME = re.compile(r"\.[0-9a-f]{16}\..+\.tmp")
FORMAT = 3
_MAGIC = "policy_engine compiled network"
_CHECKED_MAGIC = "policy_engine checked policy files"
_PACKAGE = Path(__file__).resolve().parent.parent
# Every module of the package takes part in the key: what a compiled network is (and how the fact
# builder reads its plan) is decided by several of them, and a changed one must never meet old entries.
_COMPILER_SOURCES = tuple(sorted(p.relative_to(_PACKAGE).as_posix() for p in _PACKAGE.rglob("*.py")))


class CorruptEntry(Exception):
    """An entry that cannot be rebuilt into exactly the network asked for."""


# ------------------------------------------------------------------------------------------- codec
def _operand(op: Operand) -> Any:
    if op is None:
        return None
    if isinstance(op, Literal):
        if isinstance(op.value, tuple):
            return {"l": list(op.value), "r": op.ref}
        return {"v": op.value, "r": op.ref}
    if isinstance(op, FieldRef):
        return {"f": op.path}
    return {"a": [op.years, op.months, op.days]}


def _literal_value(raw: Any) -> Any:
    back = _operand_back(raw)
    assert isinstance(back, Literal)
    return back.value


def _operand_back(raw: Any) -> Operand:
    if raw is None:
        return None
    if "l" in raw:
        return Literal(tuple(raw["l"]), ref=raw["r"])
    if "v" in raw:
        return Literal(raw["v"], ref=raw["r"])
    if "f" in raw:
        return FieldRef(raw["f"])
    years, months, days = raw["a"]
    return AsOf(years, months, days)


def _cond(c: Condition) -> Any:
    if isinstance(c, Compare):
        return ["cmp", c.path, c.op, _operand(c.operand), c.pointer]
    if isinstance(c, Count):
        merge = list(c.merge) if c.merge is not None else None
        return [
            "cnt",
            c.list_path,
            c.op,
            c.value,
            c.pointer,
            [_cond(w) for w in c.where],
            c.distinct,
            c.including,
            merge,
        ]
    if isinstance(c, Some):
        return ["some", c.list_path, [_cond(w) for w in c.where], c.pointer]
    if isinstance(c, Derived):
        return ["der", c.name, c.pointer]
    if isinstance(c, Not):
        return ["not", _cond(c.condition), c.pointer]
    return ["any" if isinstance(c, AnyOf) else "all", [_cond(x) for x in c.conditions], c.pointer]


def _cond_back(raw: Any) -> Condition:
    tag = raw[0]
    if tag == "cmp":
        return Compare(path=raw[1], op=raw[2], operand=_operand_back(raw[3]), pointer=raw[4])
    if tag == "cnt":
        merge = (str(raw[8][0]), int(raw[8][1])) if raw[8] is not None else None
        return Count(
            list_path=raw[1],
            op=raw[2],
            value=raw[3],
            pointer=raw[4],
            where=tuple(_cond_back(w) for w in raw[5]),
            distinct=raw[6],
            including=raw[7],
            merge=merge,
        )
    if tag == "some":
        return Some(list_path=raw[1], where=tuple(_cond_back(w) for w in raw[2]), pointer=raw[3])
    if tag == "der":
        return Derived(raw[1], pointer=raw[2])
    if tag == "not":
        return Not(_cond_back(raw[1]), pointer=raw[2])
    parts = tuple(_cond_back(x) for x in raw[1])
    if tag == "any":
        return AnyOf(parts, pointer=raw[2])
    if tag == "all":
        return AllOf(parts, pointer=raw[2])
    raise CorruptEntry(f"unknown condition {tag!r}")


def _text(t: Text | None) -> Any:
    return None if t is None else [t.en, t.zh]


def _text_back(raw: Any) -> Text | None:
    return None if raw is None else Text(en=raw[0], zh=raw[1])


def _rule(r: Rule) -> Any:
    return {
        "id": r.id,
        "when": _cond(r.when),
        "derive": r.derive,
        "outcome": r.outcome,
        "message": _text(r.message),
        "remedies": [[m.code, _text(m.text)] for m in r.remedies],
        "pointer": r.pointer,
        "provenance": r.provenance,
        "description": r.description,
        "source_refs": list(r.source_refs),
    }


def _rule_back(raw: Any) -> Rule:
    when = _cond_back(raw["when"])
    if not isinstance(when, AllOf):
        raise CorruptEntry("a rule's conditions are not a list")
    remedies = []
    for code, text in raw["remedies"]:
        back = _text_back(text)
        if back is None:
            raise CorruptEntry("a remedy without text")
        remedies.append(Remedy(code=code, text=back))
    return Rule(
        id=raw["id"],
        when=when,
        derive=raw["derive"],
        outcome=raw["outcome"],
        message=_text_back(raw["message"]),
        remedies=tuple(remedies),
        pointer=raw["pointer"],
        provenance=raw["provenance"],
        description=raw["description"],
        source_refs=tuple(raw["source_refs"]),
    )


def _paths(cond: Condition, path: tuple[int, ...], out: dict[int, tuple[int, ...]]) -> None:
    """The path (child indices) of every node of a condition tree, by identity."""
    out.setdefault(id(cond), path)
    if isinstance(cond, Not):
        _paths(cond.condition, (*path, 0), out)
    elif isinstance(cond, (AnyOf, AllOf)):
        for i, c in enumerate(cond.conditions):
            _paths(c, (*path, i), out)
    elif isinstance(cond, (Some, Count)):
        for i, c in enumerate(cond.where):
            _paths(c, (*path, i), out)


def _at(cond: Condition, path: Sequence[int]) -> Condition:
    for i in path:
        if isinstance(cond, Not):
            if i != 0:
                raise CorruptEntry("a path below `not` goes past its one condition")
            cond = cond.condition
        elif isinstance(cond, (AnyOf, AllOf)):
            cond = cond.conditions[i]
        elif isinstance(cond, (Some, Count)):
            cond = cond.where[i]
        else:
            raise CorruptEntry("a path goes below a comparison")
    return cond


def encode_compiled(compiled: Compiled, ruleset: bool = True) -> dict[str, Any]:
    """The network as JSON data; `decode_compiled` rebuilds it from the same policies (without the
    ruleset, given to it as the engine's text, when `ruleset` is false)."""
    index = {id(p): i for i, p in enumerate(compiled.policies)}
    rule_at: dict[int, int] = {}
    paths: dict[int, dict[int, tuple[int, ...]]] = {}
    for p in compiled.policies:
        for n, r in enumerate(p.rules):
            rule_at[id(r)] = n
    actions = []
    for name, action in compiled.actions.items():
        rule = action.rule
        at = rule_at.get(id(rule))
        where = paths.get(id(rule))
        if where is None:
            where = paths[id(rule)] = {}
            _paths(rule.when, (), where)
        atoms = []
        for atom in action.atoms:
            path = where.get(id(atom.condition))
            cond: Any = {"@": list(path)} if path is not None else _cond(atom.condition)
            atoms.append([cond, atom.negated, atom.alias])
        actions.append(
            [
                name,
                index[id(action.policy)],
                [at, rule.id] if at is not None else _rule(rule),
                atoms,
                action.stratum,
                action.consumed,
            ]
        )
    plan = compiled.plan
    return {
        "platform": compiled.platform,
        "policies": [[p.key, p.digest] for p in compiled.policies],
        **({"ruleset": compiled.ruleset} if ruleset else {}),
        "actions": actions,
        "strata": compiled.strata,
        "triggers": [list(t) for t in compiled.triggers],
        "derived_groups": compiled.derived_groups,
        "default_outcome": compiled.default_outcome,
        "plan": {
            "root_keys": {k: sorted(v) for k, v in plan.root_keys.items()},
            "list_keys": {k: sorted(v) for k, v in plan.list_keys.items()},
            "category_keys": sorted(list(k) for k in plan.category_keys),
            "shifts": [[s.years, s.months, s.days] for s in plan.shifts],
            "filtered_counts": [[k, lst, [_cond(c) for c in where]] for k, lst, where in plan.filtered_counts],
            "distinct_counts": [list(d) for d in plan.distinct_counts],
            "merged_counts": [
                [k, lst, [_cond(c) for c in where], list(merge)] for k, lst, where, merge in plan.merged_counts
            ],
            "computed": [
                [owner, key, field, op, _operand(Literal(value))] for owner, key, field, op, value in plan.computed
            ],
        },
    }


def decode_compiled(body: dict[str, Any], policies: Sequence[Policy], engine_text: str | None = None) -> Compiled:
    """The network of `encode_compiled`, over the given policies (CorruptEntry if they are not its own).

    An entry stores the ruleset as the text durable_rules reads (`engine_text`) instead of in `body`:
    the network is then loaded from that text, and the ruleset parsed only if something asks for it."""
    by_key = {p.key: p for p in policies}
    ordered: list[Policy] = []
    for key, digest in body["policies"]:
        p = by_key.get(key)
        if p is None or p.digest != digest:
            raise CorruptEntry(f"the entry is for another version of {key}")
        ordered.append(p)
    if len(ordered) != len(policies) or len(set(map(id, ordered))) != len(policies):
        raise CorruptEntry("the entry is for another set of policies")
    actions: dict[str, RuleAction] = {}
    for name, pi, rule_ref, atoms_raw, stratum, consumed in body["actions"]:
        policy = ordered[pi]
        if isinstance(rule_ref, list):
            rule = policy.rules[rule_ref[0]]
            if rule.id != rule_ref[1]:
                raise CorruptEntry(f"rule {rule_ref[0]} of {policy.key} is not {rule_ref[1]!r}")
        else:
            rule = _rule_back(rule_ref)
        atoms = []
        for cond_raw, negated, alias in atoms_raw:
            cond = _at(rule.when, cond_raw["@"]) if isinstance(cond_raw, dict) else _cond_back(cond_raw)
            atoms.append(Atom(cond, bool(negated), alias))
        actions[name] = RuleAction(policy, rule, tuple(atoms), int(stratum), bool(consumed))
    ruleset = body.get("ruleset")
    if ruleset is None:
        if not isinstance(engine_text, str):
            raise CorruptEntry("no ruleset")
    elif set(actions) - set(ruleset):
        raise CorruptEntry("an action names no rule of the ruleset")
    plan = body["plan"]
    return Compiled(
        platform=body["platform"],
        policies=tuple(ordered),
        ruleset=ruleset,
        actions=actions,
        strata=int(body["strata"]),
        triggers=tuple((int(k), int(g)) for k, g in body["triggers"]),
        derived_groups={str(k): int(v) for k, v in body["derived_groups"].items()},
        plan=FactPlan(
            {k: frozenset(v) for k, v in plan["root_keys"].items()},
            {k: frozenset(v) for k, v in plan["list_keys"].items()},
            frozenset((a, b) for a, b in plan["category_keys"]),
            tuple(AsOf(y, m, d) for y, m, d in plan["shifts"]),
            tuple((k, lst, tuple(_cond_back(c) for c in where)) for k, lst, where in plan["filtered_counts"]),
            tuple((k, lst, inc) for k, lst, inc in plan["distinct_counts"]),
            tuple((owner, key, field, op, _literal_value(value)) for owner, key, field, op, value in plan["computed"]),
            tuple(
                (k, lst, tuple(_cond_back(c) for c in where), (str(merge[0]), int(merge[1])))
                for k, lst, where, merge in plan["merged_counts"]
            ),
        ),
        default_outcome=body["default_outcome"],
        engine_text=engine_text if ruleset is None else None,
    )


# ------------------------------------------------------------------------------------------- store
def default_cache_dir() -> Path | None:
    """The cache folder: `POLICY_ENGINE_CACHE` (None when it says `off`), else the user's cache folder."""
    chosen = os.environ.get(CACHE_ENV, "").strip()
    if chosen.lower() in ("off", "0", "no", "false", "none"):
        return None
    try:
        return Path(chosen).expanduser() if chosen else _user_cache_dir()
    except (RuntimeError, KeyError, OSError):  # no home folder: no cache, compiling still works
        return None


def default_max_bytes() -> int:
    """The folder's size limit: `POLICY_ENGINE_CACHE_MAX_MB` megabytes (a number; default 256)."""
    text = os.environ.get(MAX_MB_ENV, "").strip()
    try:
        megabytes = float(text) if text else DEFAULT_MAX_MB
    except ValueError:
        megabytes = DEFAULT_MAX_MB
    if not megabytes >= 0:  # negative or NaN: the default
        megabytes = DEFAULT_MAX_MB
    return int(min(megabytes, 2.0**40) * 1024 * 1024)


def _user_cache_dir() -> Path:
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "policy_engine" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "policy_engine"
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base_dir = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base_dir / "policy_engine"


def _same_network(a: Compiled, b: Compiled) -> bool:
    """Equal in every field, including those compared by identity elsewhere (ruleset, actions); the
    rulesets as the engine's text when both have it (the same text is the same ruleset)."""
    if not (a == b and list(a.actions) == list(b.actions)):
        return False
    if not (a.engine_text is not None and a.engine_text == b.engine_text) and a.ruleset != b.ruleset:
        return False
    return all(_same_action(x, b.actions[name]) for name, x in a.actions.items())


def _same_action(a: RuleAction, b: RuleAction) -> bool:
    """`a == b`, taking the same policy or rule as equal at once: attrs' equality compares a policy's
    rules one by one, which for every action of a large policy made the check quadratic."""
    return (
        (a.policy is b.policy or a.policy == b.policy)
        and (a.rule is b.rule or a.rule == b.rule)
        and a.atoms == b.atoms
        and a.stratum == b.stratum
        and a.consumed == b.consumed
    )


@functools.cache
def schemas_digest() -> str:
    """SHA-256 over the shipped JSON Schemas (empty when they cannot be read)."""
    h = hashlib.sha256()
    for name in SCHEMAS:
        try:
            h.update(name.encode() + b"\0" + schema_path(name).read_bytes() + b"\0")
        except OSError:
            return ""
    return h.hexdigest()


@functools.cache
def compiler_digest() -> str:
    """SHA-256 over the source files of the compiler (empty when they cannot be read)."""
    h = hashlib.sha256()
    for name in _COMPILER_SOURCES:
        try:
            h.update(name.encode() + b"\0" + (_PACKAGE / name).read_bytes())
        except OSError:
            return ""
        h.update(b"\0")
    return h.hexdigest()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _folder(value: str | os.PathLike[str] | None) -> Path | None:
    return None if value is None else Path(value).expanduser()


@attrs.frozen
class CompileCache:
    """Compiled networks in a folder (`directory=None`: no cache, every network is compiled)."""

    directory: Path | None = attrs.field(converter=_folder)
    max_bytes: int = attrs.field(factory=default_max_bytes, kw_only=True)

    @classmethod
    def default(cls) -> CompileCache:
        return cls(default_cache_dir())

    @classmethod
    def choose(cls, cache: bool | str | Path | CompileCache | None) -> CompileCache:
        """From an `Engine` argument: None or True for the default folder, False for none, or a folder."""
        if isinstance(cache, CompileCache):
            return cache
        if cache is None or cache is True:
            return cls.default()
        if cache is False:
            return cls(None)
        return cls(cache)

    def parts(self, platform: str, policies: Sequence[Policy]) -> dict[str, Any]:
        """What the key covers."""
        from .. import __version__

        return {
            "format": FORMAT,
            "package": __version__,
            "engine": ENGINE_VERSION,
            "compiler": compiler_digest(),
            "platform": platform,
            "policies": sorted([p.key, p.digest] for p in policies),
        }

    def key(self, platform: str, policies: Sequence[Policy]) -> str:
        return hashlib.sha256(_canonical(self.parts(platform, policies)).encode("utf-8")).hexdigest()

    def path(self, key: str) -> Path | None:
        return None if self.directory is None else self.directory / f"{key}.json"

    def compile(self, platform: str, policies: Sequence[Policy]) -> Compiled:
        """The network for these policies: from the cache when a sound entry is there, else compiled (and
        stored). The cache is never needed: a folder that cannot be read or written means compiling."""
        if not self._keeps(policies):
            return compile_policies(platform, policies)  # no cache, or policies not loaded from documents
        parts = self.parts(platform, policies)
        key = hashlib.sha256(_canonical(parts).encode("utf-8")).hexdigest()
        found = self.read(key, parts, policies)
        if found is not None:
            return found
        compiled = compile_policies(platform, policies)
        self.write(key, parts, compiled, policies)
        return compiled

    def _keeps(self, policies: Sequence[Policy]) -> bool:
        """Whether networks of these policies are kept here: a folder, and policies loaded from documents
        (each with its document's digest)."""
        return self.directory is not None and all(p.digest.startswith("sha256:") for p in policies)

    def has_entry(self, platform: str, policies: Sequence[Policy]) -> bool:
        """Whether an entry for these policies' network is stored (not whether it is sound: `compile`
        checks that when it reads it)."""
        if not self._keeps(policies):
            return False
        path = self.path(self.key(platform, policies))
        return path is not None and path.is_file()

    def read(self, key: str, parts: dict[str, Any], policies: Sequence[Policy]) -> Compiled | None:
        """The entry's network, or None when there is none or it is not exactly the one asked for."""
        blob = self._body(key, _MAGIC, parts)
        if blob is None:
            return None
        try:
            with gc_paused():
                head, newline, text = blob.partition(b"\n")
                if not newline:
                    raise CorruptEntry("no ruleset")
                body = json.loads(head)
                if body.get("platform") != parts["platform"]:
                    raise CorruptEntry("an entry for another platform")
                return decode_compiled(body, policies, text.decode("utf-8"))
        except Exception:  # a damaged or foreign entry is never trusted, whatever is wrong with it
            return None

    def _body(self, key: str, magic: str, parts: dict[str, Any]) -> bytes | None:
        """The body of the entry `key` when its header is `magic`'s with exactly these parts and its length
        and checksum are right (the entry is then marked used); None otherwise."""
        path = self.path(key)
        if path is None:
            return None
        try:
            info = os.lstat(path)  # an entry is a file this cache wrote: not a link, a device or a pipe
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ENTRY_BYTES:
                return None
            data = path.read_bytes()
        except OSError:
            return None
        try:
            blob = _entry_body(data, magic, key, parts)
        except Exception:  # a damaged or foreign entry is never trusted, whatever is wrong with it
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # used now: the last to be pruned
        return blob

    def checked_sources(self, sources: Sequence[SourceFile]) -> tuple[str, dict[str, Any], list[str] | None]:
        """The key and parts of the entry for a set of policy files, and the canonical digest of each file
        when exactly these files (names, citations and bytes) passed every check of loading before, with
        this package and these schemas; None otherwise."""
        from .. import __version__

        parts = {
            "format": FORMAT,
            "package": __version__,
            "code": compiler_digest(),
            "schemas": schemas_digest(),
            "files": [
                [s.file, s.path, hashlib.sha256(s.data).hexdigest() if s.data is not None else None] for s in sources
            ],
        }
        key = hashlib.sha256(_canonical(parts).encode("utf-8")).hexdigest()
        if not (parts["code"] and parts["schemas"]) or any(s.data is None for s in sources):
            return key, parts, None  # what the checks are cannot be told, or a file could not be read
        blob = self._body(key, _CHECKED_MAGIC, parts)
        if blob is None:
            return key, parts, None
        try:
            digests = json.loads(blob)["digests"]
        except Exception:
            return key, parts, None
        if not (
            isinstance(digests, list) and len(digests) == len(sources) and all(isinstance(d, str) for d in digests)
        ):
            return key, parts, None
        return key, parts, digests

    def remember_checked(self, key: str, parts: dict[str, Any], policies: Sequence[Policy]) -> None:
        """Record that the files of `checked_sources` passed every check of loading, as these policies
        (one per file, in order)."""
        if not (parts["code"] and parts["schemas"]):
            return
        body = json.dumps({"digests": [p.digest for p in policies]}, separators=(",", ":"))
        self._store(key, _CHECKED_MAGIC, parts, body.encode("utf-8"))

    def write(
        self, key: str, parts: dict[str, Any], compiled: Compiled, policies: Sequence[Policy] | None = None
    ) -> None:
        """Store an entry atomically (a temporary file moved into place); failures are ignored.

        Nothing is stored unless the entry decodes to exactly this network (every field of the network,
        its plan and its actions): a network the codec cannot hold whole is compiled again next time."""
        if self.directory is None:
            return
        with gc_paused():  # many short-lived objects: collections would walk the policies again and again
            self._write(key, parts, compiled, policies)

    def _write(self, key: str, parts: dict[str, Any], compiled: Compiled, policies: Sequence[Policy] | None) -> None:
        try:
            text = compiled.engine_text
            encoded = encode_compiled(compiled, ruleset=text is None)
            if text is None:
                text = engine_json(encoded.pop("ruleset"))  # what a network made from `compiled` would read
            if not _same_network(decode_compiled(encoded, policies or compiled.policies, text), compiled):
                return
            body = json.dumps(encoded, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError):
            return
        # the body (compact JSON: no line break) on one line, then the ruleset's text
        self._store(key, _MAGIC, parts, body.encode("utf-8") + b"\n" + text.encode("utf-8"))

    def _store(self, key: str, magic: str, parts: dict[str, Any], blob: bytes) -> None:
        """Write the entry `key` atomically (a temporary file moved into place), then prune the folder;
        failures are ignored."""
        path = self.path(key)
        if path is None:
            return
        import tempfile  # only when writing: a run that reads its entries never needs it

        tmp: str | None = None
        try:
            header = {
                "magic": magic,
                "format": FORMAT,
                "key": key,
                "parts": parts,
                "length": len(blob),
                "sha256": _checksum(key, blob),
            }
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{key[:16]}.", suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(_canonical(header).encode("utf-8") + b"\n" + blob)
            os.replace(tmp, path)
            tmp = None
        except (OSError, TypeError, ValueError):
            return
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        self.prune(keep=path)

    def prune(self, keep: Path | None = None) -> list[Path]:
        """Remove the entries least recently used until the folder is within `max_bytes` (never `keep`),
        and temporary files older than an hour; returns what was removed. Failures are ignored (another
        process may be pruning the same folder)."""
        if self.directory is None:
            return []
        entries: list[tuple[float, int, Path]] = []
        removed: list[Path] = []
        now = time.time()
        try:
            listing = list(os.scandir(self.directory))
        except OSError:
            return []
        for item in listing:
            try:
                if not item.is_file(follow_symlinks=False):
                    continue
                info = item.stat(follow_symlinks=False)
            except OSError:
                continue
            if _ENTRY_NAME.fullmatch(item.name):
                entries.append((info.st_mtime, info.st_size, Path(item.path)))
            elif _TMP_NAME.fullmatch(item.name) and now - info.st_mtime > STALE_TMP_SECONDS:
                with contextlib.suppress(OSError):
                    os.unlink(item.path)
                    removed.append(Path(item.path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries, key=lambda e: (e[0], e[2].name)):
            if total <= self.max_bytes:
                break
            if keep is not None and path == keep:
                continue
            with contextlib.suppress(OSError):
                os.unlink(path)
                removed.append(path)
                total -= size
        return removed


def _checksum(key: str, blob: bytes) -> str:
    return hashlib.sha256(key.encode("ascii") + b"\n" + blob).hexdigest()


def _entry_body(data: bytes, magic: str, key: str, parts: dict[str, Any]) -> bytes:
    line, newline, blob = data.partition(b"\n")
    if not newline:
        raise CorruptEntry("no header")
    header = json.loads(line)
    if not isinstance(header, dict) or header.get("magic") != magic or header.get("format") != FORMAT:
        raise CorruptEntry("not an entry of this format")
    if header.get("key") != key or header.get("parts") != parts:
        raise CorruptEntry("an entry for another key")
    if header.get("length") != len(blob) or header.get("sha256") != _checksum(key, blob):
        raise CorruptEntry("truncated or damaged")
    return blob
