"""Load stage: read policy files, validate each against the schema, and build the model.

`read_documents` (files) and `read_texts` (texts in memory) return the policies that parsed and the
problems of every file, so one run reports them all. The check stage (`check.check_policies`) comes
next, across documents; `policy_engine._pipeline.load_documents` runs both and returns nothing unless
every file is valid (nothing is half-loaded).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import re
import sys
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path, PurePath
from typing import Any

import attrs

from .._language import schemas
from .._language.model import (
    AllOf,
    AnyOf,
    AsOf,
    Compare,
    Condition,
    Count,
    Derived,
    FieldRef,
    Literal,
    Not,
    Operand,
    Policy,
    Remedy,
    Rule,
    Some,
    Source,
    Text,
)
from .._language.operators import COMPARISON_OPS, OPERATORS, operator
from ..errors import Problem, ProblemCode

__all__ = [
    "COMPARISON_OPS",
    "DATA_PLACEHOLDER",
    "MAX_DEPTH",
    "NON_POLICY_NAMES",
    "Skipped",
    "SourceFile",
    "check_depth",
    "discover",
    "format_data",
    "json_pointer",
    "looks_like_policy",
    "parse_json",
    "parse_policy",
    "parse_sources",
    "path_list",
    "read_documents",
    "read_json",
    "read_sources",
    "read_texts",
    "rebuild",
    "relative_path",
    "skipped_files",
    "source_text",
    "unique_paths",
]

MAX_DEPTH = 64
MAX_POLICY_RULES = 4094  # durable_rules holds 4096 rules per ruleset; two are internal
"""How deeply objects and lists may nest in a policy or a request (the shipped ones stay below 16)."""

NON_POLICY_NAMES = {
    "taxonomy.json": "a taxonomy (read by lint), not a policy",
    "invariants.json": "invariants, not a policy",
}
"""Files of a policy folder that are known not to be policies, and what they are."""

_POLICY_KEYS = ("id", "version", "platform", "rules")


def json_pointer(parts: Iterable[str | int]) -> str:
    """The JSON pointer (RFC 6901) of a path of keys and indexes: `~` and `/` in a key escaped."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _too_deep(file: str, pointer: str, limit: int) -> Problem:
    return Problem(
        file=file, pointer=pointer, message=f"nested deeper than {limit} levels; expected at most {limit}", code="PE004"
    )


def check_depth(value: Any, file: str = "", limit: int = MAX_DEPTH) -> list[Problem]:
    """A problem at the first object or list nested deeper than `limit` levels (none when within bounds).

    Iterative, so it is safe on values too deep for the recursive schema checks that come after it.
    """
    if not isinstance(value, (dict, list, tuple)) or _within(value, 1, limit):
        return []
    # (node, depth, path) with the path as a linked (parent, key) pair, built in constant time per node
    stack: list[tuple[Any, int, Any]] = [(value, 1, None)]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, dict):
            children: Iterable[tuple[Any, Any]] = reversed(node.items())  # visited in document order
        elif isinstance(node, list | tuple):
            children = reversed(list(enumerate(node)))
        else:
            continue
        if depth > limit:
            parts: list[Any] = []
            while path is not None:
                path, key = path
                parts.append(key)
            return [_too_deep(file, json_pointer(reversed(parts)), limit)]
        stack.extend((child, depth + 1, (path, key)) for key, child in children)
    return []


def _within(node: Any, depth: int, limit: int) -> bool:
    """Whether no object or list below `node` (at `depth`) is nested deeper than `limit` (the quick answer of
    `check_depth`, which finds the pointer only when there is one to report); recursion stops at `limit`."""
    if depth > limit:
        return False
    for child in node.values() if isinstance(node, dict) else node:
        if isinstance(child, (dict, list, tuple)) and not _within(child, depth + 1, limit):
            return False
    return True


def _plain(node: Any, depth: int) -> bool:
    """Whether a container and everything in it pass `check_depth` (MAX_DEPTH) and `schemas.value_problems`
    at once: the common answer, found in one walk; a document that fails is checked again by both, for
    their problems and pointers."""
    if depth > MAX_DEPTH:
        return False
    if type(node) is dict:
        for key in node:
            if type(key) is not str or not (key.isascii() or schemas._utf8(key)):
                return False
        children: Iterable[Any] = node.values()
    else:
        children = node
    for child in children:
        kind = type(child)
        if kind is str:
            if not (child.isascii() or schemas._utf8(child)):
                return False
            if len(child) > _SHORT_TEXT and (len(child) > schemas.MAX_STRING or not schemas.text_fits(child)):
                return False  # too long for a value, or longer than the engine compares
        elif kind is dict or kind is list:
            if not _plain(child, depth + 1):
                return False
        elif kind is int:
            if not (-_SAFE_INT <= child <= _SAFE_INT or schemas._exact_int(child)):
                return False
        elif kind is float:
            if not math.isfinite(child):
                return False
        elif kind is not bool and child is not None:
            return False
    return True


