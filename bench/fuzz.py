"""Deep fuzzing: the test suite's fuzz properties with many more examples, and a table of what happened.

    python bench/fuzz.py                      # 20,000 mutated requests, 2,000 numbers, 200 mutated policies
    python bench/fuzz.py --requests 100000 --policies 1000 --seed 7

Every request must be refused with a RequestError or decided exactly as the reference evaluator decides
it (outcome, rules, advisories, derived conclusions), with no engine error; every mutated policy must
be refused with a file and a pointer, or load and agree on the analysts' requests of its platform.
Exits 1 on the first counterexample, printed minimal by hypothesis. Mutated policies are loaded and
compiled in a child process (`policy_engine.isolation`), restarted if the engine's C code crashes.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from policy_engine import Engine
from policy_engine.isolation import Isolated
from policy_engine.testing import (
    analyst_requests,
    assert_refused_or_matches_reference,
    check_policy_documents,
    mutated,
)

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="mutated requests to decide")
    parser.add_argument("--numbers", type=int, default=2_000, help="requests with one number at its edges")
    parser.add_argument("--policies", type=int, default=200, help="mutated policies to load")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    corpus = analyst_requests(POLICIES)
    engine = Engine.from_directory(POLICIES)
    counts: collections.Counter[str] = collections.Counter()
    common = {
        "deadline": None,
        "database": None,
        "suppress_health_check": list(HealthCheck),
        "phases": [Phase.generate, Phase.shrink],
    }
    rows: list[tuple[str, int, str, float]] = []

    @seed(args.seed)
    @settings(max_examples=args.requests, **common)
    @given(raw=mutated(corpus))
    def requests(raw: Any) -> None:
        counts["requests " + assert_refused_or_matches_reference(engine, raw)] += 1

    @seed(args.seed)
    @settings(max_examples=args.numbers, **common)
    @given(
        base=st.sampled_from(corpus),
        value=st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(2**64), 2**64)),
    )
    def numbers(base: dict[str, Any], value: Any) -> None:
        raw = json.loads(json.dumps(base))
        raw.setdefault("seller", {}).setdefault("metrics", {})["refund_rate"] = value
        counts["numbers " + assert_refused_or_matches_reference(engine, raw)] += 1

    files = sorted(p for p in POLICIES.glob("*/*.json") if p.name not in ("taxonomy.json", "invariants.json"))

    child = Isolated()  # mutated policies build many networks: in a child, restarted if the engine crashes

    @seed(args.seed)
    @settings(max_examples=args.policies, **common)
    @given(path=st.sampled_from(files), data=st.data())
    def policies(path: Path, data: Any) -> None:
        doc = data.draw(mutated([json.loads(path.read_text(encoding="utf-8"))], max_mutations=2))
        platform = path.parent.name
        documents = {
            f"{folder}/{p.name}": json.loads(p.read_text(encoding="utf-8"))
            for folder in {platform, "common"}
            for p in sorted((POLICIES / folder).glob("*.json"))
        }
        documents[f"{platform}/{path.name}"] = doc
        requests = [r for r in corpus if r["platform"] == platform][:25]
        counts["policies " + child.call(check_policy_documents, documents, requests)] += 1

    failed = False
    for name, test in (("requests", requests), ("numbers", numbers), ("policies", policies)):
        start = time.perf_counter()
        before = sum(v for k, v in counts.items() if k.startswith(name))
        try:
            test()
            status = "ok"
        except Exception as exc:  # hypothesis has printed the minimal example
            status = f"FAILED: {type(exc).__name__}"
            failed = True
        tried = sum(v for k, v in counts.items() if k.startswith(name)) - before
        rows.append((name, tried, status, time.perf_counter() - start))
    engine.close()
    child.close()
    if child.crashes:
        print(f"the engine's child process died {child.crashes} time(s): {'; '.join(child.deaths)}\n")
    print(f"{'property':<10} {'examples':>9} {'seconds':>8}  result")
    for name, tried, status, seconds in rows:
        print(f"{name:<10} {tried:>9} {seconds:>8.1f}  {status}")
    print()
    for key, value in sorted(counts.items()):
        print(f"  {key:<32} {value:>8}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
