"""Decisions and their justifications, as frozen data that serialises to `schemas/decision.json`."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from typing import Any, Literal

import attrs

from ._language.model import Outcome, RuleOutcome
from ._language.vocab import without_derived
from .resources import ENGINE_VERSION

__all__ = [
    "Decision",
    "Evidence",
    "Outcome",
    "PolicyRef",
    "Proof",
    "Reason",
    "Receipt",
    "RemedyRef",
    "RuleOutcome",
    "Step",
    "StepKind",
    "canonical_json",
    "engine_version",
    "policy_set_digest",
    "request_digest",
]

SEVERITY: dict[str, int] = {"allow": 0, "review": 1, "deny": 2}

StepKind = Literal["fact", "derived", "absent", "count"]
"""What a proof step rests on: request values, a derived conclusion's own proof, an absence, or a count."""


@attrs.frozen(kw_only=True)
class Evidence:
    """A value of the request, by JSON pointer (`/seller/trademarks/0/mark`)."""

    pointer: str
    value: Any
    defaulted: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = {"pointer": self.pointer, "value": self.value}
        if self.defaulted:
            out["defaulted"] = True
        return out


@attrs.frozen(kw_only=True)
class Step:
    """One condition of a rule and why it held: request values, a sub-proof, or an absence."""

    kind: StepKind
    condition: dict[str, Any]
    pointer: str  # where the condition is in the policy file
    text: str
    evidence: tuple[Evidence, ...] = ()
    because: Proof | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "text": self.text,
            "condition": self.condition,
            "policy_pointer": self.pointer,
            "evidence": [e.to_dict() for e in self.evidence],
        }
        if self.because is not None:
            out["because"] = self.because.to_dict()
        return out


@attrs.frozen(kw_only=True)
class Proof:
    """Why a rule fired: its citation, what it concluded, and one step per condition."""

    rule: str
    concludes: str
    file: str
    steps: tuple[Step, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "concludes": self.concludes,
            "file": self.file,
            "steps": [s.to_dict() for s in self.steps],
        }

    def walk(self) -> Any:
        """This proof and every sub-proof, depth first."""
        yield self
        for step in self.steps:
            if step.because is not None:
                yield from step.because.walk()


@attrs.frozen(kw_only=True)
class Reason:
    """A rule that decided (or advised): `policy@version#rule`, its outcome, message and proof."""

    rule: str
    outcome: RuleOutcome
    message: dict[str, str]
    proof: Proof | None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "outcome": self.outcome, "message": dict(self.message)}
        if self.proof is not None:
            out["proof"] = self.proof.to_dict()
        return out


@attrs.frozen(kw_only=True)
class RemedyRef:
    """A way to make the listing allowed: its code, the rule that names it, and what to do."""

    code: str
    rule: str
    message: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "rule": self.rule, "message": dict(self.message)}


@attrs.frozen(kw_only=True)
class PolicyRef:
    id: str
    version: str
    digest: str
    file: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "digest": self.digest}


def canonical_json(value: Any) -> bytes:
    """The canonical serialisation that digests are taken over (policies, requests, policy sets).

    UTF-8 JSON with object keys sorted (by code point), no whitespace (`,` and `:` separators), non-ASCII
    characters written as themselves rather than `\\u` escapes, and numbers as Python's `json` writes them
    (`1` and `1.0` differ; `NaN` and `Infinity` as such). A lone surrogate, which JSON text can hold but
    UTF-8 cannot, is encoded as its three bytes (`surrogatepass`). This is the serialisation the policy
    digests have always used.
    """
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8", "surrogatepass")


def _sha256(value: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(value)).hexdigest()


def request_digest(request: dict[str, Any]) -> str:
    """`sha256:` and the hex SHA-256 of the canonical JSON of a request as normalized for deciding.

    The normalized request is what was decided: `as_of` is filled in (the request's own, the date given
    to `decide`, or today) and so is `seller.account_status` (default `active`), and `platform` is the
    platform decided on (`decide_everywhere` replaces it). Re-deciding that request reproduces the decision.
    The fields the engine derives (`owned_by_seller`, `chain_complete`, `chain_sublicensed`) are left out.
    """
    return _sha256(without_derived(request))


