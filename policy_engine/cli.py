"""`policy-engine`: validate policies, decide requests, explain decisions.

Exit codes: 0 on any decision (allow, review or deny) and on valid policies, 2 on bad input (the file,
the JSON path and the problem go to stderr), 1 on an engine fault, a failed test case or a lint error.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import attrs

from . import __version__
from ._pipeline import load_documents
from ._pipeline.explain import LABELS, render_text
from ._pipeline.load import (
    decode_utf8,
    discover,
    looks_like_policy,
    parse_json,
    read_json,
    skipped_files,
)
from ._pipeline.request import decision_date
from ._tools import docgen
from .decision import Decision
from .engine import Engine
from .errors import (
    CompileError,
    ItemError,
    LoadError,
    PolicyEngineError,
    Problem,
    ProblemCode,
    RequestError,
    UnknownPlatformError,
    located,
)
from .replay import Progress
from .resources import ENGINE_VERSION, data_dir

__all__ = ["main"]

EXIT_OK, EXIT_FAULT, EXIT_INPUT = 0, 1, 2


class _InputError(PolicyEngineError):
    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(map(str, problems)))


def _date(text: str) -> dt.date:
    """A date on the command line, read as a request's `as_of` is (YYYY-MM-DD only)."""
    try:
        return decision_date(text, "")
    except RequestError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (expected YYYY-MM-DD)") from None


def _version() -> str:
    return f"policy-engine {__version__} (durable_rules {ENGINE_VERSION})"


@attrs.frozen
class _Input:
    """One request read from the input: where it came from, and its value or why it has none."""

    label: str  # `file.json`, or `file.jsonl:3` for a line
    line: int | None  # the line number in a .jsonl file or on stdin
    value: Any = None
    problems: tuple[Problem, ...] = ()


@attrs.frozen
class _Failed:
    """A request that was not decided: what kind of problem, and the problems (named by file and line)."""

    item: _Input
    kind: str  # "json" (not UTF-8, not JSON, too deep) | "request" (not a valid request) | "platform" (no policy)
    problems: tuple[Problem, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.item.line,
            "error": self.kind,
            "message": located(self.problems),
            "problems": [p.to_dict() for p in self.problems],
        }


def _relabel(label: str, problems: Sequence[Problem]) -> tuple[Problem, ...]:
    return tuple(Problem(file=p.file or label, pointer=p.pointer, message=p.message, code=p.code) for p in problems)


def _lines(data: bytes | str, label: str) -> list[_Input]:
    """One input per non-blank line of JSON lines; a line that is not UTF-8 or not JSON keeps its problems."""
    items: list[_Input] = []
    raw_lines: Sequence[bytes | str] = data.split(b"\n") if isinstance(data, bytes) else data.split("\n")
    for n, raw in enumerate(raw_lines, start=1):
        where = f"{label}:{n}"
        if isinstance(raw, bytes):
            text, problems = decode_utf8(raw, where)
            if text is None:
                items.append(_Input(where, n, problems=tuple(problems)))
                continue
        else:
            text = raw
        if n == 1:
            text = text.removeprefix("\ufeff")
        if not text.strip():
            continue
        value, problems = parse_json(text, where)
        items.append(_Input(where, n, value, tuple(problems)))
    if not items:
        raise _InputError(
            [
                Problem(
                    file=label,
                    pointer="",
                    message=f"no requests in {label}; expected one JSON request per line",
                    code="PE005",
                )
            ]
        )
    return items


def _read_requests(source: str, stdin: TextIO) -> tuple[list[_Input], bool]:
    """The requests of a .json file, a .jsonl file, or `-` (JSON lines on stdin); and whether they are lines."""
    if source == "-":
        buffer = getattr(stdin, "buffer", None)
        return _lines(buffer.read() if buffer is not None else stdin.read(), "<stdin>"), True
    path = Path(source)
    if path.suffix.lower() != ".jsonl":
        doc, problems = read_json(path)
        if problems:
            raise _InputError(problems)
        return [_Input(source, None, doc)], False
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _InputError(
            [Problem(file=source, pointer="", message=f"cannot read the file: {exc.strerror or exc}", code="PE001")]
        ) from None
    return _lines(data, source), True


