"""What a policy change does: the changes between two policy folders, and the requests they decide differently.

    from policy_engine._tools.diff import diff_policies
    report = diff_policies("old/policies", "new/policies", budget=200, seed=0)
    report.static      # policies, versions, rules, data and windows added, removed or changed
    report.flips       # groups of requests whose outcome or deciding rules differ, each with a minimal example

The static part compares the parsed documents (layout and key order never count). The semantic part
decides the same generated requests on both sides (`policy_engine._tools.generate`: constants, boundaries and near
misses of the rules of both sides, then random mixes), on every date where either side starts or ends a
version, a day either side of it, and today. A request differs when its outcome, or its set of deciding
rules (`policy#rule`, the version left out), differs. Each group keeps its smallest example, shrunk while
it still differs in the same way and checked once more before it is reported.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import random
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from .._language import schemas
from .._language.model import Policy, condition_json
from .._pipeline.load import read_json
from ..decision import Decision
from ..engine import Engine
from ..errors import CompileError, ItemError, LoadError, Problem
from .generate import Pools, RequestGenerator, boundary_dates, signatures
from .lint import load_taxonomies

__all__ = ["DEFAULT_BUDGET", "Change", "DiffReport", "Flip", "PolicySide", "diff_policies", "open_side", "shrink"]

DEFAULT_BUDGET = 150
NO_POLICY = "no-policy"  # the outcome of a request for a platform with nothing in force on its date

Key = tuple[str, tuple[str, ...]]  # outcome and deciding rules without versions


@attrs.frozen
class Change:
    """One static change: where it is (file and JSON pointer, on the side that has it) and what it is."""

    platform: str
    kind: str  # added | removed | changed | moved
    subject: str  # `dhgate.cycling-admission@1.0.0`, `...#rule`, `... data max_refund_rate`
    detail: str
    file: str
    pointer: str

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    def __str__(self) -> str:
        return f"{self.platform}  {self.kind:<7}  {self.subject}: {self.detail}  ({self.file}:{self.pointer or '/'})"


@attrs.frozen
class Flip:
    """Requests decided one way by the old policies and another way by the new ones."""

    platform: str
    as_of: str
    old: Key
    new: Key
    count: int
    example: dict[str, Any] = attrs.field(eq=False)
    old_decision: Decision | None = attrs.field(default=None, eq=False, repr=False)
    new_decision: Decision | None = attrs.field(default=None, eq=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "as_of": self.as_of,
            "old": {"outcome": self.old[0], "rules": list(self.old[1])},
            "new": {"outcome": self.new[0], "rules": list(self.new[1])},
            "count": self.count,
            "example": self.example,
        }


@attrs.frozen
class DiffReport:
    static: tuple[Change, ...]
    flips: tuple[Flip, ...]
    searched: dict[str, Any]
    old_label: str = "old"
    new_label: str = "new"

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": self.old_label,
            "new": self.new_label,
            "static": [c.to_dict() for c in self.static],
            "flips": [f.to_dict() for f in self.flips],
            "searched": self.searched,
        }

    def render_text(self) -> str:
        lines = [f"policy diff {self.old_label} -> {self.new_label}"]
        lines.append(f"static changes: {len(self.static)}")
        lines += [f"  {c}" for c in self.static]
        total = sum(f.count for f in self.flips)
        lines.append(
            f"decisions that differ: {len(self.flips)} group{'s' * (len(self.flips) != 1)}, {total} request"
            f"{'s' * (total != 1)} of {self.searched['old']} decided on each side"
        )
        for f in self.flips:
            lines.append(f"  {f.platform} as of {f.as_of}: {_key_text(f.old)} -> {_key_text(f.new)}  ({f.count})")
            lines.append(f"    example: {json.dumps(f.example, ensure_ascii=False, sort_keys=True)}")
        return "\n".join(lines)


def _key_text(key: Key) -> str:
    return f"{key[0]} [{', '.join(key[1])}]" if key[1] else key[0]


# --- the two sides -----------------------------------------------------------------------------------


@attrs.define
class PolicySide:
    """One side of a diff: a policy folder, or the `policies/` tree of a git revision extracted to a folder."""

    label: str
    path: Path
    tmp: tempfile.TemporaryDirectory[str] | None = None

    def display(self, file: str) -> str:
        """A file of this side as the user knows it (`git:main:policies/x.json` for a revision)."""
        if self.tmp is None:
            return file
        root = str(Path(self.tmp.name))
        return f"{self.label}:{file[len(root) + 1 :]}" if file.startswith(root) else file

    def close(self) -> None:
        if self.tmp is not None:
            self.tmp.cleanup()
            self.tmp = None


def open_side(spec: str, cwd: str | Path | None = None) -> PolicySide:
    """`DIR`, or `git:REV` for the `policies/` tree at REV of the git repository around `cwd`.

    Raises LoadError (with the spec as the file) for a folder that does not exist, a folder outside a git
    repository, or a revision git does not know.
    """
    if not spec.startswith("git:"):
        path = Path(spec)
        if not path.is_dir():
            raise LoadError(
                [
                    Problem(
                        file=spec, pointer="", message="not a folder; expected a policy folder or git:REV", code="PE001"
                    )
                ]
            )
        return PolicySide(spec, path)
    rev = spec[4:]
    where = Path(cwd or ".")

    def git(*args: str) -> bytes:
        done = subprocess.run(["git", *args], cwd=where, capture_output=True, check=False)
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise LoadError(
                [
                    Problem(
                        file=spec,
                        pointer="",
                        message=f"git {args[0]} failed: {message[-1] if message else '?'}",
                        code="PE001",
                    )
                ]
            )
        return done.stdout

    if not rev:
        raise LoadError(
            [
                Problem(
                    file=spec,
                    pointer="",
                    message="no revision after git:; expected git:REV, e.g. git:main",
                    code="PE001",
                )
            ]
        )
    top = git("rev-parse", "--show-toplevel").decode().strip()
    prefix = git("rev-parse", "--show-prefix").decode().strip()
    known = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=top, capture_output=True, check=False
    )
    if known.returncode != 0:
        raise LoadError(
            [
                Problem(
                    file=spec,
                    pointer="",
                    message=f"{rev!r} names no commit of this repository; expected a branch, tag or commit, "
                    "e.g. git:main",
                    code="PE001",
                )
            ]
        )
    tree = f"{prefix}policies" if prefix else "policies"
    data = subprocess.run(["git", "archive", "--format=tar", rev, tree], cwd=top, capture_output=True, check=False)
    if data.returncode != 0:
        message = data.stderr.decode("utf-8", "replace").strip()
        raise LoadError(
            [Problem(file=spec, pointer="", message=f"no {tree}/ folder at {rev}: {message}", code="PE001")]
        )
    tmp = tempfile.TemporaryDirectory(prefix="policy-diff-")
    with tarfile.open(fileobj=io.BytesIO(data.stdout)) as archive:
        if hasattr(tarfile, "data_filter"):  # Python 3.10.12, 3.11.4 and later
            archive.extractall(tmp.name, filter="data")
        else:  # pragma: no cover - git archive writes plain files and folders only
            archive.extractall(tmp.name)
    side = PolicySide(spec, Path(tmp.name) / tree, tmp)
    return side


# --- static changes ----------------------------------------------------------------------------------


def _documents(engine: Engine) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """(id, version) -> (file, parsed document) for every policy of an engine."""
    out: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    for p in engine.policies:
        doc, _ = read_json(Path(p.file))
        out[(p.id, p.version)] = (p.file, doc if isinstance(doc, dict) else {})
    return out


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_difference(old: Any, new: Any, pointer: str) -> str:
    """The JSON pointer of the first place two values differ (deepest common structure)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for k in sorted(set(old) | set(new)):
            if old.get(k, _ABSENT) != new.get(k, _ABSENT):
                return _first_difference(old.get(k, _ABSENT), new.get(k, _ABSENT), f"{pointer}/{_escape(k)}")
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{pointer}/{i}")
    return pointer


