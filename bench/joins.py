#!/usr/bin/env python3
"""One decision of a rule with three `some` over a seller's trademarks, as the list grows: the time and the
peak memory of a fresh process that loads the policy and decides one request whose every trademark
satisfies all three. A network that joins element with element grows as the cube of the list; one that
derives each `some` once grows with the list.

    python bench/joins.py                                   # this tree; 50, 100, 200, 1000 trademarks
    python bench/joins.py --code ../old-checkout --sizes 50,100 --timeout 60

Each size runs in its own process, stopped after `--timeout` seconds (shown as "stopped").
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

RULE_SOMES = [
    {"some": "seller.trademarks", "where": [{"field": "item.mark", "equals": {"field": "product.brand"}}]},
    {"some": "seller.trademarks", "where": [{"field": "item.status", "equals": "registered"}]},
    {"some": "seller.trademarks", "where": [{"field": "item.office", "equals": "CNIPA"}]},
]


def child(code: str, n: int) -> None:
    sys.path.insert(0, code)
    from policy_engine import Engine
    from policy_engine._pipeline import load_texts

    doc = {
        "id": "demo.marks",
        "version": "1.0.0",
        "platform": "demo",
        "effective_from": "2024-01-01",
        "title": "three some over one list",
        "sources": [{"document": "bench/joins.py", "provenance": "illustrative"}],
        "rules": [
            {"id": "mark-ok", "when": RULE_SOMES, "derive": "mark-ok"},
            {
                "id": "deny",
                "when": [{"not": {"derived": "mark-ok"}}],
                "outcome": "deny",
                "message": {"en": "x", "zh": "x"},
            },
        ],
    }
    engine = Engine(load_texts({"demo/marks.json": json.dumps(doc)}), cache=False)
    marks = [{"mark": "Acme", "status": "registered", "office": "CNIPA", "owner": f"Owner {i}"} for i in range(n)]
    raw = {
        "platform": "demo",
        "as_of": "2024-03-01",
        "seller": {"trademarks": marks},
        "product": {"category": "shoes", "brand": "Acme"},
    }
    start = time.perf_counter()
    decision = engine.decide(raw, proofs=False)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mib": peak, "outcome": decision.outcome}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--code", default=str(REPO), help="the code tree to measure (default: this one)")
    ap.add_argument("--sizes", default="50,100,200,1000", help="trademarks per request (default 50,100,200,1000)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds before a size is stopped (default 120)")
    ap.add_argument("--_child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._child:
        child(args._child[0], int(args._child[1]))
        return 0
    code = str(Path(args.code).resolve())
    print(f"# one decision, three `some` over n trademarks, code {code}\n")
    print("| trademarks | seconds | peak RSS MiB | outcome |")
    print("|---:|---:|---:|---|")
    for n in map(int, args.sizes.split(",")):
        try:
            done = subprocess.run(
                [sys.executable, __file__, "--_child", code, str(n)],
                capture_output=True,
                text=True,
                timeout=args.timeout,
                check=True,
            )
        except subprocess.TimeoutExpired:
            print(f"| {n:,} | stopped after {args.timeout:.0f} | | |", flush=True)
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"| {n:,} | {row['seconds']:.3f} | {row['peak_mib']:.0f} | {row['outcome']} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
