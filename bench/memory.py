"""Memory over many decisions: RSS every 100,000 `decide` calls on the peer scenario's requests.

    python bench/memory.py [--decisions 1000000] [--peers ../shared/bench/peers]

Prints a table (decisions so far, RSS MiB, growth since the first checkpoint, seconds). Flat memory
means the growth column stays near zero.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--decisions", type=int, default=1_000_000)
    ap.add_argument("--every", type=int, default=100_000)
    ap.add_argument("--peers", type=Path, default=HERE.parents[1] / "shared" / "bench" / "peers")
    args = ap.parse_args()
    sys.path.insert(0, str(args.peers))
    sys.path.insert(0, str(HERE.parent))
    import scenario  # type: ignore[import-not-found]

    from bench.peers_scenario import make_decide

    decide = make_decide()
    requests = scenario.generate(10_000)
    for r in requests[:1000]:
        decide(r)
    gc.collect()
    print("| decisions | RSS MiB | growth MiB | seconds |\n|---:|---:|---:|---:|")
    start, base, done = time.perf_counter(), rss_mib(), 0
    print(f"| 0 | {base:.2f} | +0.00 | 0 |")
    while done < args.decisions:
        for r in requests[: min(args.every, args.decisions - done)]:
            decide(r)
        done += min(args.every, len(requests))
        if done % args.every == 0 or done >= args.decisions:
            gc.collect()
            now = rss_mib()
            print(f"| {done:,} | {now:.2f} | {now - base:+.2f} | {time.perf_counter() - start:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