_ABSENT: Any = object()


def _escape(key: str) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values (1 and 1.0 alike, True and 1 not); a key missing on one side differs."""
    if a is _ABSENT or b is _ABSENT:
        return a is b
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) if type(a) is not type(b) else a == b


_RULE_FIELDS = (
    ("when", "conditions"),
    ("derive", "derived conclusion"),
    ("outcome", "outcome"),
    ("message", "message"),
    ("remedies", "remedies"),
    ("description", "description"),
    ("provenance", "provenance"),
    ("source_refs", "source references"),
)


def _compare_documents(
    platform: str, cite: str, old: tuple[str, dict[str, Any]], new: tuple[str, dict[str, Any]], show: Any
) -> list[Change]:
    (old_file, a), (new_file, b) = old, new
    file = show(new_file)
    out: list[Change] = []
    window = [k for k in ("effective_from", "effective_until") if a.get(k) != b.get(k)]
    if window:
        before = f"{a.get('effective_from')} until {a.get('effective_until') or 'open-ended'}"
        after = f"{b.get('effective_from')} until {b.get('effective_until') or 'open-ended'}"
        pointer = f"/{window[0]}" if window[0] in b else ""
        out.append(Change(platform, "moved", cite, f"effective window {before} -> {after}", file, pointer))
    for key in ("default_outcome", "platform", "title", "description", "sources"):
        if not _same(a.get(key, _ABSENT), b.get(key, _ABSENT)):
            before, after = _short(a.get(key)), _short(b.get(key))
            out.append(Change(platform, "changed", cite, f"{key} {before} -> {after}", file, f"/{key}"))
    data_a, data_b = a.get("data", {}), b.get("data", {})
    for name in sorted(set(data_a) | set(data_b)):
        pointer = f"/data/{_escape(name)}"
        if name not in data_b:
            out.append(
                Change(platform, "removed", f"{cite} data {name}", _short(data_a[name]), show(old_file), pointer)
            )
        elif name not in data_a:
            out.append(Change(platform, "added", f"{cite} data {name}", _short(data_b[name]), file, pointer))
        elif not _same(data_a[name], data_b[name]):
            va, vb = data_a[name], data_b[name]
            detail = f"{_short(va)} -> {_short(vb)}"
            if isinstance(va, list) and isinstance(vb, list):
                gone = [v for v in va if v not in vb]
                came = [v for v in vb if v not in va]
                detail = ", ".join([f"+{_short(v)}" for v in came] + [f"-{_short(v)}" for v in gone]) or "reordered"
            out.append(Change(platform, "changed", f"{cite} data {name}", detail, file, pointer))
    rules_a = {r.get("id"): (i, r) for i, r in enumerate(a.get("rules", []))}
    rules_b = {r.get("id"): (i, r) for i, r in enumerate(b.get("rules", []))}
    for rid in [*rules_a, *(r for r in rules_b if r not in rules_a)]:
        if rid not in rules_b:
            i, _ = rules_a[rid]
            out.append(Change(platform, "removed", f"{cite}#{rid}", "rule", show(old_file), f"/rules/{i}"))
            continue
        j, rb = rules_b[rid]
        if rid not in rules_a:
            out.append(Change(platform, "added", f"{cite}#{rid}", "rule", file, f"/rules/{j}"))
            continue
        i, ra = rules_a[rid]
        for key, what in _RULE_FIELDS:
            va, vb = ra.get(key, _ABSENT), rb.get(key, _ABSENT)
            if _same(va, vb):
                continue
            pointer = _first_difference(va, vb, f"/rules/{j}/{key}") if vb is not _ABSENT else f"/rules/{j}"
            if va is _ABSENT or vb is _ABSENT:
                detail = f"{what} {'added' if va is _ABSENT else 'removed'}"
            else:
                inner_a = _at(va, pointer[len(f"/rules/{j}/{key}") :])
                inner_b = _at(vb, pointer[len(f"/rules/{j}/{key}") :])
                detail = f"{what} changed: {_short(inner_a, 60)} -> {_short(inner_b, 60)}"
            out.append(Change(platform, "changed", f"{cite}#{rid}", detail, file, pointer))
    return out


def _at(value: Any, pointer: str) -> Any:
    for part in [p for p in pointer.split("/")[1:]]:
        key = part.replace("~1", "/").replace("~0", "~")
        if isinstance(value, list):
            value = value[int(key)] if key.isdigit() and int(key) < len(value) else None
        elif isinstance(value, dict):
            value = value.get(key, None)
        else:
            return None
    return value


def static_changes(
    old: Engine, new: Engine, old_side: PolicySide | None = None, new_side: PolicySide | None = None
) -> list[Change]:
    """Per platform: policies and versions added or removed; per version on both sides (or a version
    replaced by another of the same policy): window, data and rule changes. Parsed documents are compared,
    so layout and key order do not count; rules are matched by id, so their order does not count."""
    show_old = old_side.display if old_side else (lambda f: f)
    show_new = new_side.display if new_side else (lambda f: f)
    docs_a, docs_b = _documents(old), _documents(new)
    out: list[Change] = []
    ids_a = {pid for pid, _ in docs_a}
    ids_b = {pid for pid, _ in docs_b}
    platform_of = {p.id: p.platform for p in (*old.policies, *new.policies)}
    for pid in sorted(ids_a | ids_b):
        platform = platform_of[pid]
        va = sorted(v for i, v in docs_a if i == pid)
        vb = sorted(v for i, v in docs_b if i == pid)
        if pid not in ids_b:
            file = show_old(docs_a[(pid, va[0])][0])
            out.append(Change(platform, "removed", pid, f"policy (versions {', '.join(va)})", file, ""))
            continue
        if pid not in ids_a:
            file = show_new(docs_b[(pid, vb[0])][0])
            out.append(Change(platform, "added", pid, f"policy (versions {', '.join(vb)})", file, ""))
            continue
        gone = [v for v in va if v not in vb]
        came = [v for v in vb if v not in va]

        def show(file: str) -> str:
            return show_new(file) if file in {f for f, _ in docs_b.values()} else show_old(file)

        for v in sorted(set(va) & set(vb)):
            out += _compare_documents(platform, f"{pid}@{v}", docs_a[(pid, v)], docs_b[(pid, v)], show)
        if len(gone) == 1 and len(came) == 1:  # a version replaced by another: what changed between them
            cite = f"{pid}@{gone[0]} -> {came[0]}"
            out.append(
                Change(
                    platform,
                    "changed",
                    pid,
                    f"version {gone[0]} -> {came[0]}",
                    show_new(docs_b[(pid, came[0])][0]),
                    "/version",
                )
            )
            out += _compare_documents(platform, cite, docs_a[(pid, gone[0])], docs_b[(pid, came[0])], show)
            continue
        for v in gone:
            out.append(Change(platform, "removed", f"{pid}@{v}", "version", show_old(docs_a[(pid, v)][0]), ""))
        for v in came:
            out.append(Change(platform, "added", f"{pid}@{v}", "version", show_new(docs_b[(pid, v)][0]), ""))
    return out


# --- semantic differences ----------------------------------------------------------------------------


def _strip(cite: str) -> str:
    head, _, rule = cite.partition("#")
    return f"{head.partition('@')[0]}#{rule}"


def decision_key(result: Decision | ItemError) -> Key | None:
    """Outcome and deciding rules without versions; `no-policy` when nothing is in force; None for bad input."""
    if isinstance(result, ItemError):
        return (NO_POLICY, ()) if result.kind == "platform" else None
    outcome = "error" if result.error else result.outcome
    return (outcome, tuple(sorted({_strip(r) for r in result.rules})))


def _decide_keys(engine: Engine, reqs: Sequence[dict[str, Any]]) -> list[Key | None]:
    return [decision_key(r) for r in engine.decide_each(reqs, proofs=False)]


_ELEMENT_REQUIRED = {
    "trademarks": {"mark", "status"},
    "authorizations": {"brand"},
    "grants": {"kind", "status"},
    "violations": {"kind", "status"},
    "certifications": {"scheme"},
}


def _variants(node: Any, required: set[str], lists: bool = False) -> Iterable[Any]:
    """Simpler variants of one part of a request; `required` keys are kept."""
    if isinstance(node, dict):
        for k in node:
            if k not in required:
                yield {kk: vv for kk, vv in node.items() if kk != k}
        for k, value in node.items():
            inner = _ELEMENT_REQUIRED.get(k, set()) if lists else ({"amount", "currency"} if k == "price" else set())
            for v in _variants(value, inner):
                yield {**node, k: v}
    elif isinstance(node, list):
        for i in range(len(node)):
            if len(node) > 1:
                yield node[:i] + node[i + 1 :]
        for i in range(len(node)):
            for v in _variants(node[i], required):
                yield [*node[:i], v, *node[i + 1 :]]
    elif isinstance(node, float) and not node.is_integer():
        for digits in (0, 1, 2, 3):
            rounded = round(node, digits)
            if rounded != node:
                yield int(rounded) if digits == 0 else rounded
    elif isinstance(node, str) and "/" in node and node == node.lower():
        yield node.rsplit("/", 1)[0]


def _simplifications(req: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """Smaller or simpler variants of a request: a key or a list element dropped, a value simplified."""
    for root, required in (("seller", set()), ("product", {"category"})):
        for v in _variants(req[root], required, lists=True):
            yield {**req, root: v}
    if "marketplace" in req:
        yield {k: v for k, v in req.items() if k != "marketplace"}


def shrink(
    req: dict[str, Any], differs: Callable[[list[dict[str, Any]]], list[bool]], max_rounds: int = 100
) -> dict[str, Any]:
    """Greedy: take the first simpler variant that still differs, until none does.

    `differs` answers for a batch of candidates at once (one round decides all the variants of a request).
    """
    for _ in range(max_rounds):
        candidates = [c for c in _simplifications(req) if schemas.fast_checker("request")(c)]
        if not candidates:
            break
        answers = differs(candidates)
        better = next((c for c, yes in zip(candidates, answers, strict=True) if yes), None)
        if better is None:
            break
        req = better
    return req


def _size(req: dict[str, Any]) -> int:
    return len(json.dumps(req, sort_keys=True))


def _seed(*parts: Any) -> int:
    return zlib.crc32(json.dumps([str(p) for p in parts]).encode())


def default_dates(old: Engine, new: Engine, platform: str, today: dt.date | None = None) -> list[dt.date]:
    """Every date either side starts or ends a version of the platform, a day either side of it, and today."""
    days: set[dt.date] = set()
    for boundary in boundary_dates((*old.policies, *new.policies), platform):
        for delta in (-1, 0, 1):
            try:
                days.add(boundary + dt.timedelta(days=delta))
            except OverflowError:
                continue
    days.add(today or dt.datetime.now(dt.timezone.utc).date())
    return sorted(days)


def _in_force(engine: Engine, platform: str, day: dt.date) -> list[Policy]:
    return list(engine.in_force(platform, day)) if platform in engine.platforms else []


def diff_policies(
    old_spec: str | Path,
    new_spec: str | Path,
    *,
    platforms: Sequence[str] = (),
    dates: Sequence[dt.date] = (),
    budget: int = DEFAULT_BUDGET,
    seed: int = 0,
    cwd: str | Path | None = None,
    search_unchanged: bool = False,
) -> DiffReport:
    """The static changes and the semantic differences between two policy folders (or `git:REV`)."""
    old_side = open_side(str(old_spec), cwd)
    try:
        new_side = open_side(str(new_spec), cwd)
    except BaseException:
        old_side.close()
        raise
    try:
        old = _load(old_side)
        try:
            new = _load(new_side)
        except BaseException:
            old.close()
            raise
        try:
            known = old.platforms | new.platforms
            unknown = [p for p in platforms if p not in known]
            if unknown:
                raise LoadError(
                    [
                        Problem(
                            file="--platform",
                            pointer="",
                            message=f"no policy of either side governs {p!r}; expected one of: "
                            + ", ".join(sorted(known)),
                            code="PE040",
                        )
                        for p in unknown
                    ]
                )
            # Only the networks of the platforms searched are compiled (all of them, up front, so that a
            # side that cannot be compiled is reported before any search).
            for engine, side in ((old, old_side), (new, new_side)):
                with _on_side(side):
                    engine.prepare_all(platforms or None)
            taxonomies = {**load_taxonomies([old_side.path]), **load_taxonomies([new_side.path])}
            return diff_engines(
                old,
                new,
                platforms=platforms,
                dates=dates,
                budget=budget,
                seed=seed,
                taxonomies={k: v[1] for k, v in taxonomies.items()},
                old_side=old_side,
                new_side=new_side,
                search_unchanged=search_unchanged,
            )
        finally:
            old.close()
            new.close()
    finally:
        old_side.close()
        new_side.close()


def _load(side: PolicySide) -> Engine:
    with _on_side(side):
        return Engine.from_directory(side.path, prepare=False)


@contextlib.contextmanager
def _on_side(side: PolicySide) -> Iterator[None]:
    """Problems of loading or compiling a side name its files as the side shows them (e.g. `git:REV:path`)."""
    try:
        yield
    except (LoadError, CompileError) as exc:
        raise type(exc)(
            [
                Problem(file=side.display(p.file), pointer=p.pointer, message=p.message, code=p.code)
                for p in exc.problems
            ]
        ) from None


def diff_engines(
    old: Engine,
    new: Engine,
    *,
    platforms: Sequence[str] = (),
    dates: Sequence[dt.date] = (),
    budget: int = DEFAULT_BUDGET,
    seed: int = 0,
    taxonomies: dict[str, set[str]] | None = None,
    old_side: PolicySide | None = None,
    new_side: PolicySide | None = None,
    search_unchanged: bool = False,
) -> DiffReport:
    """`diff_policies` on two loaded engines."""
    static = static_changes(old, new, old_side, new_side)
    every = sorted(old.platforms | new.platforms)
    chosen = [p for p in every if not platforms or p in platforms]
    taxonomies = taxonomies or {}
    groups: dict[tuple[str, Key, Key], list[Any]] = {}  # -> [count, smallest example, as_of]
    searched: dict[str, int] = {}
    skipped = 0
    for platform in chosen:
        pools = Pools(
            [p for p in (*old.policies, *new.policies) if p.platform in (platform, "*")],
            taxonomies.get(platform, ()),
        )
        n = 0
        for day in dates or default_dates(old, new, platform):
            a, b = _in_force(old, platform, day), _in_force(new, platform, day)
            own_a = any(p.platform == platform for p in a)
            own_b = any(p.platform == platform for p in b)
            if not own_a and not own_b:
                continue
            if (
                not search_unchanged
                and own_a
                and own_b
                and _fingerprint(a) == _fingerprint(b)
                and old._platform_default(platform) == new._platform_default(platform)  # set by any version
            ):
                skipped += 1  # the same rules in force on both sides decide everything alike
                continue
            rng = random.Random(_seed(seed, platform, day))
            # The rules that decide differently (their conditions, data, or what derives what they use)
            # are built first: a change is searched where it is, then everywhere else.
            sig_a, sig_b = signatures(a), signatures(b)
            focus = {k for k in sig_a.keys() | sig_b.keys() if sig_a.get(k) != sig_b.get(k)}
            generator = RequestGenerator([a, b], platform, day, pools, rng, focus=focus)
            reqs = list(generator.stream(budget))
            n += len(reqs)
            keys_a, keys_b = _decide_keys(old, reqs), _decide_keys(new, reqs)
            for req, ka, kb in zip(reqs, keys_a, keys_b, strict=True):
                if ka is None or kb is None or ka == kb:
                    continue
                group = groups.setdefault((platform, ka, kb), [0, req, day.isoformat()])
                group[0] += 1
                if _size(req) < _size(group[1]):
                    group[1], group[2] = req, day.isoformat()
        searched[platform] = n
    flips = []
    for (platform, ka, kb), (count, example, as_of) in sorted(
        groups.items(), key=lambda g: (g[0][0], -g[1][0], g[1][2])
    ):

        def differs(batch: list[dict[str, Any]], ka: Key = ka, kb: Key = kb) -> list[bool]:
            pairs = zip(_decide_keys(old, batch), _decide_keys(new, batch), strict=True)
            return [a == ka and b == kb for a, b in pairs]

        small = shrink(example, differs)
        if not differs([small])[0] or schemas.validate("request", small):  # never report what does not hold
            continue
        old_d, new_d = _decide_full(old, small), _decide_full(new, small)
        flips.append(Flip(platform, as_of, ka, kb, count, small, old_d, new_d))
    total = sum(searched.values())
    return DiffReport(
        static=tuple(static),
        flips=tuple(flips),
        searched={"old": total, "new": total, "platforms": searched, "unchanged_dates_skipped": skipped},
        old_label=old_side.label if old_side else "old",
        new_label=new_side.label if new_side else "new",
    )


def _fingerprint(policies: Sequence[Policy]) -> list[str]:
    """What decides a request on a date, and nothing else: per policy in force its id, default outcome,
    named data and rules (id, conditions, conclusion, outcome). Versions, windows, messages, remedies,
    sources and the order of rules do not change an outcome or the deciding rules (versions left out)."""
    out = []
    for p in policies:
        rules = sorted(
            (r.id, json.dumps(condition_json(r.when), sort_keys=True), r.derive or "", r.outcome or "") for r in p.rules
        )
        data = json.dumps(p.data, sort_keys=True)
        out.append(json.dumps([p.platform, p.id, p.default_outcome, data, rules]))
    return sorted(out)


def _decide_full(engine: Engine, req: dict[str, Any]) -> Decision | None:
    result = engine.decide_each([req])[0]
    return result if isinstance(result, Decision) else None


def as_test_case(flip: Flip, number: int) -> dict[str, Any]:
    """The example of a group as an analyst test case, expecting what the new policies decide."""
    old_text, new_text = _key_text(flip.old), _key_text(flip.new)
    case: dict[str, Any] = {
        "name": f"{flip.platform}-diff-{number:03d}",
        "description": f"Found by policy-engine diff: was {old_text}, now {new_text} ({flip.count} requests alike).",
        "request": flip.example,
    }
    if flip.new[0] == NO_POLICY or flip.new_decision is None:
        case["expect"] = {"error": NO_POLICY}
    else:
        d = flip.new_decision
        case["expect"] = {"outcome": d.outcome, "rules": sorted(d.rules)}
    return case
