"""What a compiled network is: the durable_rules ruleset, and what each of its rules means."""

from __future__ import annotations

import functools
import json
from typing import Any

import attrs

from ..._language.model import Condition, Policy, Rule
from ..facts import FactPlan

__all__ = ["Atom", "Compiled", "RuleAction"]


@attrs.frozen
class Atom:
    """One literal of a DNF alternative: the condition, whether it is negated, and the alias it binds."""

    condition: Condition
    negated: bool
    alias: str


@attrs.frozen
class RuleAction:
    """What a firing of one durable rule means."""

    policy: Policy
    rule: Rule
    atoms: tuple[Atom, ...]
    stratum: int
    consumed: bool  # some rule uses the derived conclusion

    @property
    def citation(self) -> str:
        return self.policy.cite(self.rule)


@attrs.frozen
class Compiled:
    """The network for one platform and one set of policy versions in force."""

    platform: str
    policies: tuple[Policy, ...]
    # The durable_rules ruleset (`ruleset`); None when the network holds it as `engine_text` (a fresh
    # compile, or a compile cache entry): it is then parsed only if something asks for it.
    _ruleset: dict[str, Any] | None = attrs.field(eq=False, alias="ruleset")
    actions: dict[str, RuleAction] = attrs.field(eq=False)
    strata: int
    triggers: tuple[tuple[int, int], ...]  # (stratum, group) trigger facts, asserted stratum by stratum
    derived_groups: dict[str, int]  # copies of each derived fact (rules on one copy stay under MAX_SHARED)
    plan: FactPlan
    default_outcome: str
    engine_text: str | None = attrs.field(default=None, eq=False, repr=False)
    """The ruleset as the JSON text durable_rules reads, when it is known (a fresh compile, a cache entry)."""
    omitted: frozenset[str] = attrs.field(default=frozenset(), eq=False, repr=False)
    """Citations of rules of `policies` left out of the network: it decides only requests none of them can
    fire for (a first decision on a large policy, `Engine.decide`); empty for a whole network."""

    def __attrs_post_init__(self) -> None:
        if self._ruleset is None and self.engine_text is None:
            raise ValueError("a compiled network needs its ruleset or its engine text")

    @functools.cached_property
    def ruleset(self) -> dict[str, Any]:
        """The durable_rules ruleset: one entry per rule of the network."""
        if self._ruleset is not None:
            return self._ruleset
        assert self.engine_text is not None
        parsed: dict[str, Any] = json.loads(self.engine_text)
        return parsed

    def to_json(self) -> str:
        return json.dumps(self.ruleset, ensure_ascii=False, sort_keys=True, indent=1)
