#!/usr/bin/env python3
"""Instructions per decision, counted by valgrind: a measure that does not move with the machine's load.

On a shared VM wall and CPU time of one run can move by half from one minute to the next, more than most
single changes; the number of instructions a decision executes does not (the hash seed is fixed). Each
figure is the difference between two runs of the same child process, one deciding `--n` requests after a
warm-up and one deciding a fifth of them, divided by the difference in requests: start-up, compiling and
the warm-up cancel out. Compare code trees side by side (another checkout or `git worktree`):

    python bench/instructions.py                                 # this tree, catalog and scenario
    python bench/instructions.py --code ../old-checkout --code .  # a change against its base
    python bench/instructions.py --workload catalog --n 4000 --proofs

Needs `valgrind` and the peer harness beside the repository (`../shared/bench/peers`). Each child runs
about 40-60x slower than natively (two children per code tree and workload, one at a time).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PEERS = REPO.parent / "shared" / "bench" / "peers"
WARM = 200
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def child(code: str, workload: str, n: int, proofs: bool, path: str = "decide_many") -> None:
    """Decide `n` requests of the workload after a warm-up, with the code tree `code` (in a fresh process),
    through `path`: `decide_many`, `decide_each`, or `owned` (`decide_each` on requests the engine may read
    without a copy, as the command line, replay and worker processes give it the requests they parsed)."""
    sys.path[:0] = [code, str(PEERS)]
    from bench.peers_scenario import POLICY_DIR, to_request
    from policy_engine import Engine

    if workload == "catalog":
        import catalog

        raw = catalog.generate_catalog(40, 200)
    else:
        import scenario

        raw = scenario.generate(WARM + n)
    requests = [to_request(r) for r in raw]
    engine = Engine.from_directory(POLICY_DIR, cache=False)
    for batch in (requests[:WARM], requests[WARM : WARM + n]):
        if path == "owned":
            engine._decide_each(batch, None, proofs, owned=True)
        else:
            getattr(engine, path)(batch, proofs=proofs)


def instructions(code: str, workload: str, n: int, proofs: bool, path: str = "decide_many") -> int:
    """Instructions of one child process under callgrind."""
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__]
    cmd += ["--_child", code, workload, str(n), "1" if proofs else "0", path]
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"the child failed ({code}, {workload}):\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--code", action="append", help="a code tree to measure (repeatable; default: this one)")
    ap.add_argument("--workload", choices=["catalog", "scenario", "both"], default="both")
    ap.add_argument("--n", type=int, default=4000, help="requests decided in the longer run (default 4000)")
    ap.add_argument("--proofs", action="store_true", help="decide with proofs (default: without, as the peers)")
    ap.add_argument(
        "--path",
        choices=["decide_many", "decide_each", "owned"],
        default="decide_many",
        help="how the requests are decided (default decide_many; owned: read without a copy, as the CLI, replay "
        "and worker processes read the requests they parsed)",
    )
    ap.add_argument("--_child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._child:
        code, workload, n, proofs, path = args._child
        child(code, workload, int(n), proofs == "1", path)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is needed (apt install valgrind)", file=sys.stderr)
        return 2
    if not PEERS.is_dir():
        print(f"the peer harness is needed at {PEERS}", file=sys.stderr)
        return 2
    if args.workload == "catalog" and args.n > 40 * 200 - WARM:
        print(f"--n is at most {40 * 200 - WARM} for the catalog", file=sys.stderr)
        return 2
    codes = [str(Path(c).resolve()) for c in (args.code or [str(REPO)])]
    workloads = ["catalog", "scenario"] if args.workload == "both" else [args.workload]
    short = max(1, args.n // 5)
    print(
        f"# Instructions per decision (callgrind; {args.n:,} against {short:,} requests after {WARM} warm-up; "
        f"{args.path}; proofs {'on' if args.proofs else 'off'})\n"
    )
    print("| code | workload | instructions per request | against the first |")
    print("|---|---|---:|---:|")
    first: dict[str, int] = {}
    for workload in workloads:
        for code in codes:
            long_run = instructions(code, workload, args.n, args.proofs, args.path)
            short_run = instructions(code, workload, short, args.proofs, args.path)
            per = (long_run - short_run) // (args.n - short)
            base = first.setdefault(workload, per)
            print(f"| `{code}` | {workload} | {per:,} | {per / base:.3f}× |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
