"""Load stage: read policy files, validate them against the schema, and build the model.

`load_documents` reports every problem of every file at once, and returns nothing unless all files are
valid (nothing is half-loaded). Semantic checks across documents live in `check`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from . import schemas
from .check import check_policies
from .errors import LoadError, Problem
from .model import (
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

__all__ = ["COMPARISON_OPS", "discover", "load_documents", "parse_policy", "read_json"]

COMPARISON_OPS = (
    "equals",
    "not_equals",
    "less_than",
    "at_most",
    "greater_than",
    "at_least",
    "in",
    "not_in",
    "under",
    "includes",
    "exists",
)


def read_json(path: Path) -> tuple[Any, list[Problem]]:
    """Parse a JSON file; a syntax error becomes a Problem with line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(str(path), "", f"cannot read the file: {exc}", code="io")]
    try:
        return json.loads(text), []
    except json.JSONDecodeError as exc:
        return None, [
            Problem(
                str(path),
                "",
                f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                code="json",
            )
        ]


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Policy files under the given files or folders (`*.json`, skipping `tests/` folders and `taxonomy.json`)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(
                f
                for f in sorted(p.rglob("*.json"))
                if "tests" not in f.relative_to(p).parts[:-1] and f.name != "taxonomy.json"
            )
        else:
            found.append(p)
    return found


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


class _Parser:
    def __init__(self, doc: dict[str, Any], file: str) -> None:
        self.doc = doc
        self.file = file
        self.data: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in doc.get("data", {}).items()}
        self.problems: list[Problem] = []

    def problem(self, pointer: str, message: str, code: str = "reference") -> None:
        self.problems.append(Problem(self.file, pointer, message, code))

    def operand(self, raw: Any, pointer: str) -> Operand:
        if isinstance(raw, dict):
            if "ref" in raw:
                name = raw["ref"]
                if name not in self.data:
                    known = ", ".join(sorted(self.data)) or "none defined"
                    self.problem(pointer + "/ref", f"unknown named data {name!r}; expected one of: {known}")
                    return Literal("", ref=name)
                return Literal(self.data[name], ref=name)
            if "field" in raw:
                return FieldRef(raw["field"])
            shift = raw["as_of"]
            return AsOf(shift.get("years", 0), shift.get("months", 0), shift.get("days", 0))
        if isinstance(raw, list):
            return Literal(tuple(raw))
        return Literal(raw)

    def condition(self, raw: dict[str, Any], pointer: str) -> Condition:
        if "field" in raw:
            (op,) = (k for k in raw if k != "field")
            operand = None if op == "exists" else self.operand(raw[op], f"{pointer}/{op}")
            if op == "exists":
                operand = Literal(bool(raw[op]))
            return Compare(raw["field"], op, operand, pointer)
        if "count" in raw:
            (op,) = (k for k in raw if k not in ("count", "where"))
            where = tuple(self.condition(c, f"{pointer}/where/{i}") for i, c in enumerate(raw.get("where", ())))
            return Count(raw["count"], op, int(raw[op]), pointer, where)
        if "some" in raw:
            where = tuple(self.condition(c, f"{pointer}/where/{i}") for i, c in enumerate(raw["where"]))
            return Some(raw["some"], where, pointer)
        if "derived" in raw:
            return Derived(raw["derived"], pointer)
        if "not" in raw:
            return Not(self.condition(raw["not"], f"{pointer}/not"), pointer)
        key = "any" if "any" in raw else "all"
        parts = tuple(self.condition(c, f"{pointer}/{key}/{i}") for i, c in enumerate(raw[key]))
        return AnyOf(parts, pointer) if key == "any" else AllOf(parts, pointer)

    def rule(self, raw: dict[str, Any], pointer: str, provenance: str) -> Rule:
        when = AllOf(
            tuple(self.condition(c, f"{pointer}/when/{i}") for i, c in enumerate(raw["when"])),
            f"{pointer}/when",
        )
        msg = raw.get("message")
        return Rule(
            id=raw["id"],
            when=when,
            derive=raw.get("derive"),
            outcome=raw.get("outcome"),
            message=Text(msg["en"], msg["zh"]) if msg else None,
            remedies=tuple(Remedy(r["code"], Text(r["en"], r["zh"])) for r in raw.get("remedies", ())),
            pointer=pointer,
            provenance=raw.get("provenance", provenance),
            description=raw.get("description", ""),
            source_refs=tuple(raw.get("source_refs", ())),
        )

    def policy(self, digest: str) -> Policy:
        doc = self.doc
        sources = tuple(
            Source(s["provenance"], s.get("url"), s.get("document"), s.get("date"), s.get("note"))
            for s in doc["sources"]
        )
        order = {"sourced": 0, "article-only": 1, "illustrative": 2}
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
        )


def parse_policy(doc: Any, file: str = "<memory>") -> tuple[Policy | None, list[Problem]]:
    """Validate one document against the policy schema and build it; problems instead of a half policy."""
    problems = schemas.validate("policy", doc, file)
    if problems:
        return None, problems
    canonical = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    digest = "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    parser = _Parser(doc, file)
    policy = parser.policy(digest)
    return (None if parser.problems else policy), parser.problems


def load_documents(paths: Sequence[str | Path]) -> list[Policy]:
    """Load and check every policy file under `paths`; raise LoadError listing every problem."""
    files = discover(paths)
    problems: list[Problem] = []
    if not files:
        problems.append(Problem(", ".join(map(str, paths)), "", "no policy files (*.json) found", code="empty"))
    policies: list[Policy] = []
    for file in files:
        doc, errs = read_json(file)
        if errs:
            problems.extend(errs)
            continue
        policy, errs = parse_policy(doc, str(file))
        problems.extend(errs)
        if policy is not None:
            policies.append(policy)
    # Semantic checks run on every document that parsed, so one run reports the problems of all files.
    problems.extend(check_policies(policies))
    if problems:
        raise LoadError(problems)
    return policies
