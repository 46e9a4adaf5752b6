"""Catalog-scale batches: decide in worker processes, one Engine each.

Processes give throughput on several cores (the rule engine holds the GIL) and contain the engine's
memory-safety defects. A `WorkerPool` starts its workers once (each loads and compiles the policies) and
reuses them for every chunk and every call. If a worker dies, only the chunk it held is affected: it is
run again once on a fresh worker, and if that worker dies too its requests are answered `deny` with the
error (fail closed: never an allow, never dropped). The other workers carry on undisturbed.

Workers are fresh interpreters started on a module of this package, not on the caller's script, so a
script needs no `if __name__ == "__main__":` guard. The same functions run a partition of a Dask bag:
`bag.map_partitions(lambda part: decide_in_workers(list(part), workers=1))`.

Test hook: if the environment variable `POLICY_ENGINE_TEST_WORKER_CRASH` is set to `TOKEN` when a call
starts, a worker kills itself (SIGKILL) before deciding any chunk in which some request's JSON text
contains `TOKEN`; with `TOKEN@FILE` it does so only if it can delete `FILE` first (so exactly once). It
exists to test and measure recovery from a worker death; leave it unset otherwise.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import threading
import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from ._pipeline.explain import error_decision
from ._pipeline.load import path_list
from ._pipeline.request import normalize_request, own_copy
from ._tools.child import Child, ChildDied
from .decision import Decision, request_digest
from .engine import Engine
from .errors import ItemError, PolicyEngineError, RequestError, UnknownPlatformError

__all__ = ["WorkerPool", "WorkerStartError", "decide_each_in_workers", "decide_in_workers"]

CRASH_ENV = "POLICY_ENGINE_TEST_WORKER_CRASH"
DEFAULT_CHUNK = 256

Result = Decision | ItemError


class WorkerStartError(PolicyEngineError):
    """A worker process died twice in a row while loading the policies: nothing was decided."""


# --- in the worker process -------------------------------------------------------------------------

_ENGINE: Engine | None = None


def _load(paths: tuple[str, ...]) -> int:
    global _ENGINE
    _ENGINE = Engine.from_directory(*paths) if paths else Engine.default()
    return os.getpid()


def _decide_chunk(chunk: list[Any], as_of: dt.date | None, proofs: bool, crash: str | None) -> list[Result]:
    assert _ENGINE is not None
    if crash:
        _crash_hook(chunk, crash)
    # The request goes back to the caller anyway: not sending it again halves what crosses the pipe.
    return [
        _without_request(r) if isinstance(r, Decision) else r
        for r in _ENGINE._decide_each(chunk, as_of, proofs, owned=True)  # unpickled here: the worker's own
    ]


def _without_request(d: Decision) -> Decision:
    """The decision without its request, which the caller has, but with the request's digest (for its receipt)."""
    digest = request_digest(d.request) if d.request is not None else d.request_digest
    return attrs.evolve(d, request=None, request_digest=digest)


def _crash_hook(chunk: list[Any], crash: str) -> None:
    token, _, path = crash.partition("@")
    if any(token in json.dumps(r, default=str) for r in chunk):
        if path:
            try:
                os.unlink(path)
            except FileNotFoundError:
                return
        os.kill(os.getpid(), signal.SIGKILL)


# --- in the calling process ------------------------------------------------------------------------


class _Worker:
    def __init__(self, child: Child) -> None:
        self.child = child
        self.loading = True  # the answer to `_load` has not been read yet


def _close_all(slots: list[_Worker | None]) -> None:
    for i, worker in enumerate(slots):
        if worker is not None:
            worker.child.close()
            slots[i] = None