_SAFE_INT = schemas._SAFE_INT  # bound here: read once per value in the walk above
_SHORT_TEXT = schemas._SHORT_TEXT  # no text this short is too long for the engine or for a value
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[][{}:,]|[^\s"\][{}:,]+')
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


class _NotJsonError(ValueError):
    pass


def _constant(name: str) -> Any:
    raise _NotJsonError(f"{name} is not JSON; expected a finite number")


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _NotJsonError(f"the number {text} is too large; expected a finite number")
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise _NotJsonError("a key appears twice in one object")
    return value


def _scalar_problem(token: str) -> str | None:
    try:
        json.loads(token, parse_constant=_constant, parse_float=_float)
    except _NotJsonError as exc:
        return str(exc)
    except ValueError:  # an integer with more digits than Python converts
        most = getattr(sys, "get_int_max_str_digits", lambda: 4300)()
        return f"the number has {len(token.lstrip('-'))} digits; expected at most {most}"
    return None


def _locate(text: str, limit: int) -> tuple[str, str] | None:
    """(JSON pointer, problem) of the first container nested deeper than `limit`, of the first number that
    is not a finite JSON number, or of the first key repeated in its object, found in the text without
    parsing it (the parser fails on all three)."""
    # one frame per open container: [is_object, key or index, expecting a key, keys seen]
    frames: list[list[Any]] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        top = frames[-1] if frames else None
        if token in ("[", "{"):
            if len(frames) >= limit:
                too_deep = f"nested deeper than {limit} levels; expected at most {limit}"
                return json_pointer(f[1] for f in frames), too_deep
            frames.append([token == "{", 0 if token == "[" else "", token == "{", set()])
        elif token in ("]", "}"):
            if frames:
                frames.pop()
        elif token == ",":
            if top is not None:
                if top[0]:
                    top[2] = True
                else:
                    top[1] += 1
        elif token.startswith('"'):
            if top is not None and top[0] and top[2]:
                try:
                    key = json.loads(token)
                except json.JSONDecodeError:
                    key = token[1:-1]
                top[1], top[2] = key, False
                if key in top[3]:
                    return json_pointer(f[1] for f in frames), f"the key {key!r} appears twice; expected each key once"
                top[3].add(key)
        elif token != ":":
            problem = _scalar_problem(token)
            if problem is not None:
                return json_pointer(f[1] for f in frames), problem
    return None


def _lone_surrogate(value: Any) -> str | None:
    """The JSON pointer of the first string (or key) holding half of a UTF-16 surrogate pair, which no
    UTF-8 text can hold."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return json_pointer(path)
        elif isinstance(node, dict):
            for key, child in reversed(node.items()):  # reversed onto the stack: visited in document order
                stack.append((child, (*path, key)))
                stack.append((key, path))
        elif isinstance(node, list):
            stack.extend((child, (*path, i)) for i, child in reversed(list(enumerate(node))))
    return None


def parse_json(text: str, file: str, limit: int = MAX_DEPTH) -> tuple[Any, list[Problem]]:
    """Parse JSON text. A syntax error, nesting deeper than `limit`, a number that is not finite (`NaN`,
    `Infinity`, `1e999`) or too long, a key repeated in one object (the parser would keep only the last
    one), or a lone surrogate (`"\\ud800"`) becomes a Problem."""
    value, problems = _loads(text, file, limit)
    if problems:
        return None, problems
    problems = _nesting_and_surrogates(value, text, file, limit)
    return (None, problems) if problems else (value, [])


def _parse_document(text: str, file: str) -> tuple[Any, list[Problem], bool]:
    """`parse_json` of a policy document, and whether the value is plain (`_plain`: the walk `parse_policy`
    starts with). A plain object is within MAX_DEPTH and all its texts are valid UTF-8, so it passes the
    walks `parse_json` ends with, and is walked once instead of three times."""
    value, problems = _loads(text, file, MAX_DEPTH)
    if problems:
        return None, problems, False
    if type(value) is dict and _plain(value, 1):
        return value, [], True
    problems = _nesting_and_surrogates(value, text, file, MAX_DEPTH)
    return (None, problems, False) if problems else (value, [], False)


def _loads(text: str, file: str, limit: int) -> tuple[Any, list[Problem]]:
    """The JSON value of the text, or the problem that stopped the parser."""
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float, object_pairs_hook=_object)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}" if "\n" in text.rstrip("\n") else f"column {exc.colno}"
        return None, [Problem(file=file, pointer="", message=f"malformed JSON at {where}: {exc.msg}", code="PE002")]
    except (RecursionError, ValueError) as exc:
        found = _locate(text, limit)
        if found is not None:
            return None, [
                Problem(
                    file=file,
                    pointer=found[0],
                    message=found[1],
                    code="PE004" if found[1].startswith("nested") else "PE002",
                )
            ]
        return None, [Problem(file=file, pointer="", message=f"not JSON the engine can read: {exc}", code="PE002")]
    return value, []


def _nesting_and_surrogates(value: Any, text: str, file: str, limit: int) -> list[Problem]:
    """Nesting deeper than `limit`, else a lone surrogate escape, in a parsed value."""
    problems = check_depth(value, file, limit)
    if not problems and _SURROGATE.search(text):
        pointer = _lone_surrogate(value)
        if pointer is not None:
            message = "a lone UTF-16 surrogate escape in a string; expected text that UTF-8 can hold"
            problems = [Problem(file=file, pointer=pointer, message=message, code="PE002")]
    return problems


def decode_utf8(data: bytes, file: str) -> tuple[str | None, list[Problem]]:
    """Bytes as text; bytes that are not UTF-8 become a Problem with their line and column."""
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        where = f"line {line}, column {column}" if b"\n" in data.rstrip(b"\n") else f"column {column}"
        return None, [
            Problem(
                file=file,
                pointer="",
                message=f"not valid UTF-8 at {where} (byte {data[exc.start]:#04x}); expected UTF-8 text",
                code="PE003",
            )
        ]


def read_json(path: Path, limit: int = MAX_DEPTH) -> tuple[Any, list[Problem]]:
    """Parse a JSON file; unreadable bytes, a syntax error or too deep nesting become a Problem."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [
            Problem(file=str(path), pointer="", message=f"cannot read the file: {exc.strerror or exc}", code="PE001")
        ]
    return _parse_bytes(data, str(path), limit)


