"""Replay throughput: a generated catalog decided under two policy sets, locally and on Dask.

    python bench/replay.py                 # 100,000 lines: local, then Dask with 1 and 2 workers
    python bench/replay.py --lines 20000 --modes local,2

The catalog cycles through the analysts' test-case requests (every platform), each line with its own
seller and product id; NEW is the shipped library with DHgate's cycling refund-rate limit moved from
0.05 to 0.2, so some lines flip. Prints lines/s, wall time, the flips found, and the peak RSS of this
process (the client: the catalog is streamed, so it should not grow with the number of lines).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from policy_engine.replay import read_catalog, replay
from policy_engine.testing import analyst_requests

ROOT = Path(__file__).resolve().parent.parent


def _catalog(path: Path, n: int) -> None:
    corpus = analyst_requests(ROOT / "policies")
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            req = copy.deepcopy(corpus[i % len(corpus)])
            req.setdefault("seller", {})["id"] = f"s{i % 997}"
            req.setdefault("product", {})["id"] = f"p{i}"
            fh.write(json.dumps(req) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--modes", default="local,1,2", help="local and/or numbers of Dask workers")
    parser.add_argument("--chunk-size", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        catalog = work / "catalog.jsonl"
        _catalog(catalog, args.lines)
        new = work / "new"
        shutil.copytree(ROOT / "policies", new)
        cycling = new / "dhgate" / "cycling-admission.json"
        cycling.write_text(cycling.read_text().replace('"max_refund_rate": 0.05', '"max_refund_rate": 0.2'))
        cpu = platform.processor() or platform.machine()
        print(f"machine: {cpu}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
        print(f"catalog: {args.lines:,} lines, chunks of {args.chunk_size}\n")
        print("| mode | lines | seconds | lines/s | decided | flipped | bad | client peak RSS MiB |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        reference = None
        for mode in args.modes.split(","):
            workers = None if mode == "local" else int(mode)
            start = time.perf_counter()
            report = replay(
                read_catalog(str(catalog)), [ROOT / "policies"], [new], workers=workers, chunk_size=args.chunk_size
            )
            seconds = time.perf_counter() - start
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            label = "local (this process)" if workers is None else f"Dask LocalCluster, {workers} worker(s)"
            print(
                f"| {label} | {args.lines:,} | {seconds:.1f} | {args.lines / seconds:,.0f} | {report.decided:,} "
                f"| {report.flipped:,} | {len(report.bad)} | {rss:.0f} |"
            )
            if reference is None:
                reference = report.to_dict()
            elif report.to_dict() != reference:
                print(f"  MISMATCH: {label} differs from the first mode")
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