def _engine(paths: Sequence[str] | None, verify: float = 0.0, prepare: bool = True, cache: bool = True) -> Engine:
    """The engine for a command; deciding commands compile only the networks their requests need, and
    take them from the compile cache when they can (`cache=False`: compile everything)."""
    return Engine.from_directory(
        *(paths or [str(data_dir("policies"))]), verify=verify, prepare=prepare, cache=None if cache else False
    )


def _verify_options(parser: argparse.ArgumentParser) -> None:
    shadow = parser.add_mutually_exclusive_group()
    shadow.add_argument(
        "--verify",
        action="store_const",
        const=1.0,
        default=0.0,
        help="shadow mode: recompute every decision with the reference evaluator; a disagreement gives a "
        "deny carrying both answers and exit 1",
    )
    shadow.add_argument(
        "--verify-fraction",
        dest="verify",
        type=_fraction,
        metavar="FRACTION",
        help="shadow mode on a sampled fraction of the decisions (0 to 1)",
    )


def _bounded(high: float, what: str) -> Any:
    """An argparse type: a number from 0 to `high`."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not 0.0 <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what} between 0 and {high:g}")
        return value

    return parse


_percent = _bounded(100.0, "a percentage")
_fraction = _bounded(1.0, "a fraction")


def _cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    paths = args.paths or [str(data_dir("policies"))]
    engine = _engine(paths, cache=False)  # loads, checks and compiles every period of every platform
    policies = engine.policies
    engine.close()
    files = len(discover(paths))
    platforms = sorted({p.platform for p in policies})
    rules = sum(len(p.rules) for p in policies)
    for skipped in skipped_files(paths):  # a file that looks like a policy but is skipped failed loading
        print(f"skipped {skipped.path}: {skipped.reason}", file=out)
    print(
        f"ok: {len(policies)} policies, {rules} rules, platforms {', '.join(platforms)} ({files} files)",
        file=out,
    )
    return EXIT_OK


_Result = tuple[_Input, "list[Decision] | _Failed"]


def _decide_all(engine: Engine, items: Sequence[_Input], args: argparse.Namespace) -> list[_Result]:
    """Per input, its decisions (one, or one per platform) or why it was not decided; same order."""
    results: list[list[Decision] | _Failed | None] = [None] * len(items)
    good: list[int] = []
    for i, item in enumerate(items):
        if item.problems:
            results[i] = _Failed(item, "json", item.problems)
        elif args.all_platforms:
            try:
                everywhere = list(engine.decide_everywhere(item.value, as_of=args.as_of).values())
                if not everywhere:
                    day = args.as_of or (item.value.get("as_of") if isinstance(item.value, dict) else None)
                    message = f"no policy of any platform is in force on {day or 'today'}"
                    raise UnknownPlatformError(
                        [Problem(file=item.label, pointer="/as_of", message=message, code="PE040")]
                    )
                results[i] = everywhere
            except UnknownPlatformError as exc:
                results[i] = _Failed(item, "platform", _relabel(item.label, exc.problems))
            except RequestError as exc:
                results[i] = _Failed(item, "request", _relabel(item.label, exc.problems))
        else:
            good.append(i)
    # parsed from the input here: read without a copy
    decided = engine._decide_each([items[i].value for i in good], args.as_of, True, owned=True)
    for i, result in zip(good, decided, strict=True):
        if isinstance(result, ItemError):
            results[i] = _Failed(items[i], result.kind, _relabel(items[i].label, result.problems))
        else:
            results[i] = [result]
    return [(item, r) for item, r in zip(items, results, strict=True) if r is not None]


def _cmd_decide(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    items, as_lines = _read_requests(args.request, stdin)
    if as_lines and (getattr(args, "workers", None) or getattr(args, "scheduler", None)):  # decide only
        return _decide_on_dask(args, items, out, err)
    engine = _engine(args.policies, args.verify, prepare=False)
    results: list[_Result] = []
    meter = Progress(err if as_lines and len(items) > _CHUNK else None, len(items))
    several = as_lines or bool(args.all_platforms)
    try:
        for start in range(0, len(items), _CHUNK):  # chunks: output streams, progress moves
            chunk = _decide_all(engine, items[start : start + _CHUNK], args)
            results += chunk
            if args.format != "table":
                if not as_lines and isinstance(chunk[0][1], _Failed):  # one request: its problems are the answer
                    raise _InputError(chunk[0][1].problems)
                _print_results(chunk, args, out, several)
            meter.update(min(start + _CHUNK, len(items)))
    finally:
        engine.close()
        meter.update(len(items), final=True)
    failed = [r for _, r in results if isinstance(r, _Failed)]
    if failed and not as_lines:  # one request: its problems are the whole answer
        raise _InputError(failed[0].problems)
    decisions = [d for _, r in results if not isinstance(r, _Failed) for d in r]
    if args.format == "table":
        print(_table(results, args.lang), file=out)
    if failed:
        print(f"policy-engine {args.command}: {len(failed)} of {len(results)} requests not decided", file=err)
        for f in failed:
            for p in f.problems:
                print(f"  {p}", file=err)
        return EXIT_INPUT
    return EXIT_FAULT if any(d.error for d in decisions) else EXIT_OK


_CHUNK = 500


def _print_results(results: Sequence[_Result], args: argparse.Namespace, out: TextIO, several: bool) -> None:
    for _, result in results:
        if isinstance(result, _Failed):
            if args.format == "text":
                print(f"ERROR  {result.item.label}  not decided ({result.kind})", file=out)
                print("".join(f"  {p}\n" for p in result.problems), file=out)
            else:
                print(json.dumps(result.to_dict(), ensure_ascii=False), file=out)
            continue
        for d in result:
            if args.format == "text":
                print(render_text(d, args.lang, proofs=args.proofs), file=out)
                if several:
                    print(file=out)
            else:
                print(json.dumps(d.to_dict(), ensure_ascii=False, indent=None if several else 2), file=out)


def _decide_on_dask(args: argparse.Namespace, items: Sequence[_Input], out: TextIO, err: TextIO) -> int:
    """`decide CATALOG.jsonl --workers N`: the same JSON lines as without, decided on a Dask cluster."""
    from .replay import Line, decide_catalog_on_dask

    if args.format != "json" or args.all_platforms:
        raise _InputError(
            [
                Problem(
                    file="",
                    pointer="",
                    message="--workers and --scheduler give JSON lines: use --format json",
                    code="PE060",
                )
            ]
        )
    records = decide_catalog_on_dask(
        (Line(i.label, json.dumps(i.value, ensure_ascii=False)) for i in items if not i.problems),
        args.policies or [str(data_dir("policies"))],
        workers=args.workers,
        scheduler=args.scheduler,
        verify=args.verify,
        proofs=True,
        as_of=args.as_of,
    )
    meter = Progress(err, len(items))
    bad: list[_Failed] = []
    faults = 0
    for n, item in enumerate(items, start=1):
        if item.problems:  # not JSON: never sent to the cluster, reported in its place
            failed = _Failed(item, "json", item.problems)
        else:
            record = next(records)
            if "outcome" in record:
                faults += bool(record.get("error"))
                print(json.dumps(record, ensure_ascii=False), file=out)
                meter.update(n)
                continue
            code: ProblemCode = "PE040" if record.get("error") == "platform" else "PE010"
            problems = tuple(
                Problem(
                    file=item.label,
                    pointer=p.get("pointer", ""),
                    message=p.get("message", ""),
                    code=p.get("code", code),
                )
                for p in record.get("problems", ())
            ) or (Problem(file=item.label, pointer="", message=record.get("message", ""), code=code),)
            failed = _Failed(item, record.get("error", "request"), problems)
        bad.append(failed)
        print(json.dumps(failed.to_dict(), ensure_ascii=False), file=out)
        meter.update(n)
    meter.update(len(items), final=True)
    if bad:
        print(f"policy-engine {args.command}: {len(bad)} of {len(items)} requests not decided", file=err)
        for f in bad:
            for p in f.problems:
                print(f"  {p}", file=err)
        return EXIT_INPUT
    return EXIT_FAULT if faults else EXIT_OK


def _cmd_replay(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    """Decide a catalog under OLD and NEW; flips grouped. Exit 2 if a line was bad, else 1 if any flipped."""
    from .replay import read_catalog, replay

    total = None
    if args.catalog != "-" and Path(args.catalog).is_file():
        with open(args.catalog, "rb") as fh:
            total = sum(1 for line in fh if line.strip())
    report = replay(
        read_catalog(args.catalog, stdin),
        args.old,
        args.new,
        workers=args.workers,
        scheduler=args.scheduler,
        chunk_size=args.chunk_size,
        verify=args.verify,
        progress=err,
        total=total,
    )
    if report.decided == 0 and not report.bad and not report.failed:
        raise _InputError(
            [
                Problem(
                    file=args.catalog,
                    pointer="",
                    message="no requests in the catalog; expected one JSON request per line",
                    code="PE005",
                )
            ]
        )
    if args.format == "json":
        text = json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n"
    elif args.format == "csv":
        text = report.to_csv()
    else:
        text = report.to_text() + "\n"
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise _InputError(
                [
                    Problem(
                        file=args.out,
                        pointer="",
                        message=f"cannot write the report: {exc.strerror or exc}",
                        code="PE001",
                    )
                ]
            ) from None
    else:
        out.write(text)
    for label, message in report.bad:
        print(f"  {label}: {message}", file=err)
    if report.bad:
        return EXIT_INPUT
    return EXIT_FAULT if report.flips or report.failed else EXIT_OK


def _table(results: Sequence[_Result], lang: str = "en") -> str:
    """One row per decision: request, platform, outcome, deciding rules, advisories; a row per bad request.

    In Chinese the headers are Chinese and the outcome is named in Chinese before its English label."""
    label = LABELS.get(lang, LABELS["en"])
    rows = [tuple(label[k] for k in ("request", "platform", "outcome", "deciding", "advisories"))]
    for item, result in results:
        if isinstance(result, _Failed):
            message = "; ".join(f"{p.pointer or '/'}: {p.message}" for p in result.problems)
            rows.append((item.label, "-", "error", f"not decided ({result.kind}): {message}", "-"))
            continue
        for d in result:
            rules = ", ".join(r.rule for r in d.reasons) or label["engine_error" if d.error else "platform_default"]
            outcome = d.outcome if lang == "en" else f"{label[d.outcome]} {d.outcome}"
            rows.append((item.label, d.platform, outcome, rules, ", ".join(a.rule for a in d.advisories) or "-"))
    widths = [max(_width(r[i]) for r in rows) for i in range(4)]
    return "\n".join(
        "  ".join(c + " " * (w - _width(c)) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4] for r in rows
    )


def _width(text: str) -> int:
    """Columns the text takes in a terminal: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    """Re-decide the request of each decision in the file; 0 if every one is the same, 1 otherwise."""
    from ._tools.verify import read_decisions, verify

    decisions, problems = read_decisions(Path(args.decision))
    request, request_problems = read_json(Path(args.request))
    if problems or request_problems:
        raise _InputError([*problems, *request_problems])
    engine = _engine(args.policies, prepare=False)  # only the networks of the recorded decisions
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
    from ._tools.suite import cases_from, junit_xml, measure_coverage, report_failure, run_cases

    paths = args.paths or [str(data_dir("policies"))]
    named_dirs = [p for p in paths if Path(p).is_dir()]
    policy_paths = args.policies or _policy_folders_of(paths) or [str(data_dir("policies"))]
    junit = Path(args.junit) if args.junit else None
    if junit is not None:  # before the cases run, so a bad path costs no time
        if junit.is_dir():
            raise _InputError(
                [
                    Problem(
                        file=str(junit),
                        pointer="",
                        message="is a folder; expected a file name for the JUnit XML",
                        code="PE001",
                    )
                ]
            )
        try:
            junit.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            message = f"cannot create the folder {junit.parent}: {exc.strerror or exc}; expected a writable path"
            raise _InputError([Problem(file=str(junit), pointer="", message=message, code="PE001")]) from None
    # Named case files alone: those cases, deciding with only the networks they need; a policy folder
    # (or none named): every case under it and its invariants, every network compiled up front.
    files_only = not named_dirs
    engine = _engine(policy_paths, prepare=not files_only)
    try:
        cases, problems = cases_from(paths)
        if problems:
            raise _InputError(problems)
        if not cases:
            raise _InputError(
                [
                    Problem(
                        file=", ".join(paths),
                        pointer="",
                        message="no test cases found (JSON files in tests/ folders)",
                        code="PE005",
                    )
                ]
            )
        results = run_cases(engine, cases)
        failed = [r for r in results if not r.passed]
        for r in failed:
            print(report_failure(r, args.lang) + "\n", file=out)
        if junit is not None:
            try:
                junit.write_text(junit_xml(results), encoding="utf-8")
            except OSError as exc:
                message = f"cannot write the JUnit XML: {exc.strerror or exc}; expected a writable file"
                raise _InputError([Problem(file=str(junit), pointer="", message=message, code="PE001")]) from None
        code = EXIT_FAULT if failed else EXIT_OK
        if args.coverage or args.min_coverage is not None:
            coverage = measure_coverage(engine, results)
            print(coverage.report() + "\n", file=out)
            if args.min_coverage is not None and coverage.percent() < args.min_coverage:
                print(f"coverage {coverage.percent():.1f}% is below --min-coverage {args.min_coverage}", file=out)
                code = EXIT_FAULT
        broken = 0
        if files_only and not args.no_invariants:
            print("invariants: not checked (only case files were named; name a policy folder to check them)", file=out)
        elif not args.no_invariants:
            folders = [str(Path(d).parent) if Path(d).name == "tests" else d for d in named_dirs]
            broken = _check_invariants(engine, folders, args, out)
            code = EXIT_FAULT if broken else code
        print(f"{len(results) - len(failed)} passed, {len(failed)} failed", file=out)
        return code
    finally:
        engine.close()


