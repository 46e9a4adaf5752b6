"""Compile stage: the documents in force for one platform become one durable_rules ruleset (plain JSON).

Every durable rule is named `policy@version#rule/k` (k numbers the alternatives of a rule with `any`), so
a firing maps straight back to the policy rule. Conditions are put in disjunctive normal form
(`normal_form`); each alternative becomes one Rete rule (`emit`); every request runs in a session of its
own. Rules that negate a list or a derived conclusion wait for a stratum trigger fact, asserted only after
everything they negate is complete, which makes negation stratified (the engine itself has no truth
maintenance).

The compiler refuses networks durable_rules would hang or crash on (rule count, alpha fan-out, joins per
rule, expressions per sequence; `limits`) with a CompileError that points at the policy rule.

`compile_policies` runs the named stages of `STAGES` in order on one `Build`; every stage adds what it
finds to the build's problems, and the problems of all stages are raised together at the end (a stage
may refuse at once when nothing after it could be useful).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from ..._language.model import Policy, Rule
from ..._language.strata import derived_refs, stratify
from ..._language.vocab import LISTS
from ...errors import CompileError, Problem
from ..facts import INIT_RULE, NEVER_TYPE, ROOT_ALIAS, SEEN_RULE, SEEN_TYPE, TRIGGER_TYPE, FactPlan, engine_json
from ..gcpause import gc_paused
from . import normal_form
from .emit import MAX_SEQUENCE, TRIGGER_GROUP, RuleCompiler, compile_alternative
from .limits import (
    MAX_FANOUT,
    MAX_PATTERNS,
    MAX_RULES,
    MAX_SHARED,
    MAX_STACK,
    Trie,
    alpha_paths,
    expression_count,
    sequence_fault,
    too_many_rules,
)
from .network import Atom, Compiled, RuleAction
from .normal_form import MAX_ALTERNATIVES, Lit, TooManyAlternatives, Unsupported, share_some

__all__ = ["STAGES", "Atom", "Build", "Compiled", "RuleAction", "compile_policies"]

_Work = tuple[int, Policy, Rule, list[list[Lit]]]  # (rule index, policy, rule, DNF alternatives)


class Build:
    """What the stages of one compile share: the input, what each stage found, and the problems."""

    def __init__(self, platform: str, policies: Sequence[Policy], omit: frozenset[str] = frozenset()) -> None:
        self.platform = platform
        self.policies = tuple(policies)
        self.omit = omit  # citations of rules left out of the network (see `compile_policies`)
        self.pairs: list[tuple[Policy, Rule]] = []
        self.problems: list[Problem] = []
        self.levels: dict[int, int] = {}  # stratum per rule index (negative: internal rules)
        self.consumed: set[str] = set()  # derived conclusions some rule reads
        self.work: list[_Work] = []
        self.internal: list[_Work] = []
        self.plan: dict[str, Any] = {
            "keys": defaultdict(set),
            "categories": set(),
            "shifts": set(),
            "filtered": {},
            "distinct": {},
            "computed": {},
            "merged": {},
        }
        self.plan["keys"]["request"].add("t")
        self.rules = RuleCompiler(platform, self.plan, self.problems)
        self.ruleset: dict[str, Any] = {
            INIT_RULE: {"all": [{"rq": {"t": "request"}}]},
            SEEN_RULE: {"all": [{"sn": {"t": SEEN_TYPE}}, {"nv": {"t": NEVER_TYPE}}]},
        }
        self.actions: dict[str, RuleAction] = {}
        self.triggered: dict[int, int] = defaultdict(int)  # rules waiting on each stratum's trigger


def order_policies(build: Build) -> None:
    """Platform policies first, then those for every platform, each by id: the order of rules and names."""
    build.policies = tuple(sorted(build.policies, key=lambda p: (p.platform == "*", p.id)))
    omit = build.omit
    build.pairs = [(p, r) for p in build.policies for r in p.rules if not omit or p.cite(r) not in omit]


def check_rule_count(build: Build) -> None:
    """Refuse before any work when the rules alone exceed the engine's limit (each needs a network rule)."""
    if len(build.pairs) + len(build.ruleset) > MAX_RULES:
        owners = [*build.ruleset, *(p.cite(r).partition("#")[0] for p, r in build.pairs)]
        raise CompileError([too_many_rules(build.platform, build.policies, owners)])


def resolve_strata(build: Build) -> None:
    """The stratum of every rule (negation through derived conclusions), and the conclusions rules read."""
    build.levels, cycles = stratify(build.pairs)
    build.problems.extend(cycles)
    build.consumed = {name for _, r in build.pairs for name, _, _ in derived_refs(r.when)}