def _parse_bytes(data: bytes, file: str, limit: int) -> tuple[Any, list[Problem]]:
    text, problems = decode_utf8(data, file)
    if text is None:
        return None, problems
    return parse_json(text.removeprefix("\ufeff"), file, limit)


def looks_like_policy(doc: Any) -> bool:
    """Whether a JSON value has the shape of a policy document (an object with id, version, platform, rules)."""
    return isinstance(doc, dict) and all(k in doc for k in _POLICY_KEYS)


def _suffix(name: str) -> str:
    """`PurePath(name).suffix`: from the last dot, unless the name starts with it or ends with it."""
    i = name.rfind(".")
    return name[i:] if 0 < i < len(name) - 1 else ""


def _is_policy_name(parts: tuple[str, ...]) -> bool:
    """Whether a file at these parts (relative to its policy folder) is loaded as a policy."""
    name = parts[-1]
    return _suffix(name) == ".json" and "tests" not in parts[:-1] and name not in NON_POLICY_NAMES


def _walk(root: Path) -> tuple[list[tuple[tuple[str, ...], Path]], list[tuple[Path, bool]]]:
    """Every file under a folder (symbolic links to files included; links to folders neither listed nor
    followed), by its parts relative to the folder, in the order of sorted paths (`sorted(root.rglob("*"))`);
    and the links left out, sorted: to folders (True) and to nothing (False)."""
    files: list[tuple[tuple[str, ...], Path]] = []
    links: list[tuple[Path, bool]] = []
    base = str(root)
    for folder, dirs, names in os.walk(base):
        rel = os.path.relpath(folder, base)
        parts = () if rel == os.curdir else tuple(rel.split(os.sep))
        links += [(Path(folder, name), True) for name in dirs if os.path.islink(os.path.join(folder, name))]
        for name in names:
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                files.append(((*parts, name), root.joinpath(*parts, name)))
            elif os.path.islink(path) and not os.path.exists(path):
                links.append((Path(path), False))
    files.sort(key=lambda item: item[0])
    return files, sorted(links)


def _holds_policies(folder: Path) -> bool:
    """Whether a folder (links in it not followed) holds a file that is a policy document."""
    return any(_suffix(parts[-1]).lower() == ".json" and _policy_shaped(f) for parts, f in _walk(folder)[0])