def _policy_folders_of(paths: Sequence[str]) -> list[str]:
    """The policy folders that decide the cases under `paths`: a folder named, or the platform folder of a
    named case file (`<platform>/tests/<case>.json`), with the folders beside a platform folder that hold
    policies of every platform (`"platform": "*"`, such as `policies/common`). Empty when none is found."""
    folders: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            folder = p.parent if p.name == "tests" else p
        elif p.parent.name == "tests":
            folder = p.parent.parent
        else:
            continue
        for f in (folder, *_shared_beside(folder)):
            if f.resolve() not in [g.resolve() for g in folders]:
                folders.append(f)
    return [str(f) for f in folders]


def _shared_beside(folder: Path) -> list[Path]:
    """The folders beside a platform folder (one holding policy files itself) with `*` policies in them."""
    if not any(folder.glob("*.json")):
        return []  # a tree of platform folders, not one platform's: it holds what it holds
    shared = []
    for sibling in sorted(folder.resolve().parent.iterdir()):
        if sibling.is_dir() and sibling != folder.resolve() and any(map(_applies_everywhere, sibling.glob("*.json"))):
            shared.append(sibling)
    return shared


_SHARED_MAX_BYTES = 4 << 20  # a policy document is far smaller; larger files beside it are not read


def _applies_everywhere(file: Path) -> bool:
    """A policy of every platform (`"platform": "*"`). Files too large to be one, or in which `"*"` does not
    occur (and no escape that could spell it), are not parsed."""
    try:
        if file.stat().st_size > _SHARED_MAX_BYTES:
            return False
        data = file.read_bytes()
        if b'"*"' not in data and b"\\" not in data:
            return False
        doc = json.loads(data)
    except (OSError, ValueError):
        return False  # loading names what is wrong with it, if it is a policy
    return isinstance(doc, dict) and doc.get("platform") == "*" and "rules" in doc