class WorkerPool:
    """Worker processes that each hold one Engine, started once and reused by every call.

    ```python
    with WorkerPool(policies=["policies"], workers=2) as pool:
        decisions = pool.decide(requests)          # like Engine.decide_many
        results = pool.decide_each(requests)       # like Engine.decide_each: ItemError in place
    ```

    Requests go out in chunks of `chunk_size`, each to the next idle worker. `starts` counts the worker
    processes started so far (one per worker, plus one for each that died). One call at a time runs.
    """

    def __init__(
        self,
        policies: Sequence[str | Path] = (),
        *,
        workers: int | None = None,
        chunk_size: int = DEFAULT_CHUNK,
    ) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        self._paths = tuple(str(p) for p in path_list(policies, "policies"))
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.chunk_size = chunk_size
        self.starts = 0
        self._call_lock = threading.Lock()
        self._lock = threading.Lock()
        self._slots: list[_Worker | None] = [None] * self.workers
        self._finalizer = weakref.finalize(self, _close_all, self._slots)
        for slot in range(self.workers):  # every worker loads the policies at the same time
            self._slots[slot] = self._start()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers."""
        self._finalizer()

    @property
    def pids(self) -> list[int]:
        """Process ids of the live workers."""
        return [w.child.pid for w in self._slots if w is not None]

    def decide(self, requests: Iterable[Any], *, as_of: dt.date | None = None, proofs: bool = False) -> list[Decision]:
        """Decide requests in order, like `Engine.decide_many`: a bad request raises its RequestError.

        The decisions do not carry the request (`Decision.request` is None): the caller has it.
        """
        return _decisions(self.decide_each(requests, as_of=as_of, proofs=proofs))

    def decide_each(
        self, requests: Iterable[Any], *, as_of: dt.date | None = None, proofs: bool = False
    ) -> list[Result]:
        """Decide requests in order, like `Engine.decide_each`: a bad request gives an `ItemError` in its
        place, with its index in `requests`. Every request gets exactly one result."""
        return self._decide_read(_read(requests), as_of, proofs)

    def _decide_read(self, reqs: list[Any], as_of: dt.date | None, proofs: bool) -> list[Result]:
        """`decide_each` of requests already read (`_read`)."""
        size = self.chunk_size
        chunks = [reqs[i : i + size] for i in range(0, len(reqs), size)]
        crash = os.environ.get(CRASH_ENV) or None
        results: list[list[Result] | None] = [None] * len(chunks)
        pending = iter(range(len(chunks)))
        errors: list[BaseException] = []

        def drive(slot: int) -> None:
            try:
                while not errors:
                    with self._lock:
                        i = next(pending, None)
                    if i is None:
                        return
                    results[i] = self._chunk(slot, chunks[i], i * size, as_of, proofs, crash)
            except BaseException as exc:
                errors.append(exc)

        with self._call_lock:
            if not self._finalizer.alive:
                raise ValueError("the worker pool is closed")
            threads = [threading.Thread(target=drive, args=(s,), daemon=True) for s in range(self.workers)]
            started = threads[: len(chunks)]
            for t in started:
                t.start()
            try:
                for t in started:
                    t.join()
            except BaseException as exc:  # interrupted: let every worker finish its chunk before leaving
                errors.append(exc)
                for t in started:
                    t.join()
                raise
        if errors:
            raise errors[0]
        return [r for chunk in results if chunk is not None for r in chunk]

    def _start(self) -> _Worker:
        child = Child()
        with contextlib.suppress(ChildDied):  # reading its answer raises it again, where it is handled
            child.send(_load, self._paths)
        with self._lock:
            self.starts += 1
        return _Worker(child)

    def _ready(self, slot: int) -> _Worker:
        """The worker in `slot`, started if there is none, once it has loaded the policies."""
        for attempt in (1, 2):
            worker = self._slots[slot]
            if worker is None:
                worker = self._slots[slot] = self._start()
            if not worker.loading:
                return worker
            try:
                worker.child.recv()
                worker.loading = False
                return worker
            except ChildDied as died:
                self._slots[slot] = None
                if attempt == 2:
                    raise WorkerStartError(f"a worker process {died.describe()} while loading the policies") from died
            except BaseException:  # LoadError, CompileError: the policies are bad; nothing is decided
                worker.child.close()
                self._slots[slot] = None
                raise
        raise AssertionError("unreachable")

    def _chunk(
        self, slot: int, chunk: list[Any], offset: int, as_of: dt.date | None, proofs: bool, crash: str | None
    ) -> list[Result]:
        """Decide one chunk on the worker in `slot`; once more on a fresh worker if it dies; then deny."""
        died: ChildDied | None = None
        for _attempt in (1, 2):
            worker = self._ready(slot)
            try:
                out: list[Result] = worker.child.call(_decide_chunk, chunk, as_of, proofs, crash)
            except ChildDied as exc:
                self._slots[slot] = None  # its replacement starts when this slot next needs a worker
                died = exc
                continue
            return [attrs.evolve(r, index=offset + r.index) if isinstance(r, ItemError) else r for r in out]
        assert died is not None
        return _fail_closed(chunk, offset, as_of, f"the worker process deciding this request {died.describe()} (twice)")


def _fail_closed(chunk: list[Any], offset: int, as_of: dt.date | None, error: str) -> list[Result]:
    """A `deny` carrying the error for every request of a chunk no worker could decide."""
    out: list[Result] = []
    for i, raw in enumerate(chunk):
        try:
            req = normalize_request(raw, as_of=as_of)
        except RequestError as exc:
            out.append(ItemError(index=offset + i, problems=exc.problems))
            continue
        out.append(_without_request(error_decision(req.platform, req.body["as_of"], error, None, req)))
    return out


def decide_in_workers(
    requests: Iterable[Any],
    *,
    policies: Sequence[str | Path] = (),
    workers: int | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    proofs: bool = False,
    as_of: dt.date | None = None,
) -> list[Decision]:
    """Decide requests in `workers` processes (default: one per core), in order, like `Engine.decide_many`.

    A bad request raises RequestError. The decisions do not carry the request (`Decision.request` is
    None): the caller has it. To decide several batches, keep a `WorkerPool` instead (workers start once).
    """
    reqs = _read(requests)
    if not reqs:
        return []
    with _pool_for(reqs, policies, workers, chunk_size) as pool:
        return _decisions(pool._decide_read(reqs, as_of, proofs))


def _decisions(results: list[Result]) -> list[Decision]:
    """The decisions, or the first bad request's error (as `Engine.decide_many` raises it)."""
    for r in results:
        if isinstance(r, ItemError):
            error = UnknownPlatformError if r.kind == "platform" else RequestError
            raise error(r.problems, index=r.index)
    return [r for r in results if isinstance(r, Decision)]


def decide_each_in_workers(
    requests: Iterable[Any],
    *,
    policies: Sequence[str | Path] = (),
    workers: int | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    proofs: bool = False,
    as_of: dt.date | None = None,
) -> list[Decision | ItemError]:
    """Like `decide_in_workers`, with per-item results like `Engine.decide_each`: a bad request gives an
    `ItemError` in its place, with its index in `requests`."""
    reqs = _read(requests)
    if not reqs:
        return []
    with _pool_for(reqs, policies, workers, chunk_size) as pool:
        return pool._decide_read(reqs, as_of, proofs)


def _read(requests: Iterable[Any]) -> list[Any]:
    """The requests, each as a copy taken when it is read: they are sent to the workers only once all are
    read, and a caller that changes a request's objects after handing it over (a generator reusing one
    seller dict) must not change what is decided (as `Engine.decide_many` reads them)."""
    return [own_copy(raw) for raw in requests]


def _pool_for(reqs: list[Any], policies: Sequence[str | Path], workers: int | None, chunk_size: int) -> WorkerPool:
    chunks = max(1, -(-len(reqs) // max(1, chunk_size)))
    return WorkerPool(policies, workers=min(workers or os.cpu_count() or 1, chunks), chunk_size=chunk_size)