def path_list(paths: Iterable[str | Path], what: str = "paths") -> list[Path]:
    """The folders or files given, as Paths; TypeError for one path given where a list of them is expected
    (a text would be read letter by letter: `/`, then `p`, ...)."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        raise TypeError(
            f"{what}: expected a list of folders or files, e.g. [{str(paths)!r}]; got one {type(paths).__name__}"
        )
    out = []
    for p in paths:
        if not isinstance(p, (str, os.PathLike)):
            raise TypeError(f"{what}: expected folders or files (str or Path); got {type(p).__name__}: {p!r:.80}")
        out.append(Path(p))
    return out


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Policy files under the given files or folders (`*.json`, skipping `tests/` folders, `taxonomy.json` and
    `invariants.json`; `skipped_files` lists every file left out). A file given by name is always taken.
    A file reached twice (a folder given twice, or a folder and one inside it) is taken once, where it is
    first reached."""
    return unique_paths(
        f
        for p in path_list(paths)
        for f in ((f for parts, f in _walk(p)[0] if _is_policy_name(parts)) if p.is_dir() else (p,))
    )


def unique_paths(files: Iterable[Path]) -> list[Path]:
    """The files in order, each once: a file reached again by another spelling (`a/x.json`, `./a/x.json`,
    through a link to one of its folders) is left out. Two links are two files, and a path whose folder
    cannot be reached is kept as it is (reading it reports the problem)."""
    out: list[Path] = []
    seen: set[Path] = set()
    for f in files:
        where = _resolved(f)
        if where not in seen:
            seen.add(where)
            out.append(f)
    return out


def _resolved(f: Path) -> Path:
    """Where a path is: its folder with every link and `..` resolved, on disk; and its own name, a link or
    not (two links are two files). The path itself, made absolute, if its folder cannot be reached."""
    try:  # `resolve` takes `x.json/..` for a folder: the system's own lookup must find one there
        if os.path.isdir(f.parent):
            return f.parent.resolve(strict=True) / f.name
    except (OSError, RuntimeError):  # missing, not a folder, a loop of links
        pass
    return f.absolute()


def _loaded_through_other_paths(link: Path, paths: Sequence[Path]) -> bool:
    """Whether every policy document under a link to a folder is loaded anyway, from the paths given."""
    loaded = {_resolved(f) for f in discover(paths)}
    shaped = [f for parts, f in _walk(link)[0] if _suffix(parts[-1]).lower() == ".json" and _policy_shaped(f)]
    return all(_resolved(f) in loaded for f in shaped)


@attrs.frozen
class Skipped:
    """A file or folder of a policy tree that is not loaded as a policy, and why.

    `problem` is set when it looks like a policy (by its name or its content): loading then fails, so no
    one believes a rule is in force when its file is never read.
    """

    path: Path
    reason: str
    problem: Problem | None = None


_POLICY_KEY_TEXTS = tuple(f'"{k}"'.encode() for k in _POLICY_KEYS)


