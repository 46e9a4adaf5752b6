"""decide_many in one process against decide_in_workers, on the peer scenario's requests.

python bench/workers.py [--n 20000] [--workers 2] [--chunk 500] [--peers ../shared/bench/peers]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=500)
    ap.add_argument("--peers", type=Path, default=HERE.parents[1] / "shared" / "bench" / "peers")
    args = ap.parse_args()
    sys.path.insert(0, str(args.peers))
    sys.path.insert(0, str(HERE.parent))
    import scenario  # type: ignore[import-not-found]

    from bench.peers_scenario import POLICY_DIR, to_answer, to_request
    from policy_engine import Engine
    from policy_engine.parallel import decide_in_workers

    raw = scenario.generate(args.n)
    reqs = [to_request(r) for r in raw]
    engine = Engine.from_directory(POLICY_DIR)
    start = time.perf_counter()
    engine.decide_many(reqs, proofs=False)
    one = time.perf_counter() - start
    start = time.perf_counter()
    out = decide_in_workers(reqs, policies=[POLICY_DIR], workers=args.workers, chunk_size=args.chunk)
    many = time.perf_counter() - start
    wrong = sum(scenario.normalize(to_answer(d)) != scenario.reference_decide(r) for d, r in zip(out, raw, strict=True))
    print("| path | µs per decision | decisions/s |\n|---|---:|---:|")
    print(f"| `Engine.decide_many`, one process | {one / args.n * 1e6:.1f} | {args.n / one:,.0f} |")
    print(
        f"| `decide_in_workers`, {args.workers} workers (start-up included) | {many / args.n * 1e6:.1f} | "
        f"{args.n / many:,.0f} |"
    )
    print(f"\nwrong answers: {wrong}")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
