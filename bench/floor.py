#!/usr/bin/env python3
"""The rule engine's own cost per decision: a floor under any Python around it.

Decides the peer scenario and the catalog workload once with `decide_many` while recording every call
into durable_rules' C core (assert, retract, start and complete actions, the emptiness check), then
replays exactly those calls with their prepared JSON payloads and nothing else: no request checking,
no fact building, no JSON encoding or decoding, no decision objects. The replay's time per decision is
what the engine costs by itself on these rules; compare it with ZEN and with `decide_many` measured in
the same process (CPU time of this process, so other load on the machine counts less):

    python bench/floor.py                 # N=4000, 3 rounds
    python bench/floor.py --n 20000

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

    from policy_engine import runtime

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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=4000, help="requests per workload (default 4000)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds, median shown (default 3)")
    ap.add_argument("--peers", type=Path, default=PEERS, help=f"peer harness folder (default {PEERS})")
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
    workloads = {
        "scenario": scenario.generate(args.n),
        "catalog": catalog.generate_catalog(max(1, args.n // 200), 200),
    }
    print(f"# durable_rules floor, N={args.n:,} per workload, CPU µs per decision (median of {args.rounds})\n")
    print(
        "| workload | C calls / decision | engine calls alone | decide_many | ZEN | decide_many / floor "
        "| throughput / ZEN's |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, raw in workloads.items():
        translated = [to_request(r) for r in raw]

        def decide_many(reqs: list[Any]) -> Any:
            return engine.decide_many(reqs, proofs=False)

        assert [scenario.normalize(to_answer(d)) for d in decide_many(translated)] == [
            scenario.reference_decide(r) for r in raw
        ]
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
        print(f"| {name} | {len(calls) / len(raw):.1f} | {f:.1f} | {o:.1f} | {z} | {o / f:.1f}× | {vs} |")
    engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