def normalize_conditions(build: Build) -> None:
    """Each rule's conditions in disjunctive normal form, refusing rules with too many alternatives."""
    for index, (policy, rule) in enumerate(build.pairs):
        try:
            alternatives = normal_form.prune(normal_form.dnf(rule.when))
        except TooManyAlternatives as exc:
            build.problems.append(
                Problem(file=policy.file, pointer=rule.pointer + "/when", message=str(exc), code="PE036")
            )
            continue
        except Unsupported as exc:
            build.problems.append(
                Problem(file=policy.file, pointer=exc.pointer or rule.pointer, message=str(exc), code="PE035")
            )
            continue
        if len(alternatives) > MAX_ALTERNATIVES:
            build.problems.append(
                Problem(
                    file=policy.file,
                    pointer=rule.pointer + "/when",
                    message=f"the conditions expand to {len(alternatives)} alternatives; expected at most "
                    f"{MAX_ALTERNATIVES} (split the rule or derive intermediate conclusions)",
                    code="PE036",
                )
            )
            continue
        build.work.append((index, policy, rule, alternatives))


def share_repeated_some(build: Build) -> None:
    """A `some` that many alternatives use is derived once, by an internal rule the others read."""
    build.internal = share_some(build.work, build.levels, build.consumed)


def emit_rules(build: Build) -> None:
    """One durable rule per alternative, with its meaning (`RuleAction`), refusing oversized rules."""
    for index, policy, rule, alternatives in [*build.internal, *build.work]:
        for k, alternative in enumerate(alternatives, start=1):
            name = f"{policy.cite(rule)}/{k}"
            try:
                body, atoms, needs_trigger = compile_alternative(build.rules, alternative, build.levels[index])
            except Unsupported as exc:
                build.problems.append(
                    Problem(file=policy.file, pointer=exc.pointer or rule.pointer, message=str(exc), code="PE035")
                )
                continue
            problem = _refused(policy, rule, body)
            if problem is not None:
                build.problems.append(problem)
                continue
            if name in build.ruleset:  # only policies that skipped the checks across documents repeat a citation
                build.problems.append(
                    Problem(
                        file=policy.file,
                        pointer=rule.pointer,
                        message=f"{policy.cite(rule)} is cited by two rules in force together; expected one "
                        "version of each policy id in force on a day, and rule ids unique within a policy",
                        code="PE026",
                    )
                )
                continue
            if needs_trigger:
                level = build.levels[index]
                group = build.triggered[level] // TRIGGER_GROUP
                build.triggered[level] += 1
                body.insert(0, {"tk": {"$and": [{"t": TRIGGER_TYPE}, {"k": level}, {"g": group}]}})
            build.ruleset[name] = {"all": body, "dist": 0}
            build.actions[name] = RuleAction(
                policy,
                rule,
                tuple(atoms),
                build.levels[index] if needs_trigger else 0,
                bool(rule.derive and rule.derive in build.consumed),
            )


def _refused(policy: Policy, rule: Rule, body: list[dict[str, Any]]) -> Problem | None:
    """Why durable_rules cannot run this rule's patterns as written (None if it can)."""
    exprs = [next(iter(p.values())) for p in body]
    counts = [expression_count(e) for e in exprs]
    for expr, count in zip(exprs, counts, strict=True):
        # a fault needs a join or a nested sequence: a single `$and`/`$or` without joins counts 2
        fault = sequence_fault(expr) if count > 2 else None
        if fault is not None:  # never emitted; refused rather than run, should a change of the compiler emit it
            return Problem(
                file=policy.file,
                pointer=rule.pointer + "/when",
                message=f"durable_rules would evaluate the joins of one fact of this rule wrongly ({fault}); "
                "the rule is refused rather than decided on a faulty network",
                code="PE037",
            )
    budget = max(counts)
    if budget >= MAX_SEQUENCE - 1:
        return Problem(
            file=policy.file,
            pointer=rule.pointer + "/when",
            message=f"one fact of the rule needs {budget} engine expressions; durable_rules "
            f"holds at most {MAX_SEQUENCE - 2} (fewer alternatives with `any`/`not`, "
            "or derive intermediate conclusions)",
            code="PE036",
        )
    if len(body) > MAX_PATTERNS:
        return Problem(
            file=policy.file,
            pointer=rule.pointer + "/when",
            message=f"the rule joins {len(body)} facts; expected at most {MAX_PATTERNS}",
            code="PE036",
        )
    return None