def policy_set_digest(digests: Iterable[str]) -> str:
    """The digest of a set of policy documents: over the JSON array of their digests, sorted."""
    return _policy_set_digest(tuple(sorted(digests)))


@functools.lru_cache(maxsize=1024)
def _policy_set_digest(digests: tuple[str, ...]) -> str:  # a few sets per engine: computed once each
    return _sha256(list(digests))


def engine_version() -> str:
    """The version of the rule engine (durable_rules) built into the package."""
    return ENGINE_VERSION


@attrs.frozen(kw_only=True)
class Receipt:
    """What an auditor needs to check a decision later: the request, the policies and the software."""

    request_digest: str | None  # None only for a decision built without its request
    policy_set_digest: str
    package_version: str
    engine_version: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_digest": self.request_digest,
            "policy_set_digest": self.policy_set_digest,
            "package_version": self.package_version,
            "engine_version": self.engine_version,
        }


@attrs.frozen(kw_only=True, slots=False)
class Decision:
    """The answer for one request on one platform.

    Its fields live in the instance's `__dict__` (not in slots): decisions that differ only in their
    request are made from one shared set of fields by `assemble_decision`, one dict copy each.

    `request` is the request as decided: the engine's own copy, never the caller's objects, but shared
    between the decisions of one batch that have the same seller (their seller's lists are the same
    objects). Read it, never change it: the receipt's request digest is computed from it when asked for;
    copy it (`copy.deepcopy`) before redacting it."""

    outcome: Outcome
    platform: str
    as_of: str
    policies: tuple[PolicyRef, ...]
    reasons: tuple[Reason, ...]
    advisories: tuple[Reason, ...] = ()
    remedies: tuple[RemedyRef, ...] = ()
    derived: tuple[str, ...] = ()
    derivations: tuple[tuple[str, str], ...] = ()
    default_applied: bool = False
    error: str | None = None
    marketplace: str | None = None
    request: dict[str, Any] | None = attrs.field(default=None, eq=False, repr=False)
    # The digest of `request`, when the decision travels without it (worker processes drop the request).
    request_digest: str | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def rules(self) -> tuple[str, ...]:
        """Citations of the deciding rules."""
        return tuple(r.rule for r in self.reasons)

    @property
    def allowed(self) -> bool:
        return self.outcome == "allow"

    @property
    def receipt(self) -> Receipt:
        """The decision's receipt, computed on demand (deciding does not pay for the digests)."""
        from . import __version__

        digest = self.request_digest
        if digest is None and self.request is not None:
            digest = request_digest(self.request)
        return Receipt(
            request_digest=digest,
            policy_set_digest=policy_set_digest(p.digest for p in self.policies),
            package_version=__version__,
            engine_version=engine_version(),
        )

    def to_dict(self) -> dict[str, Any]:
        """A plain dict valid against `schemas/decision.json`."""
        out: dict[str, Any] = {
            "outcome": self.outcome,
            "platform": self.platform,
            "as_of": self.as_of,
            "policies": [p.to_dict() for p in self.policies],
            "reasons": [r.to_dict() for r in self.reasons],
            "advisories": [a.to_dict() for a in self.advisories],
            "remedies": [r.to_dict() for r in self.remedies],
            "derived": list(self.derived),
            "derivations": [{"name": n, "rule": r} for n, r in self.derivations],
            "default_applied": self.default_applied,
        }
        if self.marketplace is not None:
            out["marketplace"] = self.marketplace
        if self.error is not None:
            out["error"] = self.error
        out["receipt"] = self.receipt.to_dict()
        return out


def decision_fields(decision: Decision) -> dict[str, Any]:
    """Every field of a decision by name, to make others like it with `assemble_decision`."""
    return dict(vars(decision))


_new = object.__new__


def assemble_decision(fields: dict[str, Any], request: dict[str, Any], as_of: str) -> Decision:
    """The decision with these fields (from `decision_fields`) for this request, decided as of this date.

    What `Decision(**fields, as_of=as_of, request=request)` makes, without its call per field: the
    decisions of a catalog share everything but their request and date. (Filling the new instance's own
    `__dict__` is a third of the cost of assigning it one.)"""
    decision: Decision = _new(Decision)
    own = decision.__dict__
    own.update(fields)
    own["as_of"] = as_of
    own["request"] = request
    return decision
