#!/usr/bin/env python3
"""The cyclic collector after a batch: `decide_many` of the catalog workload with the objects a batch leaves
young moved to the oldest generation (`gcpause.PROMOTE_ABOVE`, the default) and walked by the next
collection instead (the threshold raised past any batch), alternating in one process; then RSS over
batches with the default.

    python bench/collector.py                      # 12 rounds of each, 30 batches for memory
    python bench/collector.py --rounds 20 --batches 50

CPU µs per request (`time.process_time`, the batch's decisions dropped after each call, as
`bench/floor.py` drops them). Needs the peer harness beside the repository (`../shared/bench/peers`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PEERS = REPO.parent / "shared" / "bench" / "peers"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=12, help="batches timed per mode, alternating (default 12)")
    ap.add_argument("--batches", type=int, default=30, help="batches for the memory rows (default 30)")
    args = ap.parse_args(argv)
    if not PEERS.is_dir():
        print(f"the peer harness is needed at {PEERS}", file=sys.stderr)
        return 2
    sys.path[:0] = [str(REPO), str(PEERS)]
    import catalog

    from bench.memory import rss_mib
    from bench.peers_scenario import POLICY_DIR, to_request
    from policy_engine import Engine
    from policy_engine._pipeline import gcpause

    reqs = [to_request(r) for r in catalog.generate_catalog(100, 200)]
    engine = Engine.from_directory(POLICY_DIR)
    engine.decide_many(reqs[:2000], proofs=False)
    default = gcpause.PROMOTE_ABOVE
    modes = {"promoted (the default)": default, "walked by the next collection": 10**12}
    times: dict[str, list[float]] = {name: [] for name in modes}
    for _ in range(args.rounds):
        for name, threshold in modes.items():
            gcpause.PROMOTE_ABOVE = threshold
            start = time.process_time()
            engine.decide_many(reqs, proofs=False)
            times[name].append((time.process_time() - start) / len(reqs) * 1e6)
    gcpause.PROMOTE_ABOVE = default
    print(f"# decide_many of the catalog ({len(reqs):,} requests), {args.rounds} rounds of each, alternating\n")
    print("| objects a batch leaves | median µs a request | min | max |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} |")
    print(f"\n# RSS over {args.batches} batches (the default)\n")
    print("| batches | decisions | RSS MiB |")
    print("|---:|---:|---:|")
    for n in range(1, args.batches + 1):
        engine.decide_many(reqs, proofs=False)
        if n == 1 or n % 10 == 0 or n == args.batches:
            print(f"| {n} | {n * len(reqs):,} | {rss_mib():.1f} |", flush=True)
    import gc

    gc.collect()
    print(f"| after a full collection | | {rss_mib():.1f} |")
    engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
