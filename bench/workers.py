"""decide_many in one process against a WorkerPool, on the peer scenario's requests.

python bench/workers.py [--n 20000] [--workers 2] [--chunk 500] [--kill-one] [--peers ../shared/bench/peers]

`--kill-one` marks the middle request and sets the pool's test hook (`POLICY_ENGINE_TEST_WORKER_CRASH`) so
that the worker that takes its chunk kills itself (SIGKILL) once: the run then shows what one worker death
costs (time, worker starts).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MARK = "bench-sigkill-marker"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=500)
    ap.add_argument("--kill-one", action="store_true", help="one worker kills itself (SIGKILL) mid-run")
    ap.add_argument("--skip-one-process", action="store_true", help="do not time decide_many in this process")
    ap.add_argument("--peers", type=Path, default=HERE.parents[1] / "shared" / "bench" / "peers")
    args = ap.parse_args()
    sys.path.insert(0, str(args.peers))
    sys.path.insert(0, str(HERE.parent))
    import scenario  # type: ignore[import-not-found]

    from bench.peers_scenario import POLICY_DIR, to_answer, to_request
    from policy_engine import Engine
    from policy_engine.parallel import CRASH_ENV, WorkerPool

    raw = scenario.generate(args.n)
    reqs = [to_request(r) for r in raw]
    print("| path | seconds | µs per decision | decisions/s | worker starts |\n|---|---:|---:|---:|---:|")
    if not args.skip_one_process:
        engine = Engine.from_directory(POLICY_DIR)
        start = time.perf_counter()
        engine.decide_many(reqs, proofs=False)
        one = time.perf_counter() - start
        print(f"| `Engine.decide_many`, one process | {one:.1f} | {one / args.n * 1e6:.1f} | {args.n / one:,.0f} | - |")
    with tempfile.TemporaryDirectory() as tmp:
        if args.kill_one:
            mid = reqs[args.n // 2]
            reqs[args.n // 2] = dict(mid, product=dict(mid["product"], id=MARK))
            token = Path(tmp) / "kill-once"
            token.touch()
            os.environ[CRASH_ENV] = f"{MARK}@{token}"
        start = time.perf_counter()
        with WorkerPool([POLICY_DIR], workers=args.workers, chunk_size=args.chunk) as pool:
            out = pool.decide(reqs)
            starts = pool.starts
        many = time.perf_counter() - start
        killed = args.kill_one and not token.exists()
    label = f"`WorkerPool.decide`, {args.workers} workers (start-up included{', one SIGKILL' if killed else ''})"
    print(f"| {label} | {many:.1f} | {many / args.n * 1e6:.1f} | {args.n / many:,.0f} | {starts} |")
    failed = sum(d.error is not None for d in out)
    wrong = sum(
        d.error is None and scenario.normalize(to_answer(d)) != scenario.reference_decide(r)
        for d, r in zip(out, raw, strict=True)
    )
    print(f"\nwrong answers: {wrong}; fail-closed denials: {failed}")
    return 1 if wrong or failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