def _policy_shaped(f: Path) -> bool:
    """Whether a file holds a policy document (files over 8 MB, or not starting with `{`, are not read)."""
    try:
        if f.stat().st_size > 8 << 20:
            return False
        data = f.read_bytes()
    except OSError:
        return False
    if data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")[:1] != b"{":
        return False
    # Without a backslash escape, every key of a JSON text appears in it as written: a text lacking one of
    # the keys every policy has is not a policy, and need not be parsed to know it.
    if b"\\" not in data and not all(k in data for k in _POLICY_KEY_TEXTS):
        return False
    doc, problems = _parse_bytes(data, str(f), MAX_DEPTH)
    return not problems and looks_like_policy(doc)


def skipped_files(paths: Iterable[str | Path]) -> list[Skipped]:
    """Everything under the given folders that `discover` leaves out: one line per `tests/` folder, one per
    other file; an error for each file that looks like a policy but would not be loaded."""
    skipped: list[Skipped] = []
    given = path_list(paths)
    roots: set[Path] = set()
    for root in given:
        where = _resolved(root)
        if not root.is_dir() or where in roots:
            continue
        roots.add(where)
        test_folders: dict[Path, int] = {}
        files, links = _walk(root)
        for rel, f in files:
            if _is_policy_name(rel):
                continue
            parts = rel[:-1]
            if "tests" in parts:
                folder = root.joinpath(*parts[: parts.index("tests") + 1])
                test_folders[folder] = test_folders.get(folder, 0) + 1
                if _suffix(rel[-1]).lower() == ".json" and _policy_shaped(f):
                    message = (
                        f"a policy document in the test case folder {folder}: it is not loaded; "
                        "expected policies outside tests/ folders (move it up to its platform folder)"
                    )
                    skipped.append(
                        Skipped(
                            f,
                            "a policy in a tests/ folder",
                            Problem(file=str(f), pointer="", message=message, code="PE006"),
                        )
                    )
            elif _suffix(rel[-1]).lower() == ".json" and _suffix(rel[-1]) != ".json":
                message = (
                    f"the extension {_suffix(rel[-1])!r} is not loaded; expected a policy file name ending in "
                    "lowercase .json (rename it, or move it out of the policy folder)"
                )
                skipped.append(
                    Skipped(f, "not a .json name", Problem(file=str(f), pointer="", message=message, code="PE006"))
                )
            elif f.name in NON_POLICY_NAMES:
                what = NON_POLICY_NAMES[f.name]
                problem = None
                if _policy_shaped(f):
                    message = (
                        f"a policy document named {f.name}: it is not loaded, the name is reserved for {what}; "
                        "expected another file name"
                    )
                    problem = Problem(file=str(f), pointer="", message=message, code="PE006")
                skipped.append(Skipped(f, what, problem))
            else:
                problem = None
                if _policy_shaped(f):
                    message = "a policy document in a file not named *.json is not loaded; expected a .json name"
                    problem = Problem(file=str(f), pointer="", message=message, code="PE006")
                skipped.append(Skipped(f, "not a .json file", problem))
        skipped.extend(
            Skipped(folder, f"test cases ({n} file{'s' if n != 1 else ''}), not policies")
            for folder, n in test_folders.items()
        )
        for link, to_folder in links:
            problem = None
            if to_folder:
                if _holds_policies(link) and not _loaded_through_other_paths(link, given):
                    message = (
                        "a link to a folder that holds policy documents: links to folders are not followed, so "
                        "they are not loaded; expected the folder itself here, or its path given to the command"
                    )
                    problem = Problem(file=str(link), pointer="", message=message, code="PE006")
                skipped.append(Skipped(link, "a link to a folder (not followed)", problem))
            else:
                if _is_policy_name(link.relative_to(root).parts):  # where a policy file would be loaded
                    message = "a link to a file that does not exist; expected a policy file (or remove the link)"
                    problem = Problem(file=str(link), pointer="", message=message, code="PE001")
                skipped.append(Skipped(link, "a link to nothing", problem))
    unique: dict[tuple[Path, str], Skipped] = {}  # a folder given twice, or with one inside it: listed once
    for item in skipped:  # a problem wins: the same link seen from two roots may be a problem from one only
        key = (_resolved(item.path), item.reason)
        if key not in unique or (unique[key].problem is None and item.problem is not None):
            unique[key] = item
    return sorted(unique.values(), key=lambda s: str(s.path))


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


DATA_PLACEHOLDER = re.compile(r"\{data\.([^{}:]*)(?::([^{}]*))?\}")
"""`{data.NAME}` or `{data.NAME:FORMAT}` in a message or remedy text: a value of the policy's named data."""


def format_data(value: Any, spec: str | None) -> str:
    """A named data value as a message shows it: a number as written in JSON (`0.05`, `60`), a string as is,
    a list joined with ", ". `spec` is `percent` (a fraction as a percentage without the sign: 0.05 gives
    `5`, 0.008 gives `0.8`) or a Python format specification for numbers (`.2f`: 0.1 gives `0.10`).
    Raise ValueError for a format that does not fit the value."""
    if spec is None or spec == "":
        if isinstance(value, tuple):
            return ", ".join(format_data(v, None) for v in value)
        return value if isinstance(value, str) else json.dumps(value)
    if not isinstance(value, int | float) or isinstance(value, bool):
        shown = json.dumps(list(value) if isinstance(value, tuple) else value, ensure_ascii=False)
        raise ValueError(f"the format {spec!r} applies to numbers; this named data is {shown}")
    if spec == "percent":
        return format((Decimal(repr(value)) * 100).normalize(), "f")
    if not re.fullmatch(r"[<>=^+\- ]?[0-9]*[,_]?(\.[0-9]+)?[efgdn%]?", spec):
        raise ValueError(f"unknown format {spec!r}; expected `percent` or a number format such as `.2f`")
    return format(value, spec)


class _Parser:
    def __init__(self, doc: dict[str, Any], file: str, path: str = "") -> None:
        self.doc = doc
        self.file = file
        self.path = path
        self.data: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in doc.get("data", {}).items()}
        self.problems: list[Problem] = []
        # One Literal per value (with its type: 1, 1.0 and True differ) or named datum: a large policy
        # repeats a few values thousands of times, and literals are immutable.
        self.literals: dict[Any, Literal] = {}

    def problem(self, pointer: str, message: str, code: ProblemCode = "PE024") -> None:
        self.problems.append(Problem(file=self.file, pointer=pointer, message=message, code=code))

    def operand(self, raw: Any, pointer: str, op: str) -> Operand:
        """The operand of `{"field": ..., op: raw}` at `pointer` (the comparison's)."""
        if isinstance(raw, dict):
            if "ref" in raw:
                name = raw["ref"]
                if name not in self.data:
                    known = ", ".join(sorted(self.data)) or "none defined"
                    self.problem(f"{pointer}/{op}/ref", f"unknown named data {name!r}; expected one of: {known}")
                    return Literal("", ref=name)
                named = self.literals.get(("ref", name))
                if named is None:
                    named = self.literals[("ref", name)] = Literal(self.data[name], ref=name)
                return named
            if "field" in raw:
                return FieldRef(raw["field"])
            shift = raw["as_of"]
            return AsOf(shift.get("years", 0), shift.get("months", 0), shift.get("days", 0))
        if isinstance(raw, list):
            return Literal(tuple(raw))
        kind = type(raw)
        if kind is float:  # 0.0 and -0.0 are equal keys
            return Literal(raw)
        found = self.literals.get((kind, raw))
        if found is None:
            found = self.literals[(kind, raw)] = Literal(raw)
        return found

    def condition(self, raw: dict[str, Any], pointer: str) -> Condition:
        if "field" in raw:
            for key in raw:  # the schema admits exactly one registered operator beside the field
                if key != "field":
                    break
            op = operator(key).name
            operand = Literal(bool(raw[op])) if op == "exists" else self.operand(raw[op], pointer, op)
            return Compare(path=raw["field"], op=op, operand=operand, pointer=pointer)
        if "count" in raw:
            ops = [k for k in raw if k not in ("count", "where", "distinct", "including", "merge")]
            if len(ops) != 1:  # the schema bounds the number of fields, not of operators
                shown = ", ".join(map(repr, ops)) if ops else "none"
                expected = ", ".join(name for name, spec in OPERATORS.items() if spec.count)
                self.problem(
                    pointer, f"a count takes exactly one operator, found {shown}; expected one of: {expected}", "PE010"
                )
                ops = ops[:1] or ["at_least"]
            op = operator(ops[0]).name
            where = tuple(self.condition(c, f"{pointer}/where/{i}") for i, c in enumerate(raw.get("where", ())))
            merge = (raw["merge"]["field"], int(raw["merge"]["within_days"])) if "merge" in raw else None
            return Count(
                list_path=raw["count"],
                op=op,
                value=int(raw.get(op, 0)),
                pointer=pointer,
                where=where,
                distinct=raw.get("distinct"),
                including=raw.get("including"),
                merge=merge,
            )
        if "some" in raw:
            at = f"{pointer}/where"
            where = tuple([self.condition(c, f"{at}/{i}") for i, c in enumerate(raw["where"])])
            return Some(list_path=raw["some"], where=where, pointer=pointer)
        if "derived" in raw:
            return Derived(raw["derived"], pointer=pointer)
        if "not" in raw:
            return Not(self.condition(raw["not"], f"{pointer}/not"), pointer=pointer)
        key = "any" if "any" in raw else "all"
        parts = tuple(self.condition(c, f"{pointer}/{key}/{i}") for i, c in enumerate(raw[key]))
        return AnyOf(parts, pointer=pointer) if key == "any" else AllOf(parts, pointer=pointer)

    def fill(self, text: str, pointer: str) -> str:
        def value(match: re.Match[str]) -> str:
            name, spec = match.group(1), match.group(2)
            if name not in self.data:
                known = ", ".join(sorted(self.data)) or "none defined"
                self.problem(
                    pointer,
                    f"placeholder {match.group()} names no named data of this policy; expected one of: {known}",
                    "PE025",
                )
                return match.group()
            try:
                return format_data(self.data[name], spec)
            except ValueError as exc:
                self.problem(pointer, f"placeholder {match.group()}: {exc}", "PE025")
                return match.group()

        return DATA_PLACEHOLDER.sub(value, text)

    def text(self, raw: dict[str, str], pointer: str) -> Text:
        """A message or remedy with its `{data.NAME}` placeholders filled (the texts as written kept for lint)."""
        en, zh = raw["en"], raw["zh"]
        if "{data." not in en and "{data." not in zh:
            return Text(en=en, zh=zh)
        return Text(en=self.fill(en, f"{pointer}/en"), zh=self.fill(zh, f"{pointer}/zh"), templates=(en, zh))

    def rule(self, raw: dict[str, Any], pointer: str, provenance: str) -> Rule:
        at = f"{pointer}/when"
        when = AllOf(tuple([self.condition(c, f"{at}/{i}") for i, c in enumerate(raw["when"])]), pointer=at)
        msg = raw.get("message")
        return Rule(
            id=raw["id"],
            when=when,
            derive=raw.get("derive"),
            outcome=raw.get("outcome"),
            message=self.text(msg, f"{pointer}/message") if msg else None,
            remedies=tuple(
                Remedy(code=r["code"], text=self.text(r, f"{pointer}/remedies/{i}"))
                for i, r in enumerate(raw.get("remedies", ()))
            ),
            pointer=pointer,
            provenance=raw.get("provenance", provenance),
            description=raw.get("description", ""),
            source_refs=tuple(raw.get("source_refs", ())),
        )

    def policy(self, digest: str) -> Policy:
        doc = self.doc
        sources = tuple(
            Source(
                provenance=s["provenance"],
                url=s.get("url"),
                document=s.get("document"),
                date=s.get("date"),
                note=s.get("note"),
            )
            for s in doc["sources"]
        )
        order = {"sourced": 0, "article-only": 1, "borrowed": 2, "illustrative": 3}
        provenance = max((s.provenance for s in sources), key=order.__getitem__)
        rules = tuple(self.rule(r, f"/rules/{i}", provenance) for i, r in enumerate(doc["rules"]))
        until = doc.get("effective_until")
        return Policy(
            id=doc["id"],
            version=doc["version"],
            platform=doc["platform"],
            effective_from=_date(doc["effective_from"]),
            effective_until=_date(until) if until else None,
            title=doc["title"],
            description=doc.get("description", ""),
            sources=sources,
            data=self.data,
            rules=rules,
            default_outcome=doc.get("default_outcome"),
            file=self.file,
            digest=digest,
            effective_from_basis=doc.get("effective_from_basis"),
            effective_from_note=doc.get("effective_from_note"),
            path=self.path,
        )


