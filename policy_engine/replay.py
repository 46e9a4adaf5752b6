"""Catalog replay: decide every line of a catalog under two policy sets and group what changes.

A catalog is JSON lines, one request a line (a file, a folder of `.jsonl` files, or standard input).
Each line is decided under OLD and NEW; a line *flips* when the outcome or the set of deciding rules
(versions stripped, as in `diff`) differs. Flips are grouped by platform and (old outcome and rules →
new outcome and rules), with counts, the sellers, categories and lines most affected.

It runs in this process by default, or on a Dask cluster (`workers=N` starts a `LocalCluster` on this
machine; `scheduler=ADDRESS` uses a running one). Lines travel in chunks; each chunk comes back as a
small partial report, so memory stays bounded whatever the size of the catalog, and the partial
reports merge to exactly the local result. The policies travel as data (file texts), so workers need
no access to the client's files; each worker process loads them once. A chunk whose worker dies is run
again once; if it fails again its lines are reported as failed, never dropped and never allowed.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import hashlib
import io
import json
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import attrs

from ._pipeline import load_texts
from ._pipeline.load import decode_utf8, parse_json, read_sources, source_text
from .decision import Decision
from .engine import Engine
from .errors import ItemError, LoadError, Problem

__all__ = [
    "FlipGroup",
    "Line",
    "Progress",
    "ReplayReport",
    "decide_catalog_on_dask",
    "map_chunks",
    "policy_texts",
    "read_catalog",
    "replay",
]

TOP = 5  # sellers, categories and example lines kept per group
DEFAULT_CHUNK = 500


@attrs.frozen
class Line:
    """One catalog line: where it is (`file:line`) and its text."""

    label: str
    text: str


def read_catalog(source: str, stdin: TextIO | None = None) -> Iterator[Line]:
    """The non-blank lines of a `.jsonl` file, of every `.jsonl` file under a folder (sorted), or of stdin."""
    if source == "-":
        stream = stdin or sys.stdin
        for n, text in enumerate(stream, start=1):
            if text.strip():
                yield Line(f"<stdin>:{n}", text)
        return
    path = Path(source)
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() == ".jsonl") if path.is_dir() else [path]
    if not files:
        raise LoadError(
            [
                Problem(
                    file=source, pointer="", message="no .jsonl files in this folder; expected a catalog", code="PE001"
                )
            ]
        )
    for file in files:
        try:
            with open(file, encoding="utf-8", errors="surrogateescape") as fh:
                for n, text in enumerate(fh, start=1):
                    if text.strip():
                        yield Line(f"{file}:{n}", text)
        except OSError as exc:
            raise LoadError(
                [Problem(file=str(file), pointer="", message=f"cannot read the catalog: {exc}", code="PE001")]
            ) from None


def policy_texts(paths: Sequence[str | Path]) -> dict[str, str]:
    """The policy files under `paths` as data: {file name as the user gave it: text}, for sending to workers.

    Workers load them from memory (`load_texts`): nothing is written to disk, and problems and proofs
    name the user's files.
    """
    sources, problems = read_sources(paths)  # the folders' problems, as loading them from disk finds them
    out: dict[str, str] = {}
    for source in sources:
        text, errs = source_text(source)  # unreadable or not UTF-8: the problem loading from disk gives
        problems.extend(errs)
        if text is not None:
            out[source.file] = text
    if problems:
        raise LoadError(problems)
    return out


_ENGINES: dict[str, Engine] = {}  # per process: engines built from policy data, by digest


def _digest(texts: dict[str, str], verify: float) -> str:
    return hashlib.sha256(json.dumps([texts, verify], sort_keys=True).encode("utf-8", "surrogatepass")).hexdigest()


def _release(texts: dict[str, str], verify: float) -> None:
    """Close an engine this process built for a replay."""
    engine = _ENGINES.pop(_digest(texts, verify), None)
    if engine is not None:
        engine.close()


def _engine_for(texts: dict[str, str], verify: float) -> Engine:
    digest = _digest(texts, verify)
    engine = _ENGINES.get(digest)
    if engine is None:
        engine = _ENGINES[digest] = Engine(load_texts(texts), verify=verify)
    return engine


def _key(d: Decision) -> tuple[str, tuple[str, ...]]:
    return d.outcome, tuple(sorted({r.partition("@")[0] + "#" + r.partition("#")[2] for r in d.rules}))


@attrs.define
class _Group:
    count: int = 0
    lines: list[str] = attrs.field(factory=list)
    sellers: collections.Counter[str] = attrs.field(factory=collections.Counter)
    categories: collections.Counter[str] = attrs.field(factory=collections.Counter)
    example: tuple[str, Any] | None = None  # (line, request) of the earliest line


@attrs.define
class _Partial:
    """What one chunk contributes; partials merge in any order to the same report."""

    decided: int = 0
    bad: list[tuple[str, str]] = attrs.field(factory=list)
    failed: list[tuple[str, str]] = attrs.field(factory=list)
    platforms: collections.Counter[str] = attrs.field(factory=collections.Counter)
    groups: dict[tuple[Any, ...], _Group] = attrs.field(factory=dict)

    def merge(self, other: _Partial) -> None:
        self.decided += other.decided
        self.bad += other.bad
        self.failed += other.failed
        self.platforms.update(other.platforms)
        for key, g in other.groups.items():
            mine = self.groups.setdefault(key, _Group())
            mine.count += g.count
            mine.lines = sorted([*mine.lines, *g.lines], key=_line_order)[:TOP]
            mine.sellers.update(g.sellers)
            mine.categories.update(g.categories)
            examples = [e for e in (mine.example, g.example) if e is not None]
            mine.example = min(examples, key=lambda e: _line_order(e[0])) if examples else None


def _parse_line(line: Line) -> tuple[Any, str | None]:
    """A line's request, or why it is not one: read as `policy-engine decide` reads a file (bytes that are not
    UTF-8, malformed JSON, a key repeated in one object, nesting too deep, numbers the engine cannot read)."""
    text, problems = decode_utf8(line.text.encode("utf-8", "surrogateescape"), line.label)
    if text is not None:
        value, problems = parse_json(text, line.label)
        if not problems:
            return value, None
    return None, "; ".join(f"{p.pointer}: {p.message}" if p.pointer else p.message for p in problems)


def _line_order(label: str) -> tuple[str, int]:
    file, _, n = label.rpartition(":")
    return file, int(n) if n.isdigit() else 0


def _replay_chunk(old: dict[str, str], new: dict[str, str], lines: list[Line], verify: float) -> _Partial:
    """Decide one chunk under both policy sets (in whatever process runs it)."""
    part = _Partial()
    raw: list[Any] = []
    labels: list[str] = []
    for line in lines:
        value, problem = _parse_line(line)
        if problem is None:
            raw.append(value)
            labels.append(line.label)
        else:
            part.bad.append((line.label, problem))
    # the requests were parsed here: the engines read them without a copy (neither changes them)
    before = _engine_for(old, verify)._decide_each(raw, None, False, owned=True)
    after = _engine_for(new, verify)._decide_each(raw, None, False, owned=True)
    for label, request, a, b in zip(labels, raw, before, after, strict=True):
        if isinstance(a, ItemError) or isinstance(b, ItemError):
            err = a if isinstance(a, ItemError) else b
            assert isinstance(err, ItemError)
            side = "old" if err is a else "new"
            part.bad.append((label, f"{err.kind} ({side} policies): {err.message}"))
            continue
        part.decided += 1
        part.platforms[a.platform] += 1
        if a.error or b.error:  # an engine fault on either side: reported, never counted as a flip
            part.failed.append((label, a.error or b.error or ""))
            continue
        if _key(a) == _key(b):
            continue
        key = (a.platform, *_key(a), *_key(b))
        group = part.groups.setdefault(key, _Group())
        group.count += 1
        if len(group.lines) < TOP:
            group.lines.append(label)
        if group.example is None:
            group.example = (label, request)
        seller = (request.get("seller") or {}).get("id") if isinstance(request, dict) else None
        category = (request.get("product") or {}).get("category") if isinstance(request, dict) else None
        group.sellers[str(seller) if seller is not None else "(no id)"] += 1
        group.categories[str(category) if category is not None else "(none)"] += 1
    return part


@attrs.frozen(kw_only=True)
class FlipGroup:
    """Lines of one platform whose decision moved the same way."""

    platform: str
    old: tuple[str, tuple[str, ...]]
    new: tuple[str, tuple[str, ...]]
    count: int
    lines: tuple[str, ...]
    sellers: tuple[tuple[str, int], ...]
    categories: tuple[tuple[str, int], ...]
    example: dict[str, Any] | None = attrs.field(eq=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "old": {"outcome": self.old[0], "rules": list(self.old[1])},
            "new": {"outcome": self.new[0], "rules": list(self.new[1])},
            "count": self.count,
            "lines": list(self.lines),
            "sellers": [{"seller": s, "count": n} for s, n in self.sellers],
            "categories": [{"category": c, "count": n} for c, n in self.categories],
            "example": self.example,
        }


@attrs.frozen(kw_only=True)
class ReplayReport:
    """What a replay found: lines decided, bad and failed lines, and the flips grouped."""

    decided: int
    bad: tuple[tuple[str, str], ...]
    failed: tuple[tuple[str, str], ...]
    platforms: tuple[tuple[str, int], ...]
    flips: tuple[FlipGroup, ...]
    seconds: float = attrs.field(eq=False, default=0.0)

    @property
    def flipped(self) -> int:
        return sum(f.count for f in self.flips)

    def to_dict(self) -> dict[str, Any]:
        return {
            "decided": self.decided,
            "flipped": self.flipped,
            "platforms": dict(self.platforms),
            "flips": [f.to_dict() for f in self.flips],
            "bad": [{"line": label, "message": m} for label, m in self.bad],
            "failed": [{"line": label, "error": m} for label, m in self.failed],
        }

    def to_text(self) -> str:
        out = [
            f"{self.decided} lines decided on {len(self.platforms)} platform(s), "
            f"{self.flipped} flipped, {len(self.bad)} bad, {len(self.failed)} failed"
        ]
        for f in self.flips:
            old = f"{f.old[0]} [{', '.join(f.old[1])}]"
            new = f"{f.new[0]} [{', '.join(f.new[1])}]"
            out.append(f"  {f.count:>7}  {f.platform}: {old} -> {new}")
            out.append(f"           sellers: {', '.join(f'{s} ({n})' for s, n in f.sellers)}")
            out.append(f"           categories: {', '.join(f'{c} ({n})' for c, n in f.categories)}")
            out.append(f"           e.g. {', '.join(f.lines)}")
        for label, message in self.bad[:20]:
            out.append(f"  bad {label}: {message}")
        if len(self.bad) > 20:
            out.append(f"  ... {len(self.bad) - 20} more bad lines")
        for label, message in self.failed[:20]:
            out.append(f"  failed {label}: {message}")
        return "\n".join(out)

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(
            [
                "platform",
                "old_outcome",
                "old_rules",
                "new_outcome",
                "new_rules",
                "count",
                "lines",
                "sellers",
                "categories",
            ]
        )
        for f in self.flips:
            writer.writerow(
                [
                    f.platform,
                    f.old[0],
                    " ".join(f.old[1]),
                    f.new[0],
                    " ".join(f.new[1]),
                    f.count,
                    " ".join(f.lines),
                    " ".join(f"{s}={n}" for s, n in f.sellers),
                    " ".join(f"{c}={n}" for c, n in f.categories),
                ]
            )
        return buf.getvalue()


def _report(total: _Partial, seconds: float) -> ReplayReport:
    flips = [
        FlipGroup(
            platform=key[0],
            old=(key[1], key[2]),
            new=(key[3], key[4]),
            count=g.count,
            lines=tuple(g.lines),
            sellers=tuple(sorted(g.sellers.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]),
            categories=tuple(sorted(g.categories.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]),
            example=g.example[1] if g.example else None,
        )
        for key, g in total.groups.items()
    ]
    flips.sort(key=lambda f: (-f.count, f.platform, f.old, f.new))
    return ReplayReport(
        decided=total.decided,
        bad=tuple(sorted(total.bad, key=lambda b: _line_order(b[0]))),
        failed=tuple(sorted(total.failed, key=lambda b: _line_order(b[0]))),
        platforms=tuple(sorted(total.platforms.items())),
        flips=tuple(flips),
        seconds=seconds,
    )


def _chunks(lines: Iterable[Line], size: int) -> Iterator[list[Line]]:
    chunk: list[Line] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class Progress:
    """Lines per second and an estimate of the time left, on a terminal only (silent otherwise)."""

    def __init__(self, stream: TextIO | None, total: int | None) -> None:
        self.stream = stream if stream is not None and stream.isatty() else None
        self.total = total
        self.start = time.monotonic()
        self.last = 0.0

    def update(self, done: int, final: bool = False) -> None:
        if self.stream is None:
            return
        now = time.monotonic()
        if not final and now - self.last < 0.2:
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        text = f"\r{done:,} lines, {rate:,.0f} lines/s"
        if self.total:
            left = max(self.total - done, 0) / rate if rate else 0.0
            text += f", {100 * done / self.total:.0f}%, about {left:.0f} s left"
        self.stream.write(text + ("\n" if final else ""))
        self.stream.flush()


def replay(
    lines: Iterable[Line],
    old: Sequence[str | Path],
    new: Sequence[str | Path],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    verify: float = 0.0,
    progress: TextIO | None = None,
    total: int | None = None,
) -> ReplayReport:
    """Decide every line under the OLD and NEW policy folders; the flips, grouped.

    Both sets are loaded (and checked) here first, so bad policies raise LoadError before any line is
    read. With `workers` or `scheduler` the chunks run on Dask (the `dask` extra); otherwise here.
    """
    old_texts, new_texts = policy_texts(old), policy_texts(new)
    try:
        _engine_for(old_texts, verify)  # bad policies fail here, with their file and pointer
        _engine_for(new_texts, verify)
        return _replay(lines, old_texts, new_texts, workers, scheduler, chunk_size, verify, progress, total)
    finally:
        _release(old_texts, verify)
        _release(new_texts, verify)


def _replay(
    lines: Iterable[Line],
    old_texts: dict[str, str],
    new_texts: dict[str, str],
    workers: int | None,
    scheduler: str | None,
    chunk_size: int,
    verify: float,
    progress: TextIO | None,
    total: int | None,
) -> ReplayReport:
    start = time.monotonic()
    meter = Progress(progress, total)
    total_part = _Partial()
    done = 0
    if workers is None and scheduler is None:
        for chunk in _chunks(lines, chunk_size):
            total_part.merge(_replay_chunk(old_texts, new_texts, chunk, verify))
            done += len(chunk)
            meter.update(done)
    else:
        for chunk_lines, part in _on_dask(lines, old_texts, new_texts, verify, chunk_size, workers, scheduler):
            total_part.merge(part)
            done += chunk_lines
            meter.update(done)
    meter.update(done, final=True)
    return _report(total_part, time.monotonic() - start)


def _on_dask(
    lines: Iterable[Line],
    old: dict[str, str],
    new: dict[str, str],
    verify: float,
    chunk_size: int,
    workers: int | None,
    scheduler: str | None,
) -> Iterator[tuple[int, _Partial]]:
    def lost(chunk: list[Line]) -> _Partial:
        return _Partial(failed=[(line.label, _DIED) for line in chunk])

    for chunk, part in map_chunks(
        _replay_chunk, _chunks(lines, chunk_size), (old, new), (verify,), lost, workers, scheduler
    ):
        yield len(chunk), part


_DIED = "the worker deciding this line died twice; it was not decided"


def _decide_chunk(
    texts: dict[str, str], lines: list[Line], verify: float, proofs: bool, as_of: dt.date | str | None = None
) -> list[dict[str, Any]]:
    """Decide one chunk under one policy set: per line, the decision's dict or an error record."""
    engine = _engine_for(texts, verify)
    out: list[dict[str, Any] | None] = [None] * len(lines)
    raw: list[Any] = []
    where: list[int] = []
    for i, line in enumerate(lines):
        value, problem = _parse_line(line)
        if problem is None:
            raw.append(value)
            where.append(i)
        else:
            out[i] = {"line": line.label, "error": "json", "message": problem}
    for i, result in zip(where, engine._decide_each(raw, as_of, proofs, owned=True), strict=True):
        if isinstance(result, ItemError):
            out[i] = {"line": lines[i].label, **result.to_dict()}
            out[i].pop("index", None)  # type: ignore[union-attr]
        else:
            out[i] = result.to_dict()
    return [o for o in out if o is not None]


