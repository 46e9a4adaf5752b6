#!/usr/bin/env python3
"""Benchmark policy_engine against hand-written durable_rules and plain Python, in one process.

Run from the repository root with the project's virtualenv:

    python bench/bench.py                  # N=5000, 3 rounds (median), compile scaling: ~2-3 min on 2 cores
    python bench/bench.py --quick          # N=500, 1 round
    python bench/bench.py --json out.json  # also write every number as JSON

What it measures, on the same requests (`scenario.generate(n)` of the shared peer harness, checked
answer by answer against `scenario.reference_decide`):

* policy_engine `decide`: every request timed alone with perf_counter_ns (median, p99,
  decisions/s = N / sum of latencies). The timed call is the peer adapter's (bench/peers_scenario.py):
  translate the harness request, `engine.decide(req, proofs=False)`, read the answer back. A second row
  times only `engine.decide` on requests translated beforehand.
* The catalog workload (`catalog.generate_catalog`, 200 products per seller, N requests rounded down to
  whole sellers, at least one): decide_many,
  ZEN and plain Python, with the throughput ratio against ZEN printed for the scenario and the catalog.
  decide_many runs twice: through the adapter in batches of `--batch`, and on requests translated
  beforehand with the whole catalog in one call (the engine's own work, as a catalog re-check calls it;
  ZEN takes the harness's requests as they are, so neither side's row pays for a change of vocabulary).
* GoRules ZEN (`engines.zen_jdm`) when its package is installed (`../shared/bench/peers/setup.sh`).
* policy_engine `decide_many`: whole batches of `--batch` (256) requests timed; per-decision time =
  batch time / batch size (median and p99 over batches), decisions/s = N / sum of batch times.
* plain Python (`engines.plain_python`, the lower bound) and raw durable_rules
  (`engines.durable_raw.setup_no_threads()`), from the shared harness.
* For each: setup (loading/compiling) time in ms, and RSS growth over the timed loop (/proc/self/statm).
* Memory flatness: `--memory-rounds` rounds of N `decide` calls, RSS after each round.
* Compile scaling: synthetic policies of 100, 1,000 and 4,000 rules (several rule shapes), each size in a
  child process (a size that hangs or crashes the rule engine must not take the benchmark down):
  parse_policy, compile_policies and Network creation timed separately, then one decide.
* Start-up and compile from the disk cache (bench/startup.py, `--startup-only` to run only that part):
  load + compile + first decision of one synthetic policy per size in fresh processes, with an empty
  compile cache and with the one a previous run filled, against a 3,000,000-step pure-Python loop; and
  `policy-engine decide` as a fresh process (first and second run) against the dependency import.
"""

from __future__ import annotations

import argparse
import array
import datetime as dt
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_PEERS = Path(__file__).resolve().parents[2] / "shared" / "bench" / "peers"
SCENARIO_DAY = dt.date(2025, 1, 1)  # any day: the scenario policy is in force from 2000-01-01
ONE_DAY = "2025-06-01"  # decide_many groups a batch by (platform, as_of): the one-day row shows full batches
SHAPES = ("join", "mix", "revoked")
DEFAULT_SIZES = (100, 1000, 4000)
EXTRA_CASES = (("revoked", 3999),)  # 3,999 rules + the runtime's init rule = the compiler's MAX_RULES (4,000)
CATALOG_PER_SELLER = 200  # products per seller in the catalog workload (100 sellers x 200 at N=20,000)


# --------------------------------------------------------------------------------------------- utils
def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def mib(b: float) -> float:
    return b / 2**20