def parse_policy(
    doc: Any, file: str = "<memory>", path: str = "", *, checkable: bool = False, plain: bool = False
) -> tuple[Policy | None, list[Problem]]:
    """Validate one document against the policy schema and build it; problems instead of a half policy.

    `file` names the document in problems; `path` is how decisions cite it (default: the file's name).
    `checkable`: a document whose only problems are in the placeholders of its texts is returned with
    them, so that the checks across documents report its other problems too (loading still fails). `plain`: the
    caller found `_plain(doc, 1)` true already."""
    rules = doc.get("rules") if isinstance(doc, dict) else None
    if isinstance(rules, list) and len(rules) > MAX_POLICY_RULES:  # refused before validating thousands of rules
        return None, [
            Problem(
                file=file,
                pointer="/rules",
                message=f"{len(rules)} rules; expected at most {MAX_POLICY_RULES} (the rule engine holds 4096 "
                "rules per platform, two of them internal): split the policy",
                code="PE036",
            )
        ]
    plain = plain or (type(doc) is dict and _plain(doc, 1))
    problems = [] if plain else check_depth(doc, file) or schemas.value_problems(doc, file, MAX_DEPTH + 1)
    # The generated checker answers for valid documents (nearly all) at a fraction of the cost; the
    # schema validator is run only to describe what is wrong, so errors are exactly the validator's.
    if not problems and not schemas.fast_checker("policy")(doc):
        problems = schemas.validate("policy", doc, file)
    if problems:
        return None, problems
    canonical = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    digest = "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    parser = _Parser(doc, file, path or Path(file).name)
    policy = parser.policy(digest)
    in_texts_only = checkable and all(p.code == "PE025" for p in parser.problems)
    return (policy if not parser.problems or in_texts_only else None), parser.problems


