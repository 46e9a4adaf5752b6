#!/usr/bin/env python3
"""What a cold start spends beside loading and compiling, in one process:

* the garbage collector's collections while a synthetic policy of `--rules` rules (shape `revoked`) is
  loaded and compiled (timed with `gc.callbacks`);
* writing its compiled network to an empty compile cache folder (`CompileCache.write`);
* the resident memory the engine's sessions take: every network of the shipped library prepared and used
  once (RSS before and after).

    python bench/coldstart.py                # 4,000 rules
    python bench/coldstart.py --rules 1000
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rules", type=int, default=3999, help="rules of the synthetic policy (default 3999)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from bench.bench import synthetic_policy
    from policy_engine import Engine, load_documents
    from policy_engine._pipeline.cache import CompileCache
    from policy_engine._pipeline.compile import compile_policies

    collections: list[tuple[int, float]] = []
    started: list[float] = []

    def timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            collections.append((info["generation"], (time.perf_counter() - started.pop()) * 1e3))

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "policy.json")
        path.write_text(json.dumps(synthetic_policy("revoked", args.rules)), encoding="utf-8")
        gc.callbacks.append(timed)
        try:
            policies = load_documents([path])
            after_load = len(collections)
            compiled = compile_policies("bench", policies)
            _ = [0] * 10  # an allocation: the collection the compile's pause put off runs here
        finally:
            gc.callbacks.remove(timed)
        cache = CompileCache(Path(folder, "cache"))
        start = time.perf_counter()
        cache.write("0" * 64, cache.parts("bench", policies), compiled, policies)
        write_ms = (time.perf_counter() - start) * 1e3

    print(f"# Cold start of {args.rules:,} rules (shape revoked), one process\n")
    print("| what | ms |")
    print("|---|---:|")
    print(f"| collections while loading | {sum(ms for _, ms in collections[:after_load]):.1f} |")
    print(
        f"| collections while compiling, and the one the compile put off | "
        f"{sum(ms for _, ms in collections[after_load:]):.1f} |"
    )
    print(f"| writing the compiled network to the cache | {write_ms:.1f} |")

    engine = Engine.from_directory(REPO / "policies", cache=False)
    before = rss_mib()
    networks = 0
    for platform in sorted(engine.platforms):
        for day in engine.windows(platform):
            if any(p.platform == platform for p in engine.in_force(platform, day)):
                request = {
                    "platform": platform,
                    "as_of": day.isoformat(),
                    "seller": {"id": "s"},
                    "product": {"id": "p", "category": "shoes"},
                }
                engine.decide(request)
                networks += 1
    print(
        f"\nSessions of the shipped library: {networks} networks, RSS {before:.1f} -> {rss_mib():.1f} MiB "
        f"(+{rss_mib() - before:.1f})"
    )
    engine.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