def pct(sorted_vals: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (as in the peer harness)."""
    if not sorted_vals:
        return float("nan")
    return sorted_vals[max(1, math.ceil(q * len(sorted_vals))) - 1]


def version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass

    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    dirty = git("status", "--porcelain", "--", "policy_engine", "policies", "bench/peers_policy")
    return {
        "date_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_head": git("rev-parse", "--short", "HEAD"),
        "engine_files_modified": [ln[3:] for ln in dirty.splitlines()],
        "loadavg_start": os.getloadavg(),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu,
        "mem_total": mem,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "durable_rules": version("durable_rules"),
        "policy_engine": version("policy-engine"),
    }


def setup_paths(peers: Path) -> None:
    """Repository root first (so `bench` is the package, not this script's folder), then the peers folder."""
    here = str(HERE)
    sys.path[:] = [p for p in sys.path if p not in (str(REPO), str(peers), here, "")]
    sys.path[:0] = [str(REPO), str(peers)]


# ----------------------------------------------------------------------------------------- engines
class Subject:
    """One thing to time: a per-request `decide` or a batch function, with its setup time."""

    def __init__(
        self,
        key: str,
        label: str,
        setup_ms: float,
        fn: Callable[..., Any],
        batch: bool = False,
        prepare: Callable[[dict[str, Any]], Any] | None = None,
        one_day: bool = False,
        catalog: bool = False,
        whole: bool = False,
    ) -> None:
        self.key, self.label, self.setup_ms, self.fn, self.batch = key, label, setup_ms, fn, batch
        self.whole = whole  # a batch row given the whole workload in one call (a catalog re-checked at once)
        self.catalog = catalog  # timed on the catalog workload (many products per seller), not the scenario
        self.one_day = one_day  # time it on the one-day copy of the requests (see main)
        self.prepare = prepare  # applied to every request outside the timed window
        self.inputs: list[Any] | None = None  # the prepared requests, made once before anything is timed
        self.runs: list[dict[str, Any]] = []


def build_subjects(batch_size: int) -> list[Subject]:
    from bench import peers_scenario as ps
    from policy_engine import Engine

    subjects: list[Subject] = []

    def policy_engine_setup() -> tuple[Any, float]:
        t0 = time.perf_counter_ns()
        engine = Engine.from_directory(ps.POLICY_DIR)
        engine.compiled("aliexpress", SCENARIO_DAY)  # compile + build the network now, not on first call
        return engine, (time.perf_counter_ns() - t0) / 1e6

    engine, ms = policy_engine_setup()
    to_request, to_answer = ps.to_request, ps.to_answer

    def pe_decide(req: dict[str, Any]) -> Any:
        return to_answer(engine.decide(to_request(req), proofs=False))

    subjects.append(
        Subject("pe_decide", "policy_engine decide (adapter: translate + decide + read back)", ms, pe_decide)
    )

    def pe_decide_only(translated: dict[str, Any]) -> Any:
        return engine.decide(translated, proofs=False)

    subjects.append(
        Subject(
            "pe_decide_engine_only",
            "policy_engine decide (engine call only, pre-translated)",
            ms,
            pe_decide_only,
            prepare=to_request,
        )
    )

    engine_many, ms_many = policy_engine_setup()

    def pe_decide_many(reqs: list[dict[str, Any]]) -> list[Any]:
        return [to_answer(d) for d in engine_many.decide_many([to_request(r) for r in reqs], proofs=False)]

    subjects.append(
        Subject(
            "pe_decide_many",
            f"policy_engine decide_many (batches of {batch_size}, adapter)",
            ms_many,
            pe_decide_many,
            batch=True,
        )
    )
    subjects.append(
        Subject(
            "pe_decide_many_one_day",
            f"policy_engine decide_many (batches of {batch_size}, all requests re-dated to {ONE_DAY})",
            ms_many,
            pe_decide_many,
            batch=True,
            one_day=True,
        )
    )

    import engines.plain_python as plain

    t0 = time.perf_counter_ns()
    plain_decide = plain.setup()
    subjects.append(
        Subject(
            "plain_python", "plain Python function (lower bound)", (time.perf_counter_ns() - t0) / 1e6, plain_decide
        )
    )

    import engines.durable_raw as raw

    t0 = time.perf_counter_ns()
    raw_decide = raw.setup_no_threads()
    subjects.append(
        Subject(
            "durable_raw",
            "durable_rules, raw (hand-written, host threads stopped)",
            (time.perf_counter_ns() - t0) / 1e6,
            raw_decide,
        )
    )

    try:
        import engines.zen_jdm as zen
    except ImportError:  # the peer engines' packages are optional here (../shared/bench/peers/setup.sh)
        zen = None
    if zen is not None:
        t0 = time.perf_counter_ns()
        zen_decide = zen.setup()
        subjects.append(
            Subject("zen", "GoRules ZEN (Rust), per request", (time.perf_counter_ns() - t0) / 1e6, zen_decide)
        )

    # The catalog workload: the same rules, consecutive requests of one seller (catalog.py).
    subjects.append(
        Subject(
            "pe_decide_many_catalog",
            f"policy_engine decide_many on the catalog (batches of {batch_size}, adapter)",
            ms_many,
            pe_decide_many,
            batch=True,
            catalog=True,
        )
    )

    def pe_decide_many_only(translated: list[dict[str, Any]]) -> list[Any]:
        return engine_many.decide_many(translated, proofs=False)

    subjects.append(
        Subject(
            "pe_decide_many_catalog_whole",
            "policy_engine decide_many on the catalog (engine call only, pre-translated, one call)",
            ms_many,
            pe_decide_many_only,
            batch=True,
            prepare=to_request,
            catalog=True,
            whole=True,
        )
    )
    if zen is not None:
        subjects.append(
            Subject(
                "zen_catalog",
                "GoRules ZEN on the catalog, per request",
                next(s.setup_ms for s in subjects if s.key == "zen"),
                zen_decide,
                catalog=True,
            )
        )
    subjects.append(
        Subject("plain_python_catalog", "plain Python on the catalog (lower bound)", 0.0, plain_decide, catalog=True)
    )
    return subjects


def time_subject(
    s: Subject, reqs: list[dict[str, Any]], expected: list[Any], warmup: int, batch_size: int
) -> dict[str, Any]:
    import scenario

    normalize = scenario.normalize
    n = len(reqs)
    inputs = s.inputs if s.inputs is not None else [s.prepare(r) for r in reqs] if s.prepare else reqs
    if s.prepare:  # the engine-only row answers Decision objects: read them back outside the timer
        from bench.peers_scenario import to_answer

        def check(out: Any) -> Any:
            return normalize(to_answer(out))
    else:
        check = normalize
    pc = time.perf_counter_ns
    bad = 0
    examples: list[dict[str, Any]] = []
    if not s.batch:
        for i in range(min(warmup, n)):
            s.fn(inputs[i])
        lat = array.array("q", bytes(8 * n))
        gc.collect()
        rss0 = rss_bytes()
        for i in range(n):
            a = pc()
            out = s.fn(inputs[i])
            b = pc()
            lat[i] = b - a
            if check(out) != expected[i]:
                bad += 1
                if len(examples) < 3:
                    examples.append({"index": i, "got": check(out), "expected": expected[i]})
        rss1 = rss_bytes()
        per = sorted(x / 1e3 for x in lat)
        total_ns = sum(lat)
        units = n
    else:
        s.fn(inputs[: min(warmup, n)])
        if s.whole:
            batch_size = n
        starts = range(0, n, batch_size)
        per_list: list[float] = []
        total_ns = 0
        gc.collect()
        rss0 = rss_bytes()
        for start in starts:
            chunk = inputs[start : start + batch_size]
            a = pc()
            outs = s.fn(chunk)
            b = pc()
            total_ns += b - a
            per_list.append((b - a) / len(chunk) / 1e3)
            for j, out in enumerate(outs):
                if check(out) != expected[start + j]:
                    bad += 1
                    if len(examples) < 3:
                        examples.append({"index": start + j, "got": check(out), "expected": expected[start + j]})
            if len(outs) != len(chunk):
                bad += abs(len(chunk) - len(outs))
            outs = []  # the batch's answers are let go before the next batch, and before RSS is read
        rss1 = rss_bytes()
        per = sorted(per_list)
        units = len(per_list)
    return {
        "n": n,
        "timed_units": units,  # requests, or batches for decide_many
        "median_us": statistics.median(per),
        "p99_us": pct(per, 0.99),
        "mean_us": total_ns / n / 1e3,
        "throughput_per_s": n / (total_ns / 1e9),
        "rss_growth_mib": mib(rss1 - rss0),
        "mismatches": bad,
        "mismatch_examples": examples,
    }


def summarize(s: Subject) -> dict[str, Any]:
    runs = s.runs
    out: dict[str, Any] = {
        "key": s.key,
        "label": s.label,
        "setup_ms": s.setup_ms,
        "runs": len(runs),
        "n": runs[0]["n"],
        "timed_units": runs[0]["timed_units"],
        "ok": all(r["mismatches"] == 0 for r in runs),
        "mismatches_per_run": [r["mismatches"] for r in runs],
        "median_us_per_run": [round(r["median_us"], 2) for r in runs],
    }
    for k in ("median_us", "p99_us", "mean_us", "throughput_per_s", "rss_growth_mib"):
        out[k] = statistics.median(r[k] for r in runs)
    out["mismatch_examples"] = next((r["mismatch_examples"] for r in runs if r["mismatch_examples"]), [])
    return out


def fmt_main_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| engine | N | ok | median µs | p99 µs | decisions/s | setup ms | RSS growth MiB |",
        "|---|---:|:---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ok = "yes" if r["ok"] else f"**NO** ({max(r['mismatches_per_run'])} wrong)"
        lines.append(
            f"| {r['label']} | {r['n']:,} | {ok} | {r['median_us']:,.1f} | {r['p99_us']:,.1f} | "
            f"{r['throughput_per_s']:,.0f} | {r['setup_ms']:,.2f} | {r['rss_growth_mib']:.2f} |"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ memory
def memory_rounds(
    decide: Callable[[dict[str, Any]], Any], reqs: list[dict[str, Any]], rounds: int
) -> list[dict[str, float]]:
    out = []
    gc.collect()
    base = rss_bytes()
    for k in range(1, rounds + 1):
        t0 = time.perf_counter()
        for r in reqs:
            decide(r)
        secs = time.perf_counter() - t0
        raw = rss_bytes()
        gc.collect()
        after_gc = rss_bytes()
        out.append(
            {
                "round": k,
                "decisions": k * len(reqs),
                "rss_mib": mib(raw),
                "rss_after_gc_mib": mib(after_gc),
                "growth_from_start_mib": mib(after_gc - base),
                "round_s": secs,
            }
        )
    return out


def fmt_memory(rows: list[dict[str, float]]) -> str:
    lines = [
        "| round | decisions so far | RSS MiB | RSS after gc.collect() MiB | growth since start MiB | round s |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['round']} | {r['decisions']:,} | {r['rss_mib']:.2f} | {r['rss_after_gc_mib']:.2f} | "
            f"{r['growth_from_start_mib']:+.2f} | {r['round_s']:.2f} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------- compile scaling
def synthetic_policy(shape: str, n: int) -> dict[str, Any]:
    """A policy document of `n` rules on platform "bench" (categories c0..c49, sub-categories s0..)."""
    rules = []
    for i in range(n):
        cat = f"c{i % 50}/s{i // 50}"
        under = {"field": "product.category", "under": cat}
        message = {"en": f"Category {cat} needs an approval (rule {i}).", "zh": f"类目 {cat} 需要资质（规则 {i}）。"}
        if shape == "join":  # every rule joins the seller's grants with the product
            rules.append(
                {
                    "id": f"r{i}",
                    "when": [
                        under,
                        {
                            "some": "seller.grants",
                            "where": [
                                {"field": "item.kind", "equals": "category_approval"},
                                {"field": "item.category", "equals": {"field": "product.category"}},
                            ],
                        },
                    ],
                    "outcome": "deny",
                    "message": message,
                }
            )
        elif shape == "revoked":  # positive, and the grant test names the category itself (no join)
            rules.append(
                {
                    "id": f"r{i}",
                    "when": [
                        under,
                        {
                            "some": "seller.grants",
                            "where": [
                                {"field": "item.kind", "equals": "category_approval"},
                                {"field": "item.status", "equals": "revoked"},
                                {"field": "item.category", "under": cat},
                            ],
                        },
                    ],
                    "outcome": "deny",
                    "message": {
                        "en": f"The approval for {cat} was revoked (rule {i}).",
                        "zh": f"类目 {cat} 的资质已被撤销（规则 {i}）。",
                    },
                }
            )
        elif shape == "mix":  # 1 in 4 derives a per-top-category conclusion, the others deny without it
            top = f"c{i % 50}"
            # The derivers (i % 4 == 3) are in the odd top categories (c1, c3, ..., every one from 100 rules
            # on); a rule of an even one negates the conclusion of the next category, which some rule derives.
            negated = f"approved-c{i % 50 if i % 2 else i % 50 + 1}"
            if i % 4 == 3:
                rules.append(
                    {
                        "id": f"r{i}",
                        "when": [
                            under,
                            {
                                "some": "seller.grants",
                                "where": [
                                    {"field": "item.kind", "equals": "category_approval"},
                                    {"field": "item.category", "under": cat},
                                ],
                            },
                        ],
                        "derive": f"approved-{top}",
                    }
                )
            else:
                rules.append(
                    {
                        "id": f"r{i}",
                        "when": [under, {"not": {"derived": negated}}],
                        "outcome": "deny",
                        "message": message,
                    }
                )
        else:
            raise SystemExit(f"unknown shape {shape!r}; expected one of {', '.join(SHAPES)}")
    return {
        "id": f"bench.synthetic-{shape}-{n}",
        "version": "1.0.0",
        "platform": "bench",
        "effective_from": "2000-01-01",
        "title": f"Synthetic {shape} policy, {n} rules",
        "sources": [{"document": "bench/bench.py", "provenance": "illustrative"}],
        "rules": rules,
    }


def synthetic_request() -> dict[str, Any]:
    """Product in c7/s1, where rule r57 applies (every size has it). The seller holds a revoked approval
    for c7/s1 and an approved one for c8/s1, so r57 denies in every shape: join (a category_approval grant
    for the product's category), mix (no rule derives approved-c7 for c7/s1) and revoked."""
    return {
        "platform": "bench",
        "as_of": SCENARIO_DAY.isoformat(),
        "seller": {
            "id": "s1",
            "grants": [
                {"kind": "category_approval", "category": "c7/s1", "status": "revoked"},
                {"kind": "category_approval", "category": "c8/s1", "status": "approved"},
            ],
        },
        "product": {"id": "p1", "category": "c7/s1", "brand": "acme"},
    }


def compile_child(shape: str, n: int) -> None:
    """Runs in a child process; prints one JSON line per finished stage."""
    from policy_engine import Engine
    from policy_engine._pipeline.compile import compile_policies
    from policy_engine._pipeline.load import parse_policy
    from policy_engine._pipeline.runtime import Network
    from policy_engine.errors import CompileError

    def emit(**kw: Any) -> None:
        print(json.dumps(kw), flush=True)

    doc = synthetic_policy(shape, n)
    t0 = time.perf_counter_ns()
    policy, problems = parse_policy(doc, f"<{shape}-{n}>")
    emit(stage="parse", ms=(time.perf_counter_ns() - t0) / 1e6)
    if policy is None:
        emit(stage="error", error="parse: " + "; ".join(map(str, problems[:3])))
        return
    t0 = time.perf_counter_ns()
    try:
        compiled = compile_policies("bench", [policy])
    except CompileError as exc:
        emit(stage="error", at="compile", error="CompileError: " + "; ".join(p.message for p in exc.problems[:2]))
        return
    emit(
        stage="compile",
        ms=(time.perf_counter_ns() - t0) / 1e6,
        network_rules=len(compiled.ruleset),
        strata=compiled.strata,
    )
    t0 = time.perf_counter_ns()
    net = Network(compiled)
    emit(stage="network", ms=(time.perf_counter_ns() - t0) / 1e6)
    net.close()
    engine = Engine([policy], cache=False)
    engine.compiled("bench", SCENARIO_DAY)  # compiled again, untimed: the decide below is warm-engine
    req = synthetic_request()
    t0 = time.perf_counter_ns()
    d = engine.decide(req, proofs=False)
    first = (time.perf_counter_ns() - t0) / 1e3
    lat = []
    for _ in range(20):
        t0 = time.perf_counter_ns()
        engine.decide(req, proofs=False)
        lat.append((time.perf_counter_ns() - t0) / 1e3)
    emit(
        stage="decide",
        first_us=first,
        median_us=statistics.median(lat),
        outcome=d.outcome,
        reasons=[r.rule.rsplit("#", 1)[1] for r in d.reasons],
        error=d.error,
    )


def run_compile_case(shape: str, n: int, timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_compile-child", shape, str(n)]
    res: dict[str, Any] = {"shape": shape, "rules": n}
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
        stdout, stderr, rc = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        stderr = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        rc = None
    res["wall_s"] = time.perf_counter() - t0
    stages = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    for st in stages:
        res[st["stage"]] = st
    done = [st["stage"] for st in stages]
    nxt = next((s for s in ("parse", "compile", "network", "decide") if s not in done), None)
    if rc is None:
        res["failure"] = f"{nxt}: no answer after {timeout:.0f} s (killed)"
    elif rc != 0 and "error" not in res:
        lines = [ln for ln in stderr.strip().splitlines() if ln and not ln.startswith(" ")]
        if rc < 0:  # killed by a signal: the C library's message comes first
            res["failure"] = f"{nxt}: process died (signal {-rc}): {lines[0] if lines else ''}".strip()
        else:  # an exception: its last line names it
            res["failure"] = f"{nxt}: {lines[-1] if lines else f'exit {rc}'}"
    if "error" in res:
        res["failure"] = res["error"]["error"]
    return res


def fmt_compile(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| shape | rules | parse_policy ms | compile_policies ms | network rules | Network() ms | "
        "first decide µs | decide µs (median of 20) | decision |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]

    def g(r: dict[str, Any], stage: str, key: str, spec: str) -> str:
        v = r.get(stage, {}).get(key)
        return "-" if v is None else format(v, spec)

    for r in rows:
        dec = r.get("decide")
        if dec:
            decision = dec["outcome"] + (f" ({', '.join(dec['reasons'])})" if dec["reasons"] else "")
            if dec.get("error"):
                decision += f" — error: {dec['error']}"
        else:
            decision = "-"
        if r.get("failure"):
            decision = f"**failed at {r['failure']}**"
        cells = [
            r["shape"],
            f"{r['rules']:,}",
            g(r, "parse", "ms", ",.0f"),
            g(r, "compile", "ms", ",.0f"),
            g(r, "compile", "network_rules", ","),
            g(r, "network", "ms", ",.0f"),
            g(r, "decide", "first_us", ",.0f"),
            g(r, "decide", "median_us", ",.0f"),
            decision,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def timed_part(
    args: argparse.Namespace, n: int, repeat: int, rounds: int
) -> tuple[list[dict[str, Any]], list[dict[str, float]], list[Subject]]:
    import scenario

    reqs = scenario.generate(n)
    expected = [scenario.reference_decide(r) for r in reqs]
    one_day = [{**r, "at": ONE_DAY} for r in reqs]  # same sellers and products, one decision date
    expected_one_day = [scenario.reference_decide(r) for r in one_day]
    days = len({r["at"] for r in reqs})
    print(
        f"- requests: scenario.generate({n}) sha256 {scenario.digest(reqs)[:16]}…, {days} distinct dates; "
        f"the one-day copy has every `at` set to {ONE_DAY} (answers re-checked against the reference)\n",
        flush=True,
    )

    import catalog

    sellers = max(1, n // CATALOG_PER_SELLER)
    cat = catalog.generate_catalog(sellers, CATALOG_PER_SELLER)
    expected_cat = [scenario.reference_decide(r) for r in cat]
    print(
        f"- catalog: catalog.generate_catalog({sellers}, {CATALOG_PER_SELLER}), {len(cat):,} requests sorted by "
        "seller, each with its own copy of the seller\n",
        flush=True,
    )

    subjects = build_subjects(args.batch)
    # Requests translated for the engine-only rows are made now, beside the harness's own: made after other
    # rows have run, they would lie scattered in the heap those rows freed, and reading them would cost
    # cache misses that the requests of the rows they are compared with do not.
    for s in subjects:
        if s.prepare is not None:
            s.inputs = [s.prepare(r) for r in (one_day if s.one_day else cat if s.catalog else reqs)]
    for k in range(repeat):
        for s in subjects:
            rq, ex = (one_day, expected_one_day) if s.one_day else (reqs, expected)
            if s.catalog:
                rq, ex = cat, expected_cat
            s.runs.append(time_subject(s, rq, ex, args.warmup, args.batch))
            r = s.runs[-1]
            print(
                f"  [pass {k + 1}/{repeat}] {s.key}: median {r['median_us']:.1f} µs, "
                f"{r['throughput_per_s']:,.0f}/s, wrong {r['mismatches']}",
                file=sys.stderr,
                flush=True,
            )
    rows = [summarize(s) for s in subjects]
    print("## Per-decision latency\n")
    print(fmt_main_table(rows))
    batches = next(r["timed_units"] for r in rows if r["key"] == "pe_decide_many")
    print(
        f"\ndecide_many rows: median/p99 over the {batches} batches of a pass (batch time / batch size); "
        "decisions/s = N / sum of batch times. Every row includes what its adapter does per request "
        f"(the engine-only rows excepted). The one-call catalog row's RSS growth is what its {len(cat):,} "
        "decisions occupy while the call runs (let go after it; the memory table below is the flatness check).\n"
    )
    for r in rows:
        if r["mismatch_examples"]:
            print(f"wrong answers from {r['key']}: {r['mismatch_examples'][:2]}\n")
    by_key = {r["key"]: r for r in rows}
    for mine, theirs, what in (
        ("pe_decide_many", "zen", "scenario, decide_many"),
        ("pe_decide", "zen", "scenario, decide"),
        ("pe_decide_many_catalog", "zen_catalog", "catalog, decide_many"),
        ("pe_decide_many_catalog_whole", "zen_catalog", "catalog, decide_many of the whole catalog, engine call only"),
    ):
        if mine in by_key and theirs in by_key:
            ratio = by_key[mine]["throughput_per_s"] / by_key[theirs]["throughput_per_s"]
            print(f"- throughput against ZEN ({what}): {ratio:.2f}×")
    if "zen" in by_key:
        print()

    print(f"## Memory: policy_engine decide, {rounds} rounds of {n:,} decisions\n", flush=True)
    mem = memory_rounds(subjects[0].fn, reqs, rounds)
    print(fmt_memory(mem))
    first, last = mem[0]["rss_after_gc_mib"], mem[-1]["rss_after_gc_mib"]
    print(
        f"\nRSS after round 1 → after round {rounds}: {first:.2f} → {last:.2f} MiB "
        f"({last - first:+.2f} MiB over {(rounds - 1) * n:,} more decisions)\n"
    )
    return rows, mem, subjects


# -------------------------------------------------------------------------------------------- main
def _counted(text: str) -> int:
    """A count given on the command line: a whole number, at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--n",
        type=_counted,
        default=None,
        help="requests per timed pass (default 5000; --quick: 500); the catalog takes whole sellers of 200 "
        "products, at least one",
    )
    ap.add_argument(
        "--repeat", type=_counted, default=None, help="timed passes per engine, median reported (default 3)"
    )
    ap.add_argument("--quick", action="store_true", help="N=500, 1 pass, 3 memory rounds, compile sizes 100 and 1000")
    ap.add_argument("--batch", type=_counted, default=256, help="decide_many batch size (default 256)")
    ap.add_argument("--warmup", type=int, default=200, help="untimed calls before each timed pass")
    ap.add_argument("--memory-rounds", type=_counted, default=None, help="rounds of N decide calls (default 10)")
    ap.add_argument("--sizes", default=None, help="compile scaling sizes, comma-separated (default 100,1000,4000)")
    ap.add_argument("--shapes", default=",".join(SHAPES), help=f"synthetic rule shapes (default {','.join(SHAPES)})")
    ap.add_argument("--compile-timeout", type=float, default=45.0, help="seconds per compile-scaling child")
    ap.add_argument("--no-compile", action="store_true", help="skip the compile scaling")
    ap.add_argument("--compile-only", action="store_true", help="only the compile scaling")
    ap.add_argument("--no-startup", action="store_true", help="skip start-up and compile from the cache (startup.py)")
    ap.add_argument("--startup-only", action="store_true", help="only start-up and compile (bench/startup.py)")
    ap.add_argument("--startup-repeat", type=int, default=3, help="fresh processes per start-up figure (default 3)")
    ap.add_argument(
        "--peers", type=Path, default=DEFAULT_PEERS, help=f"shared peer harness folder (default {DEFAULT_PEERS})"
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON to this path")
    ap.add_argument("--_compile-child", nargs=2, metavar=("SHAPE", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    setup_paths(args.peers)
    if args._compile_child:
        compile_child(args._compile_child[0], int(args._compile_child[1]))
        return 0

    n = args.n or (500 if args.quick else 5000)
    repeat = args.repeat or (1 if args.quick else 3)
    rounds = args.memory_rounds or (3 if args.quick else 10)
    sizes = (
        [int(x) for x in args.sizes.split(",")] if args.sizes else ([100, 1000] if args.quick else list(DEFAULT_SIZES))
    )
    shapes = [s for s in args.shapes.split(",") if s]
    cases = [(shape, size) for shape in shapes for size in sizes]
    if not args.sizes and not args.quick:
        cases += [c for c in EXTRA_CASES if c[0] in shapes and c not in cases]

    if not (args.peers / "scenario.py").is_file():
        print(f"error: no scenario.py in {args.peers} (use --peers)", file=sys.stderr)
        return 2

    started = time.perf_counter()
    machine = machine_info()
    print("# policy_engine benchmark\n")
    print(
        f"- machine: nproc={machine['nproc']}, CPU {machine['cpu_model']}, {machine['mem_total']} RAM, "
        f"{machine['platform']}"
    )
    print(
        f"- Python {machine['python']}, durable_rules {machine['durable_rules']}, "
        f"policy-engine {machine['policy_engine']}"
    )
    mod = machine["engine_files_modified"]
    print(
        f"- policy_engine at git {machine['git_head']}"
        + (f", with uncommitted changes in: {', '.join(mod)}" if mod else ", engine files as committed")
    )
    print(
        f"- date {machine['date_utc']}; N={n:,}, {repeat} timed pass(es) per engine (median shown), "
        f"warm-up {args.warmup}, decide_many batch {args.batch}; peers {args.peers}"
    )

    rows: list[dict[str, Any]] = []
    mem: list[dict[str, float]] = []
    subjects: list[Subject] = []
    if not (args.compile_only or args.startup_only):
        rows, mem, subjects = timed_part(args, n, repeat, rounds)

    startup_results: dict[str, Any] = {}
    if not (args.no_startup or args.compile_only):
        from bench import startup

        startup_sizes = ",".join(str(s) for s in sizes)
        startup_results = startup.main(["--sizes", startup_sizes, "--repeat", str(args.startup_repeat)])

    comp: list[dict[str, Any]] = []
    if not (args.no_compile or args.startup_only):
        print(
            f'## Compile scaling (platform "bench", one child process per size, timeout '
            f"{args.compile_timeout:.0f} s)\n",
            flush=True,
        )
        for shape, size in cases:
            res = run_compile_case(shape, size, args.compile_timeout)
            comp.append(res)
            print(
                f"  compile {shape} {size}: {res.get('failure') or 'ok'} ({res['wall_s']:.1f} s)",
                file=sys.stderr,
                flush=True,
            )
        print(fmt_compile(comp))
        print(
            "\nShapes (categories c0..c49 with sub-categories s0.., rule i applies under c{i%50}/s{i//50}): "
            "join = product.category under cK/sJ and some seller.grants with kind category_approval and "
            "item.category equal to product.category (a join between two facts), outcome deny; "
            "mix = every 4th rule derives approved-cK from a category_approval grant under cK/sJ, the others deny "
            "under cK/sJ when approved-cK (K odd; the next K for an even one) is not derived (negation, so a stratum "
            "trigger); "
            "revoked = under cK/sJ and some seller.grants with kind category_approval, status revoked and "
            "item.category under cK/sJ (literal tests only), outcome deny. "
            "The request: product in c7/s1 (rule r57), a revoked approval for c7/s1 and an approved one for "
            "c8/s1; the expected decision is deny (r57) in every shape.\n"
        )

    total = time.perf_counter() - started
    machine["loadavg_end"] = os.getloadavg()
    print(
        f"total time {total:.0f} s; load average at start {machine['loadavg_start'][0]:.2f}, "
        f"at end {machine['loadavg_end'][0]:.2f} (1 min)"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine,
                    "n": n,
                    "repeat": repeat,
                    "batch": args.batch,
                    "results": rows,
                    "runs": {s.key: s.runs for s in subjects},
                    "memory": mem,
                    "compile": comp,
                    "startup": startup_results,
                    "total_s": total,
                },
                indent=1,
                default=list,
                ensure_ascii=False,
            )
        )
        print(f"wrote {args.json}")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