def relative_path(file: Path, paths: Iterable[str | Path]) -> str:
    """A policy file's path relative to the first of the folders `paths` that holds it (`/` separated), or
    its name when it was given by name: how decisions cite it, wherever the folder is."""
    for root in map(Path, paths):
        if root.is_dir() and file.is_relative_to(root):
            return file.relative_to(root).as_posix()
    return file.name


def read_texts(texts: dict[str, str]) -> tuple[list[Policy], list[Problem]]:
    """The policies parsed from documents given as text ({file name: JSON text}, e.g. sent to a worker),
    and the problems of every document, naming the given file names. Decisions cite each file relative
    to the folder that holds them all (as when the folder was loaded from disk)."""
    problems: list[Problem] = []
    policies: list[Policy] = []
    names = {file: PurePath(file) for file in texts}
    try:
        common = os.path.commonpath([str(n.parent) for n in names.values()]) if names else ""
    except ValueError:  # absolute and relative names mixed: each file is cited by its name
        common = ""
    for file, text in sorted(texts.items()):
        doc, errs, plain = _parse_document(text.removeprefix("\ufeff"), file)  # a BOM, as files from disk
        if not errs:
            name = names[file]
            path = name.relative_to(common).as_posix() if common and name.is_relative_to(common) else name.name
            policy, errs = parse_policy(doc, file, path, checkable=True, plain=plain)
            if policy is not None:
                policies.append(policy)
        problems.extend(errs)
    return policies, problems


