"""Decisions and their justifications, as frozen data that serialises to `schemas/decision.json`."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["Decision", "Evidence", "PolicyRef", "Proof", "Reason", "RemedyRef", "Step"]

SEVERITY = {"allow": 0, "review": 1, "deny": 2}


@attrs.frozen
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


@attrs.frozen
class Step:
    """One condition of a rule and why it held: request values, a sub-proof, or an absence."""

    kind: str  # "fact" | "derived" | "absent" | "count"
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


@attrs.frozen
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


@attrs.frozen
class Reason:
    """A rule that decided (or advised): `policy@version#rule`, its outcome, message and proof."""

    rule: str
    outcome: str
    message: dict[str, str]
    proof: Proof | None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "outcome": self.outcome, "message": dict(self.message)}
        if self.proof is not None:
            out["proof"] = self.proof.to_dict()
        return out


@attrs.frozen
class RemedyRef:
    code: str
    rule: str
    message: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "rule": self.rule, "message": dict(self.message)}


@attrs.frozen
class PolicyRef:
    id: str
    version: str
    digest: str
    file: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "digest": self.digest}


@attrs.frozen
class Decision:
    """The answer for one request on one platform."""

    outcome: str
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

    @property
    def rules(self) -> tuple[str, ...]:
        """Citations of the deciding rules."""
        return tuple(r.rule for r in self.reasons)

    @property
    def allowed(self) -> bool:
        return self.outcome == "allow"

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
        return out
