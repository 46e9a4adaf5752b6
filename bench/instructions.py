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

`--compile` counts the compiler instead, stage by stage: `compile_policies` of one synthetic policy
(`bench.bench.synthetic_policy`, `--rules` rules of each of `--shapes`), each stage entered through a call
at which callgrind writes what came before it (the parse before the first stage is left out):

    python bench/instructions.py --compile --rules 1000 --code ../old-checkout --code .

`--start` counts a cold start instead: `load_documents` of the synthetic policy written to a file (an empty
cache folder), then the first and the second `Engine.decide` of `bench.bench.synthetic_request`, with the
modules' bytecode compiled beforehand (`--compile` too), as an installed package has it:

    python bench/instructions.py --start --rules 4000 --shapes revoked --code ../old-checkout --code .

Needs `valgrind` and the peer harness beside the repository (`../shared/bench/peers`; not for `--compile`).
Each child runs about 40-60x slower than natively (two children per code tree and workload, one at a time).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

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


def compile_child(code: str, shape: str, n: int) -> None:
    """Parse a synthetic policy, then compile it with each stage entered through `operator.call`, where the
    parent's callgrind writes a profile (`--dump-before`); a last call ends the final stage and the network.
    Prints the stages' names."""
    import operator

    sys.path[:0] = [code]
    from bench.bench import synthetic_policy
    from policy_engine._pipeline import compile as compiler
    from policy_engine._pipeline.load import parse_policy

    call: Any = getattr(operator, "call", None)  # Python 3.11 and later
    if call is None:
        raise SystemExit("--compile needs Python 3.11 or later (operator.call)")
    policy, problems = parse_policy(synthetic_policy(shape, n), f"<{shape}-{n}>")
    if policy is None:
        raise SystemExit(f"the synthetic policy did not load: {problems[:3]}")
    stages = compiler.STAGES

    def entered(fn: Any) -> Any:
        return lambda build: call(fn, build)

    compiler.STAGES = tuple((name, entered(fn)) for name, fn in stages)
    compiler.compile_policies("bench", [policy])
    call(len, ())
    print(json.dumps([name for name, _ in stages]))


def start_child(code: str, shape: str, n: int) -> None:
    """A cold start in stages, each entered through `operator.call` (where the parent's callgrind writes a
    profile): `load_documents` of one synthetic policy file with an empty cache folder, then the first
    `Engine.decide` (with that folder: compiling, or only the rules the request reaches), then a second."""
    import operator
    import tempfile

    sys.path[:0] = [code]
    from bench.bench import synthetic_policy, synthetic_request
    from policy_engine import Engine, load_documents

    call: Any = getattr(operator, "call", None)
    if call is None:
        raise SystemExit("--start needs Python 3.11 or later (operator.call)")
    with tempfile.TemporaryDirectory() as folder:
        policy = Path(folder) / "policy.json"
        policy.write_text(json.dumps(synthetic_policy(shape, n), ensure_ascii=False, indent=1), encoding="utf-8")
        cache = Path(folder) / "cache"
        policies = call(load_documents, [policy], cache=cache)
        engine = Engine(policies, cache=cache)
        call(engine.decide, synthetic_request())
        call(engine.decide, synthetic_request())
        call(len, ())
    print(json.dumps(["load_documents", "first decide", "second decide"]))


def start_instructions(code: str, shape: str, n: int) -> dict[str, int]:
    """Instructions of each stage of one `start_child` under callgrind."""
    return _staged(code, ["--_start-child", code, shape, str(n)], shape)


def compile_instructions(code: str, shape: str, n: int) -> dict[str, int]:
    """Instructions of each compile stage of one child under callgrind (the last stage with the network)."""
    counts = _staged(code, ["--_compile-child", code, shape, str(n)], shape)
    last = list(counts)[-1]
    counts[last + " + network"] = counts.pop(last)
    return counts


def _staged(code: str, child_args: list[str], shape: str) -> dict[str, int]:
    """Instructions of each stage of a child that enters each through `operator.call` and prints the
    stages' names last."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "cg.out"
        # Modules' bytecode compiled beforehand, as an installed package has it: the same child run once
        # natively fills a bytecode folder that the measured run reads (whatever PYTHONDONTWRITEBYTECODE).
        env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPYCACHEPREFIX": str(Path(folder) / "bytecode")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([sys.executable, __file__, *child_args], capture_output=True, env=env, check=False)
        cmd = ["valgrind", "--tool=callgrind", "--dump-before=_operator_call", f"--callgrind-out-file={out}"]
        cmd += [sys.executable, __file__, *child_args]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise SystemExit(f"the child failed ({code}, {shape}):\n{done.stderr[-2000:]}")
        names = json.loads(done.stdout.strip().splitlines()[-1])
        totals = {}
        for dump in Path(folder).glob("cg.out.*"):
            found = re.search(r"^totals:\s*(\d+)", dump.read_text(), re.MULTILINE)
            if found is not None and dump.suffix[1:].isdigit():
                totals[int(dump.suffix[1:])] = int(found.group(1))
    # dump 1: start-up and what comes before the first stage; dump k + 1 (k >= 1): the k-th stage
    return {name: totals.get(k + 2, 0) for k, name in enumerate(names)}


def compile_table(codes: list[str], shapes: list[str], n: int, start: bool = False) -> None:
    what = "cold start stage" if start else "compile stage"
    print(f"# Instructions per {what}, millions (callgrind; synthetic policies of {n:,} rules)\n")
    measure = start_instructions if start else compile_instructions
    for shape in shapes:
        rows = [(code, measure(code, shape, n)) for code in codes]
        names = list(rows[0][1])
        print(f"| code | shape | {' | '.join(names)} | total | against the first |")
        print("|---|---|" + "---:|" * (len(names) + 2))
        first = sum(rows[0][1].values())
        for code, counts in rows:
            total = sum(counts.values())
            cells = " | ".join(f"{counts.get(name, 0) / 1e6:,.0f}" for name in names)
            print(f"| `{code}` | {shape} | {cells} | {total / 1e6:,.0f} | {total / first:.3f}× |", flush=True)
        print()


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
    ap.add_argument("--compile", action="store_true", help="count the compiler's stages instead of decisions")
    ap.add_argument(
        "--start",
        action="store_true",
        help="count a cold start's stages instead (load, first and second Engine.decide; --rules, --shapes)",
    )
    ap.add_argument("--rules", type=int, default=1000, help="rules of the synthetic policies (--compile)")
    ap.add_argument("--shapes", default="revoked,join,mix", help="synthetic shapes (--compile; bench.bench.SHAPES)")
    ap.add_argument("--_child", nargs=5, help=argparse.SUPPRESS)
    ap.add_argument("--_compile-child", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--_start-child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._child:
        code, workload, n, proofs, path = args._child
        child(code, workload, int(n), proofs == "1", path)
        return 0
    if args._compile_child:
        code, shape, n = args._compile_child
        compile_child(code, shape, int(n))
        return 0
    if args._start_child:
        code, shape, n = args._start_child
        start_child(code, shape, int(n))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is needed (apt install valgrind)", file=sys.stderr)
        return 2
    if args.compile or args.start:
        codes = [str(Path(c).resolve()) for c in (args.code or [str(REPO)])]
        compile_table(codes, args.shapes.split(","), args.rules, start=args.start)
        return 0
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