def _check_invariants(engine: Engine, paths: Sequence[str], args: argparse.Namespace, out: TextIO) -> int:
    """Check every invariants.json under the policy folders; print each violation; how many broke."""
    from ._tools.invariants import check_invariants, discover_invariants, load_invariants

    files = discover_invariants(paths)
    sets = [load_invariants(f) for f in files]  # LoadError: bad input, nothing checked
    broken = total = 0
    for invariants in sets:
        if invariants.platform not in engine.platforms:
            raise _InputError(
                [
                    Problem(
                        file=invariants.file,
                        pointer="/platform",
                        message=f"no policy governs platform {invariants.platform!r}",
                        code="PE024",
                    )
                ]
            )
        total += len(invariants.invariants)
        for violation in check_invariants(engine, invariants, max_examples=args.examples, seed=args.seed):
            broken += 1
            print(violation.describe(args.lang) + "\n", file=out)
            if args.write_cases:
                folder = Path(args.write_cases)
                folder.mkdir(parents=True, exist_ok=True)
                case = folder / f"{invariants.platform}-invariant-{violation.invariant.id}.json"
                case.write_text(json.dumps(violation.to_case(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
                print(f"  written as a test case: {case}\n", file=out)
    if total:
        print(f"invariants: {total - broken} held, {broken} broken ({args.examples} requests each)", file=out)
    return broken


def _cmd_lint(args: argparse.Namespace, out: TextIO) -> int:
    from ._tools.lint import lint_policies, load_taxonomies

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


def _not_a_policy(doc: Any) -> str:
    if isinstance(doc, dict):
        missing = ", ".join(k for k in ("id", "version", "platform", "rules") if k not in doc)
        found = f"an object without {missing}"
    else:
        found = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(doc), "a number")
    return f"not a policy: expected an object with id, version, platform and rules; found {found}"


def _cmd_fmt(args: argparse.Namespace, out: TextIO) -> int:
    from ._tools.fmt import format_document

    paths = args.paths or [str(data_dir("policies"))]
    changed = 0
    problems: list[Problem] = []
    for path in discover(paths):
        doc, errs = read_json(path)
        if errs:
            problems.extend(errs)
            continue
        if not looks_like_policy(doc):
            problems.append(Problem(file=str(path), pointer="", message=_not_a_policy(doc), code="PE010"))
            continue
        text = format_document(doc)
        if path.read_bytes().decode("utf-8") != text:
            if args.check:
                changed += 1
                print(f"would reformat {path}", file=out)
            else:
                try:
                    _replace_file(path, text)
                except OSError as exc:
                    problems.append(
                        Problem(
                            file=str(path),
                            pointer="",
                            message=f"cannot write the file: {exc.strerror or exc}",
                            code="PE001",
                        )
                    )
                    continue
                changed += 1
                print(f"reformatted {path}", file=out)
    print(f"{changed} file{'s' if changed != 1 else ''} {'to reformat' if args.check else 'reformatted'}", file=out)
    if problems:
        raise _InputError(problems)
    return EXIT_FAULT if args.check and changed else EXIT_OK


def _replace_file(path: Path, text: str) -> None:
    """Write `text` over `path` all at once: into a new file beside it, then renamed over it, so that a
    failed write (a full disk, an interruption) leaves the original as it was. A symbolic link is written
    through (its target is replaced, the link kept); the file keeps its permissions and, where allowed,
    its owner. In a folder where no new file can be made, the file is written in place."""
    import os
    import tempfile

    target = path.resolve()
    status = target.stat()
    try:
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except PermissionError:
        target.write_text(text, encoding="utf-8")
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(name, status.st_mode & 0o7777)
        if hasattr(os, "chown"):
            with contextlib.suppress(OSError):
                os.chown(name, status.st_uid, status.st_gid)
        os.replace(name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise


def _cmd_diff(args: argparse.Namespace, out: TextIO) -> int:
    from ._tools.diff import DEFAULT_BUDGET, as_test_case, diff_policies

    budget = DEFAULT_BUDGET if args.budget is None else args.budget
    if budget < 1:
        raise _InputError(
            [Problem(file="--budget", pointer="", message=f"{budget} requests; expected at least 1", code="PE060")]
        )
    report = diff_policies(
        args.old,
        args.new,
        platforms=args.platform or (),
        dates=args.as_of or (),
        budget=budget,
        seed=args.seed,
        search_unchanged=args.search_unchanged,
    )
    if args.write_cases:
        folder = Path(args.write_cases)
        folder.mkdir(parents=True, exist_ok=True)
        for n, flip in enumerate(report.flips, start=1):
            case = as_test_case(flip, n)
            text = json.dumps(case, ensure_ascii=False, indent=2) + "\n"
            (folder / f"{case['name']}.json").write_text(text, encoding="utf-8")
    if args.format == "json":
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2), file=out)
    else:
        print(report.render_text(), file=out)
    return EXIT_FAULT if report.flips else EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="policy-engine", description="Marketplace listing policies: validate, decide, explain."
    )
    parser.add_argument("--version", action="version", version=_version())
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
    t.add_argument(
        "--policies",
        action="append",
        metavar="DIR",
        help="policy folder (default: the folders given, or the platform folder of each case file given, with the "
        "folders beside it that hold '*' policies, such as common/; otherwise the shipped policies)",
    )
    t.add_argument("--junit", metavar="FILE", help="also write JUnit XML (missing folders are created)")
    t.add_argument("--coverage", action="store_true", help="report coverage in policy terms")
    t.add_argument("--min-coverage", type=_percent, metavar="N", help="fail below N percent of coverage (0-100)")
    t.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the failure reports")
    t.add_argument(
        "--no-invariants",
        action="store_true",
        help="run the cases only, not the invariants (which run only when a policy folder, or none, is named)",
    )
    t.add_argument("--examples", type=int, default=200, metavar="N", help="requests tried per invariant (200)")
    t.add_argument("--seed", type=int, default=0, help="seed of the generated requests (reproducible runs)")
    t.add_argument("--write-cases", metavar="DIR", help="write each invariant's counterexample as a test case")
    on_dask = []  # the commands that can run on a Dask cluster (their output is JSON lines)
    df = sub.add_parser("diff", help="what a policy change does: static changes and decisions that differ")
    df.add_argument("old", help="the old policy folder, or git:REV for the policies/ tree at a git revision")
    df.add_argument("new", help="the new policy folder, or git:REV")
    df.add_argument("--platform", action="append", metavar="P", help="only this platform (repeatable)")
    df.add_argument(
        "--as-of",
        type=_date,
        action="append",
        metavar="DATE",
        help="search on this date (repeatable; default: "
        "every version boundary of either side, a day either side of it, and today)",
    )
    df.add_argument("--budget", type=int, metavar="N", help="requests tried per platform and date (default 150)")
    df.add_argument("--seed", type=int, default=0, help="seed of the request generator (default 0)")
    df.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")
    df.add_argument("--write-cases", metavar="DIR", help="write each example as a test case expecting the new decision")
    df.add_argument(
        "--search-unchanged",
        action="store_true",
        help="also search dates on which both sides have the same rules in force (skipped by default)",
    )
    for name, helptext in (
        ("decide", "decide a request (or one per line of a .jsonl file, or - for stdin)"),
        ("explain", "decide and print the proof tree as readable text"),
    ):
        d = sub.add_parser(name, help=helptext)
        if name == "decide":
            on_dask.append(d)
        d.add_argument("request", help="request .json, .jsonl, or - for JSON lines on stdin")
        d.add_argument(
            "--policies",
            action="append",
            metavar="DIR",
            help="policy folder (repeatable; default: the shipped policies)",
        )
        d.add_argument("--as-of", type=_date, metavar="DATE", help="decide as of this date (YYYY-MM-DD)")
        d.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the text")
        d.add_argument("--all-platforms", action="store_true", help="one decision per platform")
        _verify_options(d)
        if name == "decide":
            d.add_argument(
                "--format",
                choices=("json", "text", "table"),
                default="json",
                help="json (one line per decision for several), text, or table (one row per decision)",
            )
            d.add_argument("--proofs", action="store_true", help="with --format text, include proof trees")
        else:
            d.set_defaults(format="text", proofs=True)
    rp = sub.add_parser("replay", help="decide a catalog under two policy sets; group the lines that change")
    rp.add_argument("catalog", help="JSON lines (one request a line), a folder of .jsonl files, or - for stdin")
    rp.add_argument("--old", action="append", required=True, metavar="DIR", help="the policies before (repeatable)")
    rp.add_argument("--new", action="append", required=True, metavar="DIR", help="the policies after (repeatable)")
    rp.add_argument("--format", choices=("text", "json", "csv"), default="text", help="report format")
    rp.add_argument("--out", metavar="FILE", help="write the report to FILE instead of standard output")
    rp.add_argument("--chunk-size", type=int, default=500, metavar="N", help="lines per unit of work (default 500)")
    for cmd in (rp, *on_dask):
        where = cmd.add_mutually_exclusive_group()
        where.add_argument("--workers", type=int, metavar="N", help="run on a local Dask cluster of N worker processes")
        where.add_argument("--scheduler", metavar="ADDRESS", help="run on the Dask cluster at ADDRESS")
    _verify_options(rp)
    docgen.add_arguments(sub.add_parser("docs", help="write (or --check) one Markdown reference page per platform"))
    ver = sub.add_parser("verify", help="re-decide a stored decision's request; say what differs (exit 1)")
    ver.add_argument("decision", help="the decision, as printed by `decide --format json` (or JSON lines of them)")
    ver.add_argument("request", help="the request .json that was decided")
    ver.add_argument("--policies", action="append", metavar="DIR", help="policy folder (default: the shipped policies)")
    return parser


def main(
    argv: Sequence[str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    """Run the command line on `argv` (default: `sys.argv[1:]`); returns the exit code.

    `out`, `err` and `stdin` default to the process's streams; tests pass their own.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    stdin = stdin or sys.stdin
    parser = _parser()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
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
        if args.command == "replay":
            return _cmd_replay(args, out, err, stdin)
        if args.command == "verify":
            return _cmd_verify(args, out)
        if args.command == "diff":
            return _cmd_diff(args, out)
        if args.command == "docs":
            return docgen.run(args, out, err)
        return _cmd_decide(args, out, err, stdin)
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
    except OSError as exc:  # a file that cannot be read or written is bad input, not an engine fault
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"policy-engine {args.command}: {where}{exc.strerror or exc}", file=err)
        return EXIT_INPUT


if __name__ == "__main__":
    raise SystemExit(main())