def decide_catalog_on_dask(
    lines: Iterable[Line],
    policies: Sequence[str | Path],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    verify: float = 0.0,
    proofs: bool = False,
    as_of: dt.date | str | None = None,
) -> Iterator[dict[str, Any]]:
    """Decide every line on Dask, in order: each decision's dict, or an error record with its line; `as_of`
    decides every line on that date, as `Engine.decide_each(..., as_of=)`."""
    texts = policy_texts(policies)
    _engine_for(texts, verify)  # bad policies fail here, with their file and pointer
    _release(texts, verify)

    def lost(chunk: list[Line]) -> list[dict[str, Any]]:
        return [{"line": line.label, "error": "engine", "message": _DIED} for line in chunk]

    for _chunk, results in map_chunks(
        _decide_chunk, _chunks(lines, chunk_size), (texts,), (verify, proofs, as_of), lost, workers, scheduler
    ):
        yield from results


def map_chunks(
    fn: Any,
    chunks: Iterable[list[Line]],
    shared: tuple[Any, ...],
    extra: tuple[Any, ...],
    lost: Any,
    workers: int | None,
    scheduler: str | None,
) -> Iterator[tuple[list[Line], Any]]:
    """`fn(*shared, chunk, *extra)` for every chunk on Dask, results in chunk order, few chunks in flight.

    `shared` values are sent once per worker that needs them. A chunk whose worker dies is run once more (the
    scheduler's allowed failures); if that dies too, `lost(chunk)` stands for its result.
    """
    try:
        import dask
        from distributed import Client, LocalCluster
        from distributed.scheduler import KilledWorker
    except ImportError:
        raise LoadError(
            [
                Problem(
                    file="--workers/--scheduler",
                    pointer="",
                    message='running on Dask needs the dask extra: pip install "policy-engine[dask]"',
                    code="PE001",
                )
            ]
        ) from None
    # A chunk is retried once after its worker died. Workers take one chunk per thread at a time, so a
    # death makes only the running chunk suspect, not chunks queued behind it.
    config = {"distributed.scheduler.allowed-failures": 1, "distributed.scheduler.worker-saturation": 1.0}
    with dask.config.set(config):
        cluster: Any = None
        if scheduler is None:
            cluster = LocalCluster(n_workers=workers or 1, threads_per_worker=1, processes=True, dashboard_address=None)
        client: Any = Client(scheduler or cluster)
        try:
            # Shared values are tasks, not scattered data: a task's result lost with its worker is
            # recomputed by the scheduler, scattered data would be lost for good.
            scattered = [client.submit(_same, value, pure=False) for value in shared]
            window = 2 * max(len(client.scheduler_info().get("workers", {})), 1) + 2
            queue: collections.deque[tuple[list[Line], Any]] = collections.deque()
            for chunk in chunks:
                queue.append((chunk, client.submit(fn, *scattered, chunk, *extra, pure=False)))
                if len(queue) >= window:
                    yield _result(*queue.popleft(), lost, KilledWorker)
            while queue:
                yield _result(*queue.popleft(), lost, KilledWorker)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


def _same(value: Any) -> Any:
    return value


def _result(chunk: list[Line], future: Any, lost: Any, killed: type[BaseException]) -> tuple[list[Line], Any]:
    try:
        return chunk, future.result()
    except killed:
        return chunk, lost(chunk)