def check_limits(build: Build) -> None:
    """The whole network against durable_rules' limits, blaming the policy that puts the most tests on the
    facts at fault."""
    if len(build.ruleset) > MAX_RULES:
        owners = [name.partition("#")[0] for name in build.ruleset]
        build.problems.append(too_many_rules(build.platform, build.policies, owners))
    tries: dict[str, Trie] = defaultdict(Trie)  # per fact type
    owners_of: dict[str, str] = {}
    users: dict[str, dict[int, int]] = defaultdict(dict)  # per fact type: tests per policy
    latest: dict[tuple[str, int], str] = {}  # a rule of that policy on that fact type
    for name, action in build.actions.items():
        policy = action.policy
        for pattern in build.ruleset[name]["all"]:
            ((_alias, expr),) = pattern.items()
            for seq in alpha_paths(expr):
                fact_type = seq[0][1] if seq and seq[0][0] == "eq:t" else ""
                tries[fact_type].add(seq[1:], name)
                owners_of.setdefault(fact_type, name)
                users[fact_type][id(policy)] = users[fact_type].get(id(policy), 0) + 1
                latest[(fact_type, id(policy))] = name
    for fact_type, trie in tries.items():
        fan, stack, ending = trie.measure()
        if users[fact_type]:
            heaviest = max(users[fact_type].items(), key=lambda kv: kv[1])[0]
            owners_of[fact_type] = latest[(fact_type, heaviest)]
        action = build.actions[owners_of[fact_type]]
        if ending >= MAX_SHARED:
            build.problems.append(
                Problem(
                    file=action.policy.file,
                    pointer=action.rule.pointer,
                    message=f"{ending} rules test facts {fact_type or 'of every type'} in exactly the same "
                    f"way; durable_rules holds at most {MAX_SHARED}: make the rules' conditions "
                    "on these facts differ, or derive a shared conclusion once",
                    code="PE036",
                )
            )
        if fan >= MAX_FANOUT or stack >= MAX_STACK:
            what = (
                f"{fan} different tests under one node of the network"
                if fan >= MAX_FANOUT
                else f"up to {stack} tests pending for one fact"
            )
            build.problems.append(
                Problem(
                    file=action.policy.file,
                    pointer=action.rule.pointer,
                    message=f"{what} (facts {fact_type or 'of every type'}); durable_rules hangs or fails "
                    f"beyond {MAX_FANOUT if fan >= MAX_FANOUT else MAX_STACK}: use category "
                    "subtrees, shorter value lists or derived conclusions",
                    code="PE036",
                )
            )


def raise_problems(build: Build) -> None:
    """Every problem the stages found, at once."""
    if build.problems:
        raise CompileError(build.problems)


STAGES: tuple[tuple[str, Callable[[Build], None]], ...] = (
    ("order_policies", order_policies),
    ("check_rule_count", check_rule_count),
    ("resolve_strata", resolve_strata),
    ("normalize_conditions", normalize_conditions),
    ("share_repeated_some", share_repeated_some),
    ("emit_rules", emit_rules),
    ("check_limits", check_limits),
    ("raise_problems", raise_problems),
)


def compile_policies(platform: str, policies: Sequence[Policy], *, omit: frozenset[str] = frozenset()) -> Compiled:
    """Compile the documents in force for `platform` into one ruleset; CompileError if it cannot run safely.

    `omit`: citations of rules to leave out of the network, for a network that decides only requests none
    of those rules can fire for (`reach.Reach`); the network's `omitted` names them."""
    # Everything but the network is freed while the collector is paused (the build, the memos, the
    # ruleset as Python objects: the network keeps the text the engine reads), so the collection that
    # follows the pause walks only what stays alive.
    with gc_paused():
        try:
            return _compile(platform, policies, omit)
        finally:
            normal_form.clear_memos()


def _compile(platform: str, policies: Sequence[Policy], omit: frozenset[str] = frozenset()) -> Compiled:
    build = Build(platform, policies, omit)
    for _name, stage in STAGES:
        stage(build)
    return _network(build)


def _network(build: Build) -> Compiled:
    """The compiled network from a build whose stages found no problem; it holds the ruleset as the text
    durable_rules reads, and parses it only when something asks for `ruleset`."""
    plan = build.plan
    actions = build.actions
    strata = max((a.stratum for a in actions.values()), default=0)
    triggered = build.triggered
    triggers = tuple((k, g) for k in range(1, strata + 1) for g in range(-(-triggered[k] // TRIGGER_GROUP)))
    derived_groups = {n: -(-c // TRIGGER_GROUP) for n, c in build.rules.group_counts.items()}
    keys = plan["keys"]
    root_keys = {r: frozenset(keys.get(r, set())) for r in ROOT_ALIAS}
    list_keys = {p: frozenset(keys[p]) for p in LISTS if p in keys}
    policies = build.policies
    default = next((p.default_outcome for p in policies if p.default_outcome and p.platform != "*"), None) or "allow"
    return Compiled(
        platform=build.platform,
        policies=policies,
        ruleset=None,
        actions=actions,
        strata=strata,
        triggers=triggers,
        derived_groups=derived_groups,
        plan=FactPlan(
            root_keys,
            list_keys,
            frozenset(plan["categories"]),
            tuple(sorted(plan["shifts"], key=lambda s: s.tag)),
            tuple((name, path, where) for (path, _), (name, where) in sorted(plan["filtered"].items())),
            tuple((name, path, inc or None) for (path, inc), name in sorted(plan["distinct"].items())),
            tuple(sorted(plan["computed"].values(), key=lambda c: c[1])),
            tuple((name, path, where, merge) for (path, _), (name, where, merge) in sorted(plan["merged"].items())),
        ),
        default_outcome=default,
        engine_text=engine_json(build.ruleset),
        omitted=build.omit,
    )
