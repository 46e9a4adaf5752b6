#!/usr/bin/env python3
"""The rule engine's own cost per decision: a floor under any Python around it.

Decides the peer scenario and the catalog workload once with `decide_many` while recording every call
into durable_rules' C core (assert, retract, start and complete actions, the emptiness check), then
replays exactly those calls with their prepared JSON payloads and nothing else: no request checking,
no fact building, no JSON encoding or decoding, no decision objects. The replay's time per decision is
what the engine costs by itself on these rules; compare it with ZEN and with `decide_many` measured in
the same process (CPU time of this process, so other load on the machine counts less):

    python bench/floor.py                 # N=4000, 3 rounds
    python bench/floor.py --n 20000 --rounds 9   # on a busy machine: the median of 9 rounds' ratios
    python bench/floor.py --n 20000
    python bench/floor.py --n 20000 --stages   # and where decide_many's time goes, stage by stage
    python bench/floor.py --n 20000 --workloads catalog   # the catalog alone, in a process nothing ran in

Needs the peer harness beside the repository (`../shared/bench/peers`); ZEN's row appears when its
package (`zen-engine`) is installed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PEERS = REPO.parent / "shared" / "bench" / "peers"
_CALLS = (
    "assert_facts",
    "assert_fact",
    "retract_facts",
    "retract_fact",
    "start_action_for_state",
    "complete_and_start_action",
    "get_facts",
    "delete_state",
)


def record(decide_many: Callable[[list[Any]], Any], reqs: list[Any]) -> list[tuple[str, tuple[Any, ...]]]:
    """Every C call that deciding the requests makes, with its arguments."""
    import _policy_engine_dre as dre

    from policy_engine._pipeline import runtime

    calls: list[tuple[str, tuple[Any, ...]]] = []

    class Recorder:
        def __getattr__(self, name: str) -> Any:
            real = getattr(dre, name)

            def call(*args: Any) -> Any:
                calls.append((name, args))
                return real(*args)

            return call

    runtime.dre = Recorder()  # type: ignore[assignment]
    try:
        decide_many(reqs)
    finally:
        runtime.dre = dre
    return calls


def replay(calls: list[tuple[str, tuple[Any, ...]]]) -> None:
    """The same calls again; action calls take the state handle the last assert or retract returned."""
    import _policy_engine_dre as dre

    fns = {name: getattr(dre, name) for name in _CALLS}
    state = None
    for name, args in calls:
        if name in ("start_action_for_state", "complete_and_start_action"):
            args = (args[0], state)
        result = fns[name](*args)
        if name in ("assert_facts", "assert_fact", "retract_facts", "retract_fact"):
            state = result[1]


def cpu(fn: Callable[[], Any]) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


STAGES = ("read", "facts", "engine", "decision")


def stages(engine: Any, reqs: list[Any], rounds: int) -> dict[str, float]:
    """CPU µs per request of each stage of `decide_many(reqs, proofs=False)`, run one stage at a time
    over the whole workload, as decide_many runs them (median of the rounds), with the collector paused
    as decide_many pauses it: reading and checking the requests (`RequestReader`), building their facts
    (a run's context once, then each item), the network (`Network.run` and `run_shared`: encoding,
    the C calls, decoding the engine's messages, the traces) and building the decisions."""
    from policy_engine._pipeline.gcpause import gc_paused

    times: dict[str, list[float]] = {name: [] for name in STAGES}
    for _ in range(rounds):
        with gc_paused():
            for name, seconds in _stage_times(engine, reqs).items():
                times[name].append(seconds / len(reqs) * 1e6)
    return {name: statistics.median(values) for name, values in times.items()}


def _stage_times(engine: Any, reqs: list[Any]) -> dict[str, float]:

    from policy_engine._pipeline.explain import build_decisions
    from policy_engine._pipeline.request import RequestReader

    out: dict[str, float] = {}
    t = time.process_time()
    read = RequestReader()
    normalized = [read(r) for r in reqs]
    out["read"] = time.process_time() - t
    groups: list[tuple[Any, list[Any]]] = []  # (prepared network, the requests of one run)
    start = 0
    while start < len(normalized):
        end = start + 1
        while end < len(normalized) and normalized[end][1] == normalized[start][1]:
            end += 1
        run = [req for req, _ in normalized[start:end]]
        groups.append((engine._prepared(run[0].platform, run[0].as_of), run))
        start = end
    t = time.process_time()
    facts: list[tuple[list[Any], list[int]]] = []  # a run's facts, and which item decides each request
    for prepared, run in groups:
        builder = prepared.builder
        if len(run) == 1:
            facts.append(([builder.facts(run[0])], [0]))
        else:  # as Engine._traces: products equal in what the facts read get their facts built once
            firsts, slots = builder.distinct_items(run, coarse=True)  # decide_many without proofs
            facts.append(([builder.context(run[0]), *(builder.item(r) for r in firsts)], slots))
    out["facts"] = time.process_time() - t
    t = time.process_time()
    traces: list[Any] = []
    for (prepared, run), (made, slots) in zip(groups, facts, strict=True):
        if len(run) == 1:
            traces += prepared.network.run(made, False)  # without proofs: rules, not matched facts
        else:
            found = prepared.network.run_shared(made[0], made[1:], False)
            traces += [found[n] for n in slots]
    out["engine"] = time.process_time() - t
    t = time.process_time()
    start = 0
    for prepared, run in groups:  # as Engine._run: one call per run (decide_many's batches hold whole runs)
        build_decisions(prepared.compiled, traces[start : start + len(run)], run)
        start += len(run)
    out["decision"] = time.process_time() - t
    return out


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--n",
        type=_at_least_one,
        default=4000,
        help="requests per workload (default 4000; the catalog takes whole sellers of 200 products, at least one)",
    )
    ap.add_argument("--rounds", type=_at_least_one, default=3, help="rounds, median shown (default 3)")
    ap.add_argument("--peers", type=Path, default=PEERS, help=f"peer harness folder (default {PEERS})")
    ap.add_argument("--stages", action="store_true", help="also time decide_many's stages one by one")
    ap.add_argument(
        "--workloads",
        default="scenario,catalog",
        help="which workloads, in this order (default scenario,catalog; e.g. catalog alone)",
    )
    args = ap.parse_args(argv)
    sys.path[:0] = [str(REPO), str(args.peers)]

    import catalog
    import scenario

    from bench.peers_scenario import POLICY_DIR, to_answer, to_request
    from policy_engine import Engine

    try:
        import engines.zen_jdm as zen_module

        zen: Callable[[dict[str, Any]], Any] | None = zen_module.setup()
    except ImportError:
        zen = None
    engine = Engine.from_directory(POLICY_DIR)
    makers: dict[str, Callable[[], list[dict[str, Any]]]] = {
        "scenario": lambda: scenario.generate(args.n),
        "catalog": lambda: catalog.generate_catalog(max(1, args.n // 200), 200),
    }
    chosen = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = sorted(set(chosen) - set(makers))
    if unknown or not chosen:
        ap.error(f"--workloads takes scenario and/or catalog; got {args.workloads!r}")
    workloads = {name: makers[name]() for name in chosen}
    # Every workload in both vocabularies before anything runs: each engine's requests are made in the same
    # fresh heap. Requests made after a workload has run lie scattered among its freed blocks, and reading
    # them then costs the reader cache misses that the other engine's requests do not.
    translations = {name: [to_request(r) for r in raw] for name, raw in workloads.items()}
    print(f"# durable_rules floor, N={args.n:,} per workload, CPU µs per decision (median of {args.rounds})\n")
    print(
        "| workload | C calls / decision | engine calls alone | decide_many | ZEN | decide_many / floor "
        "| throughput / ZEN's | per round (range) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    split: dict[str, tuple[dict[str, float], float, float]] = {}
    for name, raw in workloads.items():
        translated = translations[name]

        def decide_many(reqs: list[Any]) -> Any:
            return engine.decide_many(reqs, proofs=False)

        answers = [scenario.normalize(to_answer(d)) for d in decide_many(translated)]
        wrong = sum(a != scenario.reference_decide(r) for a, r in zip(answers, raw, strict=True))
        if wrong:  # a benchmark of wrong answers measures nothing (checked under `python -O` too)
            raise SystemExit(f"{name}: {wrong} of {len(raw)} decisions differ from the harness's reference")
        calls = record(decide_many, translated)
        floor: list[float] = []
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(args.rounds):
            floor.append(cpu(lambda calls=calls: replay(calls)) / len(raw) * 1e6)  # type: ignore[misc]
            ours.append(cpu(lambda t=translated: decide_many(t)) / len(raw) * 1e6)  # type: ignore[misc]
            if zen is not None:
                theirs.append(cpu(lambda raw=raw, z=zen: [z(r) for r in raw]) / len(raw) * 1e6)  # type: ignore[misc]
        f, o = statistics.median(floor), statistics.median(ours)
        z = f"{statistics.median(theirs):.1f}" if theirs else "n/a"
        vs = f"{statistics.median(theirs) / o:.2f}×" if theirs else "n/a"
        # Each round times both engines one after the other: the ratio within a round moves less with the
        # machine's load than either time does across rounds.
        per_round = sorted(t / d for t, d in zip(theirs, ours, strict=False))
        spread = f"{statistics.median(per_round):.2f}× ({per_round[0]:.2f}–{per_round[-1]:.2f})" if per_round else "n/a"
        print(f"| {name} | {len(calls) / len(raw):.1f} | {f:.1f} | {o:.1f} | {z} | {o / f:.1f}× | {vs} | {spread} |")
        if args.stages:
            split[name] = (stages(engine, translated, args.rounds), f, o)
    if split:
        print("\n# decide_many stage by stage, CPU µs per request (median of each stage's rounds)\n")
        print(f"| workload | {' | '.join(STAGES)} | of which C calls | sum | decide_many |")
        print("|---|" + "---:|" * (len(STAGES) + 3))
        for name, (parts, f, o) in split.items():
            row = " | ".join(f"{parts[s]:.1f}" for s in STAGES)
            print(f"| {name} | {row} | {f:.1f} | {sum(parts.values()):.1f} | {o:.1f} |")
    engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
