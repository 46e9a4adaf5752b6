"""Check a stored decision against its receipt: re-decide the request and say exactly what differs.

A decision (as `policy-engine decide --format json` prints it) records its outcome, its deciding rules,
the policy versions in force with their digests, and a receipt with the digest of the request as decided.
`verify` reads it with the request, decides the request again on the decision's platform as of the
decision's date, and compares the two.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._language import schemas
from .._pipeline.request import normalize_request
from ..decision import Decision, policy_set_digest
from ..engine import Engine
from ..errors import Problem, UnknownPlatformError

__all__ = ["compare", "read_decisions", "redecide", "verify"]

_EXPECTED = "expected a decision as printed by `policy-engine decide --format json`"


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _candidates(path: Path) -> tuple[list[tuple[str, str, Any]], list[Problem]]:
    """(label, file, document) for each decision the file seems to hold.

    The label is the JSON pointer of the decision in the file (`""`, `/0`, `/aliexpress`) or `line N`.
    """
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [Problem(file=name, pointer="", message=f"cannot read the file: {exc}", code="PE001")]
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
        try:  # JSON lines: one decision per line (several requests, or --all-platforms)
            if len(lines) < 2:
                raise ValueError
            json.loads(lines[0][1])
        except ValueError:
            return [], [
                Problem(
                    file=name,
                    pointer="",
                    message=f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}; {_EXPECTED}",
                    code="PE002",
                )
            ]
        found: list[tuple[str, str, Any]] = []
        for n, line in lines:
            try:
                found.append((f"line {n}", f"{name}:{n}", json.loads(line)))
            except json.JSONDecodeError as err:
                return [], [
                    Problem(
                        file=f"{name}:{n}",
                        pointer="",
                        message=f"malformed JSON at column {err.colno}: {err.msg}",
                        code="PE002",
                    )
                ]
        return found, []
    if isinstance(doc, list):
        return [(f"/{i}", name, d) for i, d in enumerate(doc)], []
    if isinstance(doc, dict) and "outcome" not in doc and doc and all(isinstance(v, dict) for v in doc.values()):
        return [(f"/{_escape(k)}", name, d) for k, d in doc.items()], []  # a map of platform -> decision
    return [("", name, doc)], []


def read_decisions(path: Path) -> tuple[list[tuple[str, dict[str, Any]]], list[Problem]]:
    """The decisions in a file: one decision, a list, a map of platform to decision, or JSON lines.

    Returns (label, decision) for each (the label as in `_candidates`), or the problems (file, JSON pointer,
    what was expected): every decision must be valid against `schemas/decision.json`, receipt included.
    """
    found, problems = _candidates(path)
    if problems:
        return [], problems
    if not found:
        return [], [Problem(file=str(path), pointer="", message=f"no decision in the file; {_EXPECTED}", code="PE005")]
    out: list[tuple[str, dict[str, Any]]] = []
    for label, file, doc in found:
        prefix = label if label.startswith("/") else ""
        if not isinstance(doc, dict):
            problems.append(
                Problem(
                    file=file,
                    pointer=prefix,
                    message=f"{schemas.quoted(doc, 60)} is not an object; {_EXPECTED}",
                    code="PE010",
                )
            )
            continue
        if "outcome" not in doc:
            problems.append(
                Problem(
                    file=file,
                    pointer=prefix,
                    message=f"not a decision (it has no `outcome`); {_EXPECTED}",
                    code="PE010",
                )
            )
            continue
        if "receipt" not in doc:
            problems.append(
                Problem(
                    file=file,
                    pointer=prefix,
                    message="the decision has no `receipt`; expected a decision that carries its receipt",
                    code="PE010",
                )
            )
            continue
        errors = [
            Problem(file=file, pointer=prefix + p.pointer, message=p.message, code=p.code)
            for p in schemas.validate("decision", doc)
        ]
        if errors:
            problems.extend(errors)
            continue
        out.append((label, doc))
    return out, problems


def redecide(engine: Engine, request: Any, recorded: dict[str, Any], file: str = "") -> Decision:
    """The request decided again on the recorded decision's platform, as of its date.

    Raises RequestError (file, pointer, problem) if the request is not valid, and UnknownPlatformError if
    the engine's policies govern no such platform on that date.
    """
    proofs = any("proof" in r for r in (*recorded["reasons"], *recorded["advisories"]))
    req = normalize_request(
        request, file, as_of=dt.date.fromisoformat(recorded["as_of"]), platform=recorded["platform"]
    )
    return engine.decide(req.body, proofs=proofs)


def _listing(items: list[str]) -> str:
    return ", ".join(items) if items else "(none)"


_PROOF_KEYS = {"rule", "concludes", "file", "steps"}


def _diff(a: Any, b: Any, pointer: str = "") -> Iterator[str]:
    """JSON pointers where two JSON values differ, with both values.

    The `file` of a proof, where the policy was read from, is not compared: it is not part of the decision.
    """
    if isinstance(a, dict) and isinstance(b, dict):
        proof = a.keys() == _PROOF_KEYS == b.keys()
        for key in sorted(a.keys() | b.keys()):
            if not (proof and key == "file"):
                yield from _diff(a.get(key), b.get(key), f"{pointer}/{_escape(key)}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _diff(x, y, f"{pointer}/{i}")
    elif a != b:
        shown = [json.dumps(v, ensure_ascii=False) if v is not None else "(absent)" for v in (a, b)]
        yield f"{pointer}: " + " → ".join(t if len(t) <= 80 else t[:79] + "…" for t in shown)


def compare(recorded: dict[str, Any], fresh: dict[str, Any]) -> list[str]:
    """What differs between a recorded decision and the same request decided again (empty: the same).

    Each difference reads `what: recorded → re-decided`. The request digest, the receipt's own policy set
    digest, the policies in force (version and digest), the outcome, the deciding rules, advisories,
    remedies, derived conclusions, the default and the error are compared by name; where the rules are the
    same but a detail differs (a message, a proof step), the detail is reported by JSON pointer.
    """
    out: list[str] = []
    receipt, now = recorded["receipt"], fresh["receipt"]
    if receipt["request_digest"] is None:
        out.append("request: the receipt records no request digest, so the request cannot be checked")
    elif receipt["request_digest"] != now["request_digest"]:
        out.append(
            "request: the request does not match the receipt's digest "
            f"(receipt {receipt['request_digest']}, request {now['request_digest']})"
        )
    if receipt["policy_set_digest"] != policy_set_digest(p["digest"] for p in recorded["policies"]):
        out.append("receipt: the policy set digest does not match the decision's own list of policies")
    before = {p["id"]: p for p in recorded["policies"]}
    after = {p["id"]: p for p in fresh["policies"]}
    for pid in sorted(before.keys() | after.keys()):
        b, a = before.get(pid), after.get(pid)
        if a is None:
            assert b is not None
            out.append(f"policy {pid}: version {b['version']} was in force, none is in the policies given")
        elif b is None:
            out.append(f"policy {pid}: none was in force, version {a['version']} is in the policies given")
        elif b["version"] != a["version"]:
            out.append(f"policy {pid}: version {b['version']} → {a['version']}")
        elif b["digest"] != a["digest"]:
            out.append(f"policy {pid}@{b['version']}: digest {b['digest']} → {a['digest']} (same version, other text)")
    if recorded["outcome"] != fresh["outcome"]:
        out.append(f"outcome: {recorded['outcome']} → {fresh['outcome']}")
    same_shape = ["derivations"] if recorded["derived"] == fresh["derived"] else []
    for key, label, field in (
        ("reasons", "deciding rules", "rule"),
        ("advisories", "advisories", "rule"),
        ("remedies", "remedies", "code"),
    ):
        was, now_ = [x[field] for x in recorded[key]], [x[field] for x in fresh[key]]
        if was != now_:
            out.append(f"{label}: {_listing(was)} → {_listing(now_)}")
        else:
            same_shape.append(key)
    if recorded["derived"] != fresh["derived"]:
        out.append(f"derived conclusions: {_listing(recorded['derived'])} → {_listing(fresh['derived'])}")
    if recorded["default_applied"] != fresh["default_applied"]:
        flags = [json.dumps(d["default_applied"]) for d in (recorded, fresh)]
        out.append(f"platform default applied: {flags[0]} → {flags[1]}")
    for key in ("error", "marketplace"):
        if recorded.get(key) != fresh.get(key):
            out.append(f"{key}: {recorded.get(key) or '(none)'} → {fresh.get(key) or '(none)'}")
    # The same rules, remedies and conclusions, but other details (a message, a proof): by JSON pointer.
    details = [d for key in same_shape for d in _diff(recorded[key], fresh[key], f"/{key}")]
    out.extend(details[:10])
    if len(details) > 10:
        out.append(f"... and {len(details) - 10} more differences in details")
    return out


def verify(engine: Engine, recorded: dict[str, Any], request: Any, file: str = "") -> tuple[list[str], list[str]]:
    """(differences, notes) between a recorded decision and the request decided again with `engine`.

    Notes are not differences: the decision was made by another version of the package or rule engine.
    """
    try:
        fresh = redecide(engine, request, recorded, file).to_dict()
    except UnknownPlatformError as exc:
        return [f"platform {recorded['platform']}: {p.message}" for p in exc.problems], []
    notes = []
    receipt, now = recorded["receipt"], fresh["receipt"]
    for key, what in (("package_version", "policy_engine"), ("engine_version", "durable_rules")):
        if receipt[key] != now[key]:
            notes.append(f"decided with {what} {receipt[key]}, verified with {now[key]}")
    return compare(recorded, fresh), notes
