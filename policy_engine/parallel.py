"""Catalog-scale batches: decide in worker processes, one Engine each.

Processes give throughput on several cores (the rule engine holds the GIL) and contain the engine's
memory-safety defects: if a worker dies, the requests it was deciding are answered `deny` with the error
(fail closed) and a new worker takes the rest. The same function runs a partition of a Dask bag:
`bag.map_partitions(lambda part: decide_in_workers(list(part), workers=1))`.

Workers are started with the `spawn` method, so a script that calls this must do so under
`if __name__ == "__main__":` (each worker imports the main module).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import attrs

from .decision import Decision, request_digest
from .engine import Engine
from .explain import error_decision
from .request import normalize_request

__all__ = ["decide_in_workers"]

_ENGINE: Engine | None = None


def _start(paths: tuple[str, ...]) -> None:
    global _ENGINE
    _ENGINE = Engine.from_directory(*paths) if paths else Engine.default()


def _without_request(d: Decision) -> Decision:
    """The decision without its request, which the caller has, but with the request's digest (for its receipt)."""
    digest = request_digest(d.request) if d.request is not None else d.request_digest
    return attrs.evolve(d, request=None, request_digest=digest)


def _decide(chunk: list[dict[str, Any]], proofs: bool) -> list[Decision]:
    assert _ENGINE is not None
    # The request goes back to the caller anyway: not sending it again halves what crosses the pipe.
    return [_without_request(d) for d in _ENGINE.decide_many(chunk, proofs=proofs)]


def decide_in_workers(
    requests: Iterable[Any],
    *,
    policies: Sequence[str | Path] = (),
    workers: int | None = None,
    chunk_size: int = 256,
    proofs: bool = False,
) -> list[Decision]:
    """Decide requests in `workers` processes (default: one per core), in order.

    A bad request raises RequestError (from the worker that met it). The decisions do not carry the
    request (`Decision.request` is None): the caller has it. They carry its digest, for their receipts.
    """
    reqs = list(requests)
    chunks = [reqs[i : i + chunk_size] for i in range(0, len(reqs), chunk_size)]
    paths = tuple(str(p) for p in policies)
    results = _run(chunks, list(range(len(chunks))), paths, workers, proofs)
    # A dead worker breaks the whole pool, so which chunk killed it is unknown: run each affected chunk
    # again alone; one that kills its worker again is answered deny (fail closed).
    for i in [i for i, r in enumerate(results) if r is None]:
        results[i] = _run(chunks, [i], paths, 1, proofs)[i]
        if results[i] is None:
            results[i] = [
                _without_request(
                    error_decision(r["platform"], r["as_of"], "the worker process deciding this request died", None, r)
                )
                for r in (normalize_request(x) for x in chunks[i])
            ]
    return [d for chunk in results if chunk is not None for d in chunk]


def _run(
    chunks: list[list[dict[str, Any]]], which: list[int], paths: tuple[str, ...], workers: int | None, proofs: bool
) -> list[list[Decision] | None]:
    results: list[list[Decision] | None] = [None] * len(chunks)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start, initargs=(paths,)) as pool:
        futures = {i: pool.submit(_decide, chunks[i], proofs) for i in which}
        for i, future in futures.items():
            try:
                results[i] = future.result()
            except BrokenProcessPool:
                results[i] = None
    return results
