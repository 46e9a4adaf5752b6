"""`policy-engine`: validate policies, decide requests, explain decisions.

Exit codes: 0 on any decision (allow, review or deny) and on valid policies, 2 on bad input (the file,
the JSON path and the problem go to stderr), 1 on an engine fault.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from .engine import Engine
from .errors import CompileError, LoadError, PolicyEngineError, Problem, RequestError
from .explain import render_text
from .load import discover, load_documents, read_json
from .resources import data_dir

__all__ = ["main"]

EXIT_OK, EXIT_FAULT, EXIT_INPUT = 0, 1, 2


class _InputError(PolicyEngineError):
    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(map(str, problems)))


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (expected YYYY-MM-DD)") from None


def _requests(source: str, stdin: TextIO) -> Iterator[tuple[str, Any]]:
    """(label, request) pairs from a .json file, a .jsonl file, or `-` (JSON lines on stdin)."""
    if source == "-":
        lines: Sequence[str] = stdin.read().splitlines()
        label = "<stdin>"
    else:
        path = Path(source)
        if path.suffix != ".jsonl":
            doc, problems = read_json(path)
            if problems:
                raise _InputError(problems)
            yield source, doc
            return
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise _InputError([Problem(source, "", f"cannot read the file: {exc}", code="io")]) from None
        label = source
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield f"{label}:{n}", json.loads(line)
        except json.JSONDecodeError as exc:
            raise _InputError(
                [Problem(f"{label}:{n}", "", f"malformed JSON at column {exc.colno}: {exc.msg}", code="json")]
            ) from None


def _engine(paths: Sequence[str] | None) -> Engine:
    return Engine.from_directory(*(paths or [str(data_dir("policies"))]))


def _cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    paths = args.paths or [str(data_dir("policies"))]
    engine = Engine.from_directory(*paths)  # loads, checks and compiles every period of every platform
    policies = engine.policies
    engine.close()
    files = len(discover(paths))
    platforms = sorted({p.platform for p in policies})
    rules = sum(len(p.rules) for p in policies)
    print(
        f"ok: {len(policies)} policies, {rules} rules, platforms {', '.join(platforms)} ({files} files)",
        file=out,
    )
    return EXIT_OK


def _cmd_decide(args: argparse.Namespace, out: TextIO, explain: bool = False) -> int:
    engine = _engine(args.policies)
    worst = EXIT_OK
    items = list(_requests(args.request, sys.stdin))
    for label, raw in items:
        try:
            if getattr(args, "all_platforms", False):
                decisions = list(engine.decide_everywhere(raw, as_of=args.as_of).values())
            else:
                decisions = [engine.decide(raw, as_of=args.as_of)]
        except RequestError as exc:
            raise _InputError(
                [Problem(label if not p.file else p.file, p.pointer, p.message, p.code) for p in exc.problems]
            ) from None
        if getattr(args, "all_platforms", False) and args.format == "table" and not explain:
            print(_table(label, decisions), file=out)
            worst = max([worst, *(EXIT_FAULT for d in decisions if d.error)])
            continue
        for d in decisions:
            if d.error:
                worst = EXIT_FAULT
            if explain or args.format == "text":
                print(render_text(d, args.lang, proofs=explain or args.proofs), file=out)
                if len(items) > 1 or len(decisions) > 1:
                    print(file=out)
            else:
                lines = len(items) > 1 or len(decisions) > 1
                print(json.dumps(d.to_dict(), ensure_ascii=False, indent=None if lines else 2), file=out)
    return worst


def _table(label: str, decisions: Sequence[Any]) -> str:
    """One line per platform: outcome, deciding rules, advisories."""
    rows = [("platform", "outcome", "deciding rules", "advisories")]
    for d in decisions:
        rules = ", ".join(r.rule for r in d.reasons) or ("(engine error)" if d.error else "(platform default)")
        rows.append((d.platform, d.outcome, rules, ", ".join(a.rule for a in d.advisories) or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{label}:"] + [
        "  " + "  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)) + "  " + r[3] for r in rows
    ]
    return "\n".join(lines)


def _cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    """Re-decide the request of each decision in the file; 0 if every one is the same, 1 otherwise."""
    from .verify import read_decisions, verify

    decisions, problems = read_decisions(Path(args.decision))
    request, request_problems = read_json(Path(args.request))
    if problems or request_problems:
        raise _InputError([*problems, *request_problems])
    engine = _engine(args.policies)
    try:
        code = EXIT_OK
        for label, recorded in decisions:
            differences, notes = verify(engine, recorded, request, args.request)
            platform = recorded["platform"]
            head = "" if not label else f"{label}: " if label == f"/{platform}" else f"{label} ({platform}): "
            if differences:
                code = EXIT_FAULT
                print(f"{head}different decision (recorded → re-decided):", file=out)
                for line in differences:
                    print(f"  {line}", file=out)
            else:
                print(f"{head}same decision", file=out)
            for note in notes:
                print(f"  note: {note}", file=out)
        return code
    finally:
        engine.close()


def _cmd_test(args: argparse.Namespace, out: TextIO) -> int:
    from .suite import cases_from, junit_xml, measure_coverage, report_failure, run_cases

    paths = args.paths or [str(data_dir("policies"))]
    policy_paths = args.policies or [p for p in paths if Path(p).is_dir()] or [str(data_dir("policies"))]
    engine = Engine.from_directory(*policy_paths)
    try:
        cases, problems = cases_from(paths)
        if problems:
            raise _InputError(problems)
        if not cases:
            raise _InputError([Problem(", ".join(paths), "", "no test cases found (JSON files in tests/ folders)")])
        results = run_cases(engine, cases)
        failed = [r for r in results if not r.passed]
        for r in failed:
            print(report_failure(r, args.lang) + "\n", file=out)
        if args.junit:
            Path(args.junit).write_text(junit_xml(results), encoding="utf-8")
        code = EXIT_FAULT if failed else EXIT_OK
        if args.coverage or args.min_coverage is not None:
            coverage = measure_coverage(engine, results)
            print(coverage.report() + "\n", file=out)
            if args.min_coverage is not None and coverage.percent() < args.min_coverage:
                print(f"coverage {coverage.percent():.1f}% is below --min-coverage {args.min_coverage}", file=out)
                code = EXIT_FAULT
        print(f"{len(results) - len(failed)} passed, {len(failed)} failed", file=out)
        return code
    finally:
        engine.close()


def _cmd_lint(args: argparse.Namespace, out: TextIO) -> int:
    from .lint import lint_policies, load_taxonomies

    paths = args.paths or [str(data_dir("policies"))]
    policies = load_documents(paths)
    findings = lint_policies(policies, load_taxonomies(paths))
    for f in findings:
        print(str(f), file=out)
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    print(
        f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)} in {len(policies)} policies",
        file=out,
    )
    return EXIT_FAULT if errors else EXIT_OK


def _cmd_fmt(args: argparse.Namespace, out: TextIO) -> int:
    from .fmt import format_document

    paths = args.paths or [str(data_dir("policies"))]
    changed = 0
    problems: list[Problem] = []
    for path in discover(paths):
        doc, errs = read_json(path)
        if errs:
            problems.extend(errs)
            continue
        text = format_document(doc)
        if path.read_text(encoding="utf-8") != text:
            changed += 1
            if args.check:
                print(f"would reformat {path}", file=out)
            else:
                path.write_text(text, encoding="utf-8")
                print(f"reformatted {path}", file=out)
    if problems:
        raise _InputError(problems)
    print(f"{changed} file{'s' if changed != 1 else ''} {'to reformat' if args.check else 'reformatted'}", file=out)
    return EXIT_FAULT if args.check and changed else EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="policy-engine", description="Marketplace listing policies: validate, decide, explain."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="check policy files against the schema and each other")
    v.add_argument("paths", nargs="*", help="policy files or folders (default: the shipped policies)")
    lint = sub.add_parser("lint", help="findings with a code, severity, file and JSON pointer (errors fail)")
    lint.add_argument("paths", nargs="*", help="policy files or folders (default: the shipped policies)")
    fmt = sub.add_parser("fmt", help="rewrite policy files in the one canonical layout")
    fmt.add_argument("paths", nargs="*", help="policy files or folders (default: the shipped policies)")
    fmt.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would change")
    t = sub.add_parser("test", help="run the analysts' test cases (tests/ folders beside the policies)")
    t.add_argument("paths", nargs="*", help="policy folders or test case files (default: the shipped policies)")
    t.add_argument("--policies", action="append", metavar="DIR", help="policy folder (default: the folders given)")
    t.add_argument("--junit", metavar="FILE", help="also write JUnit XML")
    t.add_argument("--coverage", action="store_true", help="report coverage in policy terms")
    t.add_argument("--min-coverage", type=float, metavar="N", help="fail below N percent of coverage")
    t.add_argument("--lang", choices=("en", "zh"), default="en")
    for name, helptext in (
        ("decide", "decide a request (or one per line of a .jsonl file, or - for stdin)"),
        ("explain", "decide and print the proof tree as readable text"),
    ):
        d = sub.add_parser(name, help=helptext)
        d.add_argument("request", help="request .json, .jsonl, or - for JSON lines on stdin")
        d.add_argument("--policies", action="append", metavar="DIR", help="policy folder (repeatable)")
        d.add_argument("--as-of", type=_date, metavar="DATE", help="decide as of this date (YYYY-MM-DD)")
        d.add_argument("--lang", choices=("en", "zh"), default="en")
        d.add_argument("--all-platforms", action="store_true", help="one decision per platform")
        if name == "decide":
            d.add_argument(
                "--format",
                choices=("json", "text", "table"),
                default="json",
                help="json (one line per decision for several), text, or table (with --all-platforms)",
            )
            d.add_argument("--proofs", action="store_true", help="with --format text, include proof trees")
    ver = sub.add_parser("verify", help="re-decide a stored decision's request; say what differs (exit 1)")
    ver.add_argument("decision", help="the decision, as printed by `decide --format json` (or JSON lines of them)")
    ver.add_argument("request", help="the request .json that was decided")
    ver.add_argument("--policies", action="append", metavar="DIR", help="policy folder (default: the shipped policies)")
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the command line; returns the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_INPUT if exc.code not in (0, None) else EXIT_OK
    try:
        if args.command == "validate":
            return _cmd_validate(args, out)
        if args.command == "test":
            return _cmd_test(args, out)
        if args.command == "lint":
            return _cmd_lint(args, out)
        if args.command == "fmt":
            return _cmd_fmt(args, out)
        if args.command == "verify":
            return _cmd_verify(args, out)
        return _cmd_decide(args, out, explain=args.command == "explain")
    except (LoadError, CompileError, RequestError, _InputError) as exc:
        print(f"policy-engine {args.command}: error", file=err)
        for p in exc.problems:
            print(f"  {p}", file=err)
        return EXIT_INPUT
    except PolicyEngineError as exc:
        print(f"policy-engine {args.command}: {exc}", file=err)
        return EXIT_INPUT
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
