"""`policy-engine diff` speed: the semantic search between the shipped library and a changed copy.

    python bench/diff.py                   # 3 runs, median shown
    python bench/diff.py --runs 5 --budget 450

NEW is a copy of the shipped policies with five changes that an analyst might make (a threshold, a named
set's members, a dropped condition, an added condition, moved effective dates): `changed_copy`, which
`tests/test_diff.py` plants too. Each run is `diff_policies(OLD, NEW)` in this process with the compile
cache off, so both sides are loaded and compiled every time, as on a first run. Prints CPU seconds (load and
compile, and the whole diff), the requests searched, the flips found and the peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"


def _edit(folder: Path, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = folder / name
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")


def _rule(doc: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(r for r in doc["rules"] if r["id"] == rule_id)


def changed_copy(target: Path) -> Path:
    """A copy of the shipped policies at `target` with five changes in three platforms, none meeting another
    (other policies or dates); `tests/test_diff.py` checks that the default search lists each of them."""
    shutil.copytree(POLICIES, target)
    # A threshold (dates 2016-07-15 to 2023-01-12).
    _edit(target, "dhgate/cycling-admission.json", lambda d: d["data"].update(max_refund_rate=0.2))

    # A named-set member removed and another added.
    def members(doc: dict[str, Any]) -> None:
        closed = doc["data"]["closed_categories"]
        doc["data"]["closed_categories"] = ["toys" if c == "phone-cables" else c for c in closed]

    _edit(target, "aliexpress/brand-closed-management.json", members)

    # A dropped condition: a pure graphic mark now proves the brand of a phone.
    def drop(doc: dict[str, Any]) -> None:
        where = _rule(doc, "owns-phone-trademark")["when"][0]["where"]
        where[:] = [c for c in where if "not" not in c]

    _edit(target, "dhgate/phone-admission.json", drop)

    # An added condition (dates from 2023-01-13): the dispute-rate limit now applies only to enterprises.
    def add(doc: dict[str, Any]) -> None:
        _rule(doc, "dispute-rate-too-high")["when"].append({"field": "seller.entity_type", "equals": "enterprise"})

    _edit(target, "dhgate/cycling-admission-2.0.0.json", add)
    # A moved effective date: LazMall authorization 1.1.0 from 2023-10-01 instead of 2023-08-24.
    _edit(target, "lazada/lazmall-brand-authorization-1.0.0.json", lambda d: d.update(effective_until="2023-10-01"))
    _edit(target, "lazada/lazmall-brand-authorization-1.1.0.json", lambda d: d.update(effective_from="2023-10-01"))
    return target


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="runs, median shown (default 3)")
    ap.add_argument("--budget", type=int, default=None, help="requests per platform and date (default: diff's)")
    args = ap.parse_args(argv)
    os.environ["POLICY_ENGINE_CACHE"] = "off"
    sys.path.insert(0, str(ROOT))

    from policy_engine import Engine
    from policy_engine._tools.diff import DEFAULT_BUDGET, diff_policies

    budget = args.budget or DEFAULT_BUDGET
    totals: list[float] = []
    loads: list[float] = []
    report: Any = None
    with tempfile.TemporaryDirectory() as tmp:
        new = changed_copy(Path(tmp) / "policies")
        for _ in range(args.runs):
            start = time.process_time()
            Engine.from_directory(POLICIES).close()
            Engine.from_directory(new).close()
            loads.append(time.process_time() - start)
            start = time.process_time()
            report = diff_policies(POLICIES, new, budget=budget)
            totals.append(time.process_time() - start)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"# policy-engine diff: shipped library against five changes, budget {budget}, {args.runs} runs")
    print(f"# {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, CPU seconds\n")
    print("| load and compile both sides | whole diff | requests searched | flips | peak RSS MB |")
    print("|---:|---:|---:|---:|---:|")
    searched = report.searched["old"]
    print(
        f"| {statistics.median(loads):.2f} | {statistics.median(totals):.2f} | {searched:,} | "
        f"{len(report.flips)} | {rss:.0f} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
