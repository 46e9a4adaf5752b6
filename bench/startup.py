#!/usr/bin/env python3
"""Start-up and compile: what a fresh process pays before its first decision.

Run from the repository root with the project's virtualenv (bench/bench.py runs it too):

    python bench/startup.py                      # sizes 100,1000,4000, shape revoked, 5 runs each: ~3 min
    python bench/startup.py --sizes 4000 --shapes join,mix,revoked --repeat 3

Every figure is the median of `--repeat` fresh processes, and is given with its ratio to a reference
measured on the same machine at the same time (the machine is shared: compare ratios, not seconds).
Every process reads its modules' bytecode compiled beforehand, as an installed package does (pip compiles
it when it installs), even where PYTHONDONTWRITEBYTECODE is set (an editable install would otherwise
compile the package's sources on every start, about 0.25 s here).

* Compile: one synthetic policy of N rules (bench.bench.synthetic_policy) written to a file; a child
  process times `load_documents` (read, parse, validate, check) and the first `Engine.decide` (compile,
  or read the compiled network from the disk cache; load it into durable_rules; decide), with the
  compile or cache read timed inside it (the network: the rest, less a second decision), and a
  3,000,000-step pure-Python loop. "cold": an empty
  cache folder; "warm": the folder a previous run filled. Ratio: load + first decision / the loop.
* CLI: `policy-engine decide examples/aliexpress-shoes-denied.json` as a fresh process, first run (an
  empty cache folder) and second run (the same folder), against a process that only imports what the
  command's runtime imports (`attrs`, `_policy_engine_dre`), and against the import the performance
  targets name (`jsonschema, attrs, _policy_engine_dre`; the command itself never imports jsonschema
  for valid input).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
EXAMPLE = REPO / "examples" / "aliexpress-shoes-denied.json"
LOOP_STEPS = 3_000_000
DEPS_RUNTIME = "import attrs, _policy_engine_dre"
DEPS_TARGET = "import jsonschema, attrs, _policy_engine_dre"


def loop_seconds() -> float:
    """The reference: a 3,000,000-step pure-Python loop."""
    t0 = time.perf_counter()
    x = 0
    for i in range(LOOP_STEPS):
        x += i
    return time.perf_counter() - t0


def compile_child(policy_file: str, cache: str) -> None:
    """In a fresh process: load, then the first decision (compile or cache read, network, decision), with
    the compile or cache read timed inside it and a second decision timed apart; one JSON line."""
    t0 = time.perf_counter()
    sys.path.insert(0, str(REPO))
    from bench.bench import synthetic_request
    from policy_engine import Engine, load_documents
    from policy_engine._pipeline.cache import CompileCache

    timed: dict[str, float] = {}

    class Timed(CompileCache):
        def compile(self, platform: str, policies: Any) -> Any:
            start = time.perf_counter()
            try:
                return super().compile(platform, policies)
            finally:
                timed["compile_s"] = time.perf_counter() - start

    import policy_engine.engine as engine_module

    whole = engine_module.compile_policies

    def partial(*args: Any, **kwargs: Any) -> Any:  # a network of the rules the request reaches
        start = time.perf_counter()
        try:
            return whole(*args, **kwargs)
        finally:
            timed["compile_s"] = time.perf_counter() - start

    engine_module.compile_policies = partial  # type: ignore[assignment]

    t1 = time.perf_counter()
    policies = load_documents([policy_file], cache=cache)  # as Engine.from_directory loads
    t2 = time.perf_counter()
    engine = Engine(policies, cache=Timed(cache))
    decision = engine.decide(synthetic_request(), proofs=True)
    t3 = time.perf_counter()
    engine.decide(synthetic_request(), proofs=True)
    t4 = time.perf_counter()
    first_compile = timed["compile_s"]
    reached = [len(c.compiled.actions) for p in engine._partial.values() if p for c in p.networks.values()]
    # The same network built again in this process after the first one is closed, as a service that
    # reloads its policies does (the compile cache answers, so this is the network and a decision).
    engine.close()
    again = Engine(policies, cache=Timed(cache))
    t5 = time.perf_counter()
    again.decide(synthetic_request(), proofs=True)
    t6 = time.perf_counter()
    again.close()
    loop = loop_seconds()
    print(
        json.dumps(
            {
                "import_s": t1 - t0,
                "load_s": t2 - t1,
                "first_s": t3 - t2,
                "compile_s": first_compile,
                # the first decision less compiling (or reading) and less a decision on a loaded network
                "network_s": (t3 - t2) - first_compile - (t4 - t3),
                "again_network_s": (t6 - t5) - timed["compile_s"] - (t4 - t3),
                "loop_s": loop,
                "outcome": decision.outcome,
                "partial_rules": reached[0] if reached else None,
                "rules": list(decision.rules),
            }
        ),
        flush=True,
    )


# Every child reads its modules' bytecode from this folder (PYTHONPYCACHEPREFIX), filled by an untimed
# first run: as in an installed package (pip compiles bytecode when it installs), whatever the machine's
# PYTHONDONTWRITEBYTECODE (set here, it would make every start compile the sources of an editable install).
_BYTECODE: dict[str, str] = {}


def _run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = {**(env or os.environ), **_BYTECODE}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env, timeout=300)
    return time.perf_counter() - t0, proc


def _compile_bytecode(work: Path) -> None:
    """Point every child at one bytecode folder and fill it: the package, the engine and the references."""
    _BYTECODE.update(PYTHONPYCACHEPREFIX=str(work / "bytecode"), PYTHONDONTWRITEBYTECODE="")
    probe = f"import sys; sys.path.insert(0, {str(REPO)!r}); import policy_engine.cli, bench.bench; {DEPS_TARGET}"
    _run([sys.executable, "-c", probe])


def compile_case(shape: str, n: int, repeat: int, work: Path) -> dict[str, Any]:
    sys.path.insert(0, str(REPO))
    from bench.bench import synthetic_policy

    policy = work / f"{shape}-{n}.json"
    policy.write_text(json.dumps(synthetic_policy(shape, n), ensure_ascii=False, indent=1), encoding="utf-8")
    out: dict[str, Any] = {"shape": shape, "rules": n}
    warm_dir = work / f"cache-{shape}-{n}"
    for mode in ("cold", "warm"):
        runs = []
        for k in range(repeat):
            cache = work / f"cold-{shape}-{n}-{k}" if mode == "cold" else warm_dir
            _, proc = _run([sys.executable, __file__, "--_child", str(policy), str(cache)])
            if proc.returncode != 0:
                raise SystemExit(f"compile child failed ({shape} {n} {mode}): {proc.stderr.strip()[-2000:]}")
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            if mode == "cold" and k == 0:  # fills the folder the warm runs read
                _run([sys.executable, __file__, "--_child", str(policy), str(warm_dir)])
        stages = ("load_s", "first_s")
        keys = (*stages, "compile_s", "network_s", "again_network_s", "loop_s", "import_s")
        out[mode] = {key: statistics.median(r[key] for r in runs) for key in keys}
        out[mode]["total_s"] = statistics.median(sum(r[s] for s in stages) for r in runs)
        out[mode]["ratio"] = statistics.median(sum(r[s] for s in stages) / r["loop_s"] for r in runs)
        out[mode]["network_rules"] = runs[0].get("partial_rules")
        out[mode]["outcome"] = runs[0]["outcome"] + (f" ({', '.join(runs[0]['rules'])})" if runs[0]["rules"] else "")
    return out


def cli_case(repeat: int, work: Path) -> dict[str, Any]:
    script = Path(sys.executable).parent / "policy-engine"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "policy_engine"]
    command += ["decide", str(EXAMPLE)]
    rows: dict[str, list[float]] = {"first": [], "second": [], "runtime deps": [], "target deps": [], "python": []}
    ratios: dict[str, list[float]] = {"first": [], "second": []}
    for k in range(repeat):
        env = {**os.environ, "POLICY_ENGINE_CACHE": str(work / f"cli-{k}")}
        first, proc = _run(command, env)
        if proc.returncode != 0:
            raise SystemExit(f"policy-engine decide failed: {proc.stderr.strip()[-2000:]}")
        second, _ = _run(command, env)
        deps, _ = _run([sys.executable, "-c", DEPS_RUNTIME])
        target, _ = _run([sys.executable, "-c", DEPS_TARGET])
        bare, _ = _run([sys.executable, "-c", "pass"])
        for key, value in (
            ("first", first),
            ("second", second),
            ("runtime deps", deps),
            ("target deps", target),
            ("python", bare),
        ):
            rows[key].append(value)
        ratios["first"].append(first / target)
        ratios["second"].append(second / target)
    probe = (
        "import os, sys; from policy_engine import cli; cli.main(['decide', sys.argv[1]], out=open(os.devnull, 'w')); "
        "print(sorted(m for m in ('jsonschema', 'attrs', '_policy_engine_dre') if m in sys.modules))"
    )
    _, proc = _run([sys.executable, "-c", probe, str(EXAMPLE)], {**os.environ, "POLICY_ENGINE_CACHE": "off"})
    return {
        "median_s": {k: statistics.median(v) for k, v in rows.items()},
        "ratio_to_target_deps": {k: statistics.median(v) for k, v in ratios.items()},
        "imported": proc.stdout.strip(),
        "command": "policy-engine decide examples/aliexpress-shoes-denied.json",
    }


def fmt(compiles: list[dict[str, Any]], cli: dict[str, Any] | None) -> str:
    lines = []
    if compiles:
        lines += [
            "| shape | rules | cache | load ms | first decision ms | total ms | 3M-step loop ms | total / loop | "
            "of which: compile or cache read ms | ≈ network into durable_rules ms | "
            "≈ the same network again, in-process ms | rules in the first network | decision |",
            "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
        ]
        for c in compiles:
            for mode in ("cold", "warm"):
                m = c[mode]
                ms = [f"{m[k] * 1e3:,.0f}" for k in ("load_s", "first_s", "total_s", "loop_s")]
                parts = [f"{m[k] * 1e3:,.0f}" for k in ("compile_s", "network_s", "again_network_s")]
                reached = m["network_rules"]  # rules the request reaches (`Engine.decide`), or all of them
                held = f"{c['rules']:,}" if reached is None else f"{reached:,} the request reaches"
                cells = [c["shape"], f"{c['rules']:,}", mode, *ms, f"{m['ratio']:.1f}×", *parts, held, m["outcome"]]
                lines.append("| " + " | ".join(cells) + " |")
    if cli:
        med, ratio = cli["median_s"], cli["ratio_to_target_deps"]
        if lines:
            lines.append("")
        target, runtime = med["target deps"], med["runtime deps"]

        def row(label: str, key: str) -> str:
            return f"| {label} | {med[key] * 1e3:,.0f} | {med[key] / target:.1f}× | {med[key] / runtime:.1f}× |"

        lines += [
            "| process | median ms | / target's import | / runtime's import |",
            "|---|---:|---:|---:|",
            row(f"`{cli['command']}`, first run (empty cache)", "first"),
            row(f"`{cli['command']}`, second run", "second"),
            row(f'`python -c "{DEPS_TARGET}"` (the target\'s reference)', "target deps"),
            row(f'`python -c "{DEPS_RUNTIME}"` (what decide imports)', "runtime deps"),
            row("`python -c pass`", "python"),
            "",
            f"Medians of per-run ratios to the target's import: first run {ratio['first']:.1f}×, second run "
            f"{ratio['second']:.1f}×.",
            "",
            f"Of jsonschema, attrs and _policy_engine_dre, `decide` imports: {cli['imported']}",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,1000,4000", help="rules per synthetic policy (default 100,1000,4000)")
    ap.add_argument("--shapes", default="revoked", help="synthetic shapes (bench.bench.SHAPES; default revoked)")
    ap.add_argument("--repeat", type=int, default=5, help="fresh processes per figure, median shown (default 5)")
    ap.add_argument("--no-cli", action="store_true", help="skip the CLI start-up rows")
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON to this path")
    ap.add_argument("--_child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._child:
        compile_child(*args._child)
        return {}
    results: dict[str, Any] = {"compile": [], "cli": None, "loadavg_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="pe-startup-") as tmp:
        work = Path(tmp)
        _compile_bytecode(work)
        for shape in [s for s in args.shapes.split(",") if s]:
            for n in [int(x) for x in args.sizes.split(",") if x]:
                results["compile"].append(compile_case(shape, n, args.repeat, work))
                print(f"  startup: compile {shape} {n} done", file=sys.stderr, flush=True)
        if not args.no_cli:
            results["cli"] = cli_case(args.repeat, work)
    results["loadavg_end"] = os.getloadavg()
    print("## Start-up and compile (fresh processes, medians of", args.repeat, "runs)\n")
    print(fmt(results["compile"], results["cli"]))
    print(
        f"\nload average at start {results['loadavg_start'][0]:.2f}, at end {results['loadavg_end'][0]:.2f} (1 min)\n"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