@attrs.frozen
class SourceFile:
    """A policy file as read: its name in problems, how decisions cite it, and its bytes (None when it
    could not be read, with the reason)."""

    file: str
    path: str
    data: bytes | None
    error: str = ""


def source_text(source: SourceFile) -> tuple[str | None, list[Problem]]:
    """A policy file's text; None and the problem when it could not be read or is not UTF-8."""
    if source.data is None:
        return None, [Problem(file=source.file, pointer="", message=source.error, code="PE001")]
    return decode_utf8(source.data, source.file)


def read_sources(paths: Iterable[str | Path]) -> tuple[list[SourceFile], list[Problem]]:
    """Every policy file under `paths` with its bytes, and the problems of the folders: no policy file
    found, and files that look like policies but would not be loaded (a `.JSON` name, a policy in a
    `tests/` folder or named `taxonomy.json`)."""
    paths = path_list(paths)  # once: an iterator given would be spent by the first of the passes below
    files = discover(paths)
    problems: list[Problem] = [s.problem for s in skipped_files(paths) if s.problem is not None]
    if not files:
        problems.append(
            Problem(file=", ".join(map(str, paths)), pointer="", message="no policy files (*.json) found", code="PE005")
            if paths
            else Problem(file="", pointer="", message="no folders or files given; expected policies", code="PE005")
        )
    sources: list[SourceFile] = []
    for file in files:
        try:
            sources.append(SourceFile(str(file), relative_path(file, paths), file.read_bytes()))
        except OSError as exc:
            sources.append(SourceFile(str(file), "", None, f"cannot read the file: {exc.strerror or exc}"))
    return sources, problems


def parse_sources(sources: Sequence[SourceFile]) -> tuple[list[Policy], list[Problem]]:
    """The policies parsed from the files read, with every check of a single document, and the problems
    of every file (a policy whose only problems are in its texts' placeholders is among both, for the
    checks across documents)."""
    policies: list[Policy] = []
    problems: list[Problem] = []
    for source in sources:
        text, errs = source_text(source)
        if text is None:
            problems.extend(errs)
            continue
        doc, errs, plain = _parse_document(text.removeprefix("\ufeff"), source.file)
        if errs:
            problems.extend(errs)
            continue
        policy, errs = parse_policy(doc, source.file, source.path, checkable=True, plain=plain)
        problems.extend(errs)
        if policy is not None:
            policies.append(policy)
    return policies, problems


def rebuild(sources: Sequence[SourceFile], digests: Sequence[str]) -> list[Policy] | None:
    """The policies of files whose exact bytes passed every check before (`digests`: each one's canonical
    digest, as `parse_policy` computed it), built without repeating the checks; None when anything
    differs from that earlier load (the caller then loads them with every check)."""
    if len(digests) != len(sources):
        return None
    policies: list[Policy] = []
    for source, digest in zip(sources, digests, strict=True):
        if source.data is None:
            return None
        try:
            doc = json.loads(source.data.decode("utf-8").removeprefix("\ufeff"))
            if not looks_like_policy(doc):
                return None
            parser = _Parser(doc, source.file, source.path or Path(source.file).name)
            policy = parser.policy(digest)
        except Exception:  # not what was checked (a damaged or forged record): the caller checks in full
            return None
        if parser.problems:
            return None
        policies.append(policy)
    return policies


def read_documents(paths: Sequence[str | Path]) -> tuple[list[Policy], list[Problem]]:
    """The policies parsed from every policy file under `paths`, and the problems of every file (a policy
    whose only problems are in its texts' placeholders is among both, for the checks across documents).

    A file in the policy folders that looks like a policy but would not be loaded (a `.JSON` name, a policy
    in a `tests/` folder or named `taxonomy.json`) is a problem too.
    """
    sources, problems = read_sources(paths)
    policies, more = parse_sources(sources)
    return policies, [*problems, *more]
