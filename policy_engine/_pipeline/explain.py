"""Explain stage: turn what fired into a Decision with proofs, messages and remedies; render it as text."""

from __future__ import annotations

import functools
import json
import re
import typing
import weakref
from collections.abc import Iterable
from typing import Any

import attrs

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
    Outcome,
    Remedy,
    Some,
    Text,
    condition_json,
)
from .._language.semantics import Request, lookup, main_categories, merged_count
from ..decision import (
    SEVERITY,
    Decision,
    Evidence,
    PolicyRef,
    Proof,
    Reason,
    RemedyRef,
    Step,
    StepKind,
    assemble_decision,
    decision_fields,
)
from .compile import Compiled, RuleAction
from .facts import _predicate
from .runtime import Firing, Trace

__all__ = ["LABELS", "build_decision", "build_decisions", "condition_json", "describe", "error_decision", "render_text"]

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")


def _operand_text(operand: Any) -> str:
    if isinstance(operand, Literal):
        shown = json.dumps(
            list(operand.value) if isinstance(operand.value, tuple) else operand.value, ensure_ascii=False
        )
        return f"{operand.ref} {shown}" if operand.ref else shown
    if isinstance(operand, FieldRef):
        return operand.path
    if isinstance(operand, AsOf):
        return operand.describe()
    return ""


def describe(cond: Condition) -> str:
    """A one-line reading of a condition."""
    if isinstance(cond, Compare):
        if cond.op == "exists":
            present = isinstance(cond.operand, Literal) and bool(cond.operand.value)
            return f"{cond.path} {'is present' if present else 'is missing'}"
        return f"{cond.path} {cond.op.replace('_', ' ')} {_operand_text(cond.operand)}"
    if isinstance(cond, Count):
        where = " where " + " and ".join(describe(c) for c in cond.where) if cond.where else ""
        if cond.distinct:
            also = f" and {cond.including}" if cond.including else ""
            return f"number of main categories of {cond.list_path}{also} {cond.op.replace('_', ' ')} {cond.value}"
        if cond.merge:
            where += f", those less than {cond.merge[1]} days after a group's first {cond.merge[0]} counted once"
        return f"number of {cond.list_path}{where} {cond.op.replace('_', ' ')} {cond.value}"
    if isinstance(cond, Some):
        return f"some {cond.list_path} where " + " and ".join(describe(c) for c in cond.where)
    if isinstance(cond, Derived):
        return f"{cond.name} holds"
    if isinstance(cond, Not):
        return f"not ({describe(cond.condition)})"
    joiner = " or " if isinstance(cond, AnyOf) else " and "
    return "(" + joiner.join(describe(c) for c in cond.conditions) + ")"


def _pointer(path: str) -> str:
    root, _, rest = path.partition(".")
    base = "" if root == "request" else f"/{root}"
    return base + "".join("/" + p for p in rest.split(".")) if rest else base


# Chinese names of the request's enumerated values, shown in Chinese messages with the value itself.
_ZH_VALUES: dict[str, dict[str, str]] = {
    "seller.entity_type": {"enterprise": "企业", "individual_business": "个体工商户", "individual": "个人"},
    "seller.account_status": {
        "active": "正常",
        "warned": "已警告",
        "restricted": "受限",
        "frozen": "冻结",
        "suspended": "暂停",
        "closed": "已关闭",
    },
    "product.condition": {
        "new": "全新",
        "used": "二手",
        "refurbished": "翻新",
        "renewed": "翻新",
        "used_like_new": "二手（近全新）",
        "used_very_good": "二手（很好）",
        "used_good": "二手（良好）",
        "used_acceptable": "二手（可接受）",
        "collectible": "收藏品",
    },
}


@functools.lru_cache(maxsize=4096)
def _template(text: str) -> tuple[str, ...]:
    """A message split into literal text (even positions) and placeholder names (odd positions)."""
    return tuple(_PLACEHOLDER.split(text))


def fill(text: str, request: Request, lang: str = "en") -> str:
    """Fill `{product.brand}`-style placeholders from the request (`(none)` for a missing value)."""
    parts = _template(text)
    if len(parts) == 1:
        return text
    out = list(parts)
    for i in range(1, len(parts), 2):
        name = parts[i]
        value = request.read(name)
        if value is None:
            out[i] = "（无）" if lang == "zh" else "(none)"
        elif lang == "zh" and isinstance(value, str) and value in _ZH_VALUES.get(name, {}):
            out[i] = f"{_ZH_VALUES[name][value]}（{value}）"
        else:
            out[i] = str(value)
    return "".join(out)


def _messages(text: Text, request: Request) -> dict[str, str]:
    return {"en": fill(text.en, request, "en"), "zh": fill(text.zh, request, "zh")}


def _evidence(request: Request, path: str) -> list[Evidence]:
    value = request.read(path)
    return [] if value is None else [Evidence(pointer=_pointer(path), value=value)]


def _compares(conds: tuple[Condition, ...]) -> list[Compare]:
    out: list[Compare] = []
    for c in conds:
        if isinstance(c, Compare):
            out.append(c)
        elif isinstance(c, Not):
            out.extend(_compares((c.condition,)))
        elif isinstance(c, (AnyOf, AllOf)):
            out.extend(_compares(c.conditions))
    return out


# Fields normalization derives from others, whatever the request said of them (`request.seller_view`).
_DERIVED_POINTER = re.compile(
    r"/seller/(trademarks/[0-9]+/owned_by_seller|authorizations/[0-9]+/chain_(complete|sublicensed))\Z"
)


class _ProofBuilder:
    def __init__(self, trace: Trace, request: Request) -> None:
        self.trace = trace
        self.req = request

    def proof(self, firing: Firing, active: frozenset[str] = frozenset()) -> Proof:
        action: RuleAction = firing.action
        rule = action.rule
        concludes = f"derived:{rule.derive}" if rule.derive else str(rule.outcome)
        steps = tuple(
            self.step(atom.condition, atom.negated, atom.alias, firing.match, active) for atom in action.atoms
        )
        return Proof(rule=action.citation, concludes=concludes, file=action.policy.cited_file, steps=steps)

    def _marked(self, evidence: Evidence) -> Evidence:
        """Evidence of a value the request as sent did not carry (`defaulted`): a default normalization filled
        in, or a field derived from others (a trademark's `owned_by_seller`, an authorization's chain)."""
        if evidence.pointer in self.req.filled or _DERIVED_POINTER.match(evidence.pointer):
            return Evidence(pointer=evidence.pointer, value=evidence.value, defaulted=True)
        return evidence

    def step(self, cond: Condition, negated: bool, alias: str, match: dict[str, Any], active: frozenset[str]) -> Step:
        shown = Not(cond) if negated else cond
        cjson, text, pointer = condition_json(shown), describe(shown), cond.pointer

        def made(kind: StepKind, text: str, evidence: tuple[Evidence, ...] = (), because: Proof | None = None) -> Step:
            if evidence:
                evidence = tuple(self._marked(e) for e in evidence)
            return Step(kind=kind, condition=cjson, pointer=pointer, text=text, evidence=evidence, because=because)

        if isinstance(cond, Derived):
            if negated:
                return made("absent", f"{cond.name} was not derived")
            firing = self.trace.derived.get(cond.name)
            sub = None
            if firing is not None and cond.name not in active:
                sub = self.proof(firing, active | {cond.name})
            return made("derived", text, because=sub)
        if isinstance(cond, Count):
            items = self.req.read(cond.list_path)
            if cond.where or cond.merge:  # the elements that were counted
                keep = _predicate(cond.where)
                base = _pointer(cond.list_path)
                chosen = tuple(
                    Evidence(pointer=f"{base}/{i}", value=e) for i, e in enumerate(items or ()) if keep(e, self.req)
                )
                if cond.merge:
                    dates = [self.req.value(cond.merge[0], e.value) for e in chosen]
                    groups = merged_count(dates, cond.merge[1])
                    return made("count", f"{text} ({len(chosen)} found, {groups} counted)", chosen)
                return made("count", f"{text} ({len(chosen)} counted)", chosen)
            if cond.distinct:  # every category looked at; the proof names the distinct main categories
                base = _pointer(cond.list_path)
                looked = [Evidence(pointer=f"{base}/{i}", value=e) for i, e in enumerate(items or ())]
                if cond.including and isinstance(also := self.req.read(cond.including), str):
                    looked.append(Evidence(pointer=_pointer(cond.including), value=also))
                mains = sorted(main_categories([e.value for e in looked]))
                return made("count", f"{text} ({len(mains)}: {', '.join(mains)})", tuple(looked))
            # every element, each by its own pointer (the list's pointer would quote a list, not its length)
            base = _pointer(cond.list_path)
            every = tuple(Evidence(pointer=f"{base}/{i}", value=e) for i, e in enumerate(items or ()))
            return made("count", f"{text} ({len(every)} counted)", every)
        if isinstance(cond, Some):
            if negated:
                return made("absent", f"no element of {cond.list_path} satisfies the conditions")
            if alias.startswith("@"):  # a shared `some`, derived once by an internal rule
                firing = self.trace.derived.get(alias[1:])
                match = firing.match if firing is not None else {}
                alias = next((a for a in match if a.startswith("x")), "")
            fact = match.get(alias, {})
            base = f"{_pointer(cond.list_path)}/{fact.get('i', 0)}"
            element = (self.req.read(cond.list_path) or [])[int(fact.get("i", 0))]
            evidence: list[Evidence] = []
            seen: set[str] = set()
            for c in _compares(cond.where):
                for path in (c.path, c.operand.path if isinstance(c.operand, FieldRef) else None):
                    if path is None or path in seen:
                        continue
                    seen.add(path)
                    if path == "item":
                        evidence.append(Evidence(pointer=base, value=element))
                    elif path.startswith("item."):
                        field = path[5:]
                        if isinstance(element, dict) and field in element:
                            evidence.append(Evidence(pointer=f"{base}/{field}", value=element[field]))
                    else:
                        evidence.extend(_evidence(self.req, path))
                if isinstance(c.operand, AsOf) and "request.as_of" not in seen:
                    evidence.append(Evidence(pointer="/as_of", value=self.req.body["as_of"]))
                    seen.add("request.as_of")
            return made("fact", text, tuple(evidence))
        assert isinstance(cond, Compare)
        evidence = list(_evidence(self.req, cond.path))
        if isinstance(cond.operand, FieldRef):
            evidence += _evidence(self.req, cond.operand.path)
        elif isinstance(cond.operand, AsOf):
            evidence.append(Evidence(pointer="/as_of", value=self.req.body["as_of"]))
            text = self._shifted(text, cond.operand)
        kind: StepKind = "fact" if evidence else "absent"
        return made(kind, text, tuple(evidence))

    def _shifted(self, text: str, shift: AsOf) -> str:
        if shift == AsOf():
            return text
        return f"{text} (= {shift.iso(self.req.as_of)})"


class _PerNetwork:
    """What every decision of one network shares: its policy references and the shapes of its traces."""

    __slots__ = ("bodies", "network", "platform", "refs", "shapes")

    def __init__(self, compiled: Compiled) -> None:
        key, networks = id(compiled), _NETWORKS  # the dict itself: at exit the module's globals may be gone

        def forget(_: Any) -> None:  # the network is gone: so is what its decisions shared
            if networks.get(key) is self:
                del networks[key]

        self.network = weakref.ref(compiled, forget)  # what it caches must not keep the network alive
        self.platform = compiled.platform
        self.refs = tuple(
            PolicyRef(id=p.id, version=p.version, digest=p.digest, file=p.cited_file) for p in compiled.policies
        )
        self.shapes: dict[Any, _Shape] = {}
        self.bodies = 0  # decision bodies kept by all its shapes


_NETWORKS: dict[int, _PerNetwork] = {}  # made once per live network
_SHAPES_PER_NETWORK = 1024  # traces that fire different rules
_BODIES_PER_NETWORK = 4096  # decision bodies kept (one per shape and set of quoted values)


def _per_network(compiled: Compiled) -> _PerNetwork:
    known = _NETWORKS.get(id(compiled))
    if known is not None and known.network() is compiled:
        return known
    if len(_NETWORKS) > 256:
        _NETWORKS.clear()
    made = _NETWORKS[id(compiled)] = _PerNetwork(compiled)
    return made


def _policy_refs(compiled: Compiled) -> tuple[PolicyRef, ...]:
    return _per_network(compiled).refs


@attrs.frozen
class _Summary:
    """What a decision takes from its trace alone, whatever the request's values."""

    outcome: Outcome
    chosen: tuple[Firing, ...]
    advised: tuple[Firing, ...]
    remedies: tuple[tuple[Remedy, str], ...]  # (remedy, citation of the rule naming it), one per code
    derived: tuple[str, ...]
    derivations: tuple[tuple[str, str], ...]
    default_applied: bool
    placeholders: tuple[str, ...]  # every `{path}` in the texts of the reasons, advisories and remedies


def _summary(compiled: Compiled, trace: Trace) -> _Summary:
    decisive = [f for f in trace.outcomes.values() if f.action.rule.outcome != "advisory"]
    advisory = [f for f in trace.outcomes.values() if f.action.rule.outcome == "advisory"]
    outcome = typing.cast(
        Outcome,
        max(
            (str(f.action.rule.outcome) for f in decisive),
            key=SEVERITY.__getitem__,
            default=compiled.default_outcome,
        ),
    )
    chosen = sorted((f for f in decisive if f.action.rule.outcome == outcome), key=lambda f: f.action.citation)
    advised = sorted(advisory, key=lambda f: f.action.citation)
    remedies: list[tuple[Remedy, str]] = []
    codes: set[str] = set()
    for f in ([*chosen] if outcome != "allow" else []) + advised:
        for r in f.action.rule.remedies:
            if r.code not in codes:  # one remedy per code, from the first rule naming it
                codes.add(r.code)
                remedies.append((r, f.action.citation))
    names = sorted(n for n in trace.derived if not n.startswith("__"))
    texts = [f.action.rule.message for f in (*chosen, *advised)] + [r.text for r, _ in remedies]
    placeholders = {
        name for text in texts if text is not None for t in (text.en, text.zh) for name in _template(t)[1::2]
    }
    return _Summary(
        outcome=outcome,
        chosen=tuple(chosen),
        advised=tuple(advised),
        remedies=tuple(remedies),
        derived=tuple(names),
        derivations=tuple((n, trace.derived[n].action.citation) for n in names),
        default_applied=not decisive,
        placeholders=tuple(sorted(placeholders)),
    )


class _Shape:
    """A summary with the network's cache it belongs to, and the decisions' bodies built from it, one per
    set of values its texts quote (without proofs a decision depends on nothing else but its request's
    date and marketplace).

    Traces that fired the same rules (the same actions, the same conclusions) share one shape: the
    summary reads only the actions. Proofs read the firings of each trace, never the shape's."""

    __slots__ = ("bodies", "owner", "value")

    def __init__(self, value: _Summary, owner: _PerNetwork) -> None:
        self.value = value
        self.owner = owner
        self.bodies: dict[Any, dict[str, Any]] = {}


def _shape(compiled: Compiled, trace: Trace) -> _Shape:
    """The shape of a trace: shared with every earlier trace of the network that fired the same rules."""
    owner = _per_network(compiled)
    key = (
        tuple([id(f.action) for f in trace.outcomes.values()]),
        tuple([(n, id(f.action)) for n, f in trace.derived.items()]),
    )
    known = owner.shapes.get(key)  # the actions are the network's own: their ids are stable while it lives
    if known is not None:
        return known
    made = _Shape(_summary(compiled, trace), owner)
    if len(owner.shapes) < _SHAPES_PER_NETWORK:
        owner.shapes[key] = made
    return made


def _texts(
    shape: _Summary, trace: Trace, req: Request, proofs: bool
) -> tuple[tuple[Reason, ...], tuple[Reason, ...], tuple[RemedyRef, ...]]:
    """The reasons, advisories and remedies: messages filled from the request, proofs from the trace."""
    builder = _ProofBuilder(trace, req) if proofs else None

    def reason(f: Firing) -> Reason:
        rule = f.action.rule
        assert rule.message is not None and rule.outcome is not None
        proof = None
        if builder is not None:  # this trace's own firing (the shape may come from another trace)
            proof = builder.proof(trace.outcomes.get(f.action.citation, f))
        return Reason(rule=f.action.citation, outcome=rule.outcome, message=_messages(rule.message, req), proof=proof)

    return (
        tuple(reason(f) for f in shape.chosen),
        tuple(reason(f) for f in shape.advised),
        tuple(RemedyRef(code=r.code, rule=citation, message=_messages(r.text, req)) for r, citation in shape.remedies),
    )


def _decision(
    cached: _Shape,
    as_of: str,
    marketplace: str | None,
    texts: tuple[tuple[Reason, ...], tuple[Reason, ...], tuple[RemedyRef, ...]],
    req: dict[str, Any] | None,
) -> Decision:
    shape = cached.value
    reasons, advisories, remedies = texts
    return Decision(
        outcome=shape.outcome,
        platform=cached.owner.platform,
        as_of=as_of,
        policies=cached.owner.refs,
        reasons=reasons,
        advisories=advisories,
        remedies=remedies,
        derived=shape.derived,
        derivations=shape.derivations,
        default_applied=shape.default_applied,
        marketplace=marketplace,
        request=req,
    )


def build_decision(compiled: Compiled, trace: Trace, request: Request, proofs: bool = True) -> Decision:
    """The decision for one request from what fired."""
    if not proofs:
        return build_decisions(compiled, (trace,), (request,))[0]
    cached = _cached_shape(compiled, trace)
    req = request.body
    return _decision(cached, req["as_of"], req.get("marketplace"), _texts(cached.value, trace, request, True), req)


def _cached_shape(compiled: Compiled, trace: Trace) -> _Shape:
    """The trace's shape, kept on the trace for the decisions of the products that share it."""
    cached: _Shape | None = trace.summary
    if cached is None or cached.owner.network() is not compiled:
        cached = trace.summary = _shape(compiled, trace)
    return cached


def build_decisions(compiled: Compiled, traces: Iterable[Trace], requests: Iterable[Request]) -> list[Decision]:
    """The decisions without proofs for requests decided by one network, each from its trace, in order.

    Without proofs a decision depends on the trace's shape, the marketplace and the values its texts
    quote: equal keys, equal fields (1 and True differ, and so do 0.0 and -0.0), so a catalog's decisions
    share their fields and each is one copy of them. The date is set with the request (a text that quotes
    it has it among its values), so requests of other days share fields too."""
    out: list[Decision] = []
    last: Trace | None = None
    cached: _Shape | None = None
    names: tuple[str, ...] = ()
    bodies: dict[Any, dict[str, Any]] = {}
    for trace, request in zip(traces, requests, strict=True):
        if trace is not last:  # a catalog's products that fired alike share their trace
            last = trace
            cached = _cached_shape(compiled, trace)
            names, bodies = cached.value.placeholders, cached.bodies
        assert cached is not None
        req = request.body
        as_of, marketplace = req["as_of"], req.get("marketplace")
        quoted: list[Any] = [marketplace]
        for name in names:
            v = lookup(req, name)
            quoted += (type(v), repr(v) if type(v) is float else v)
        key: Any = tuple(quoted)
        try:
            body = bodies.get(key)
        except TypeError:  # a quoted value that is a list or an object
            body = key = None
        if body is None:
            body = decision_fields(
                _decision(cached, as_of, marketplace, _texts(cached.value, trace, request, False), None)
            )
            owner = cached.owner
            if key is not None and owner.bodies < _BODIES_PER_NETWORK:
                bodies[key] = body
                owner.bodies += 1
        out.append(assemble_decision(body, req, as_of))
    return out


def error_decision(
    platform: str, as_of: str, error: str, compiled: Compiled | None = None, request: Request | None = None
) -> Decision:
    """A `deny` that carries an engine error: a fault never turns into an allow."""
    req = request.body if request is not None else None
    return Decision(
        outcome="deny",
        platform=platform,
        as_of=as_of,
        policies=_policy_refs(compiled) if compiled else (),
        reasons=(),
        error=error,
        marketplace=(req or {}).get("marketplace"),
        request=req,
    )


def _render_proof(proof: Proof, label: dict[str, str], depth: int, out: list[str]) -> None:
    pad = "    " * depth
    for step in proof.steps:
        mark = {"fact": "✓", "derived": "⇐", "absent": "∅", "count": "#"}[step.kind]
        out.append(f"{pad}{mark} {_step_text(step, label)}")
        for ev in step.evidence:
            filled = f" {label['filled_in']}" if ev.defaulted else ""
            out.append(f"{pad}    {ev.pointer} = {json.dumps(ev.value, ensure_ascii=False)}{filled}")
        if step.because is not None:
            out.append(f"{pad}    {label['derived_by']} {step.because.rule}:")
            _render_proof(step.because, label, depth + 2, out)


def _step_text(step: Step, label: dict[str, str]) -> str:
    """The step's reading, its fixed phrases in the output language (conditions stay in policy terms)."""
    text = step.text
    if step.kind == "absent" and text.endswith(" was not derived"):
        return text[: -len(" was not derived")] + label["not_derived"]
    if step.kind == "absent" and text.startswith("no element of ") and text.endswith(" satisfies the conditions"):
        return label["no_element"].format(text[len("no element of ") : -len(" satisfies the conditions")])
    if step.kind == "derived" and text.endswith(" holds"):
        return text[: -len(" holds")] + label["holds"]
    return text


_LABELS = {
    "en": {
        "as_of": "as of",
        "error": "engine error (failed closed)",
        "default": "no rule decided; the platform default is",
        "because": "because:",
        "remedies": "remedies:",
        "policies": "policies in force:",
        "derived_by": "derived by",
        "filled_in": "(filled in by the engine)",
        "deny": "deny",
        "review": "review",
        "allow": "allow",
        "advisory": "advisory",
        "not_derived": " was not derived",
        "no_element": "no element of {} satisfies the conditions",
        "holds": " holds",
        "request": "request",
        "platform": "platform",
        "outcome": "outcome",
        "deciding": "deciding rules",
        "advisories": "advisories",
        "platform_default": "(platform default)",
        "engine_error": "(engine error)",
    },
    "zh": {
        "as_of": "截至",
        "error": "引擎错误（按拒绝处理）",
        "default": "没有规则作出决定；平台默认结果为",
        "because": "依据：",
        "remedies": "补救措施：",
        "policies": "生效的政策：",
        "derived_by": "推导规则",
        "filled_in": "（由引擎补全）",
        "deny": "拒绝",
        "review": "审核",
        "allow": "允许",
        "advisory": "提示",
        "not_derived": " 未被推导出",
        "no_element": "{} 中没有满足条件的元素",
        "holds": " 成立",
        "request": "请求",
        "platform": "平台",
        "outcome": "结果",
        "deciding": "决定规则",
        "advisories": "提示",
        "platform_default": "（平台默认）",
        "engine_error": "（引擎错误）",
    },
}


LABELS = _LABELS  # the fixed words of text output, by language ("en", "zh")


def render_text(decision: Decision, lang: str = "en", proofs: bool = True) -> str:
    """A readable account of the decision, its reasons, proof trees, advisories and remedies."""
    label = _LABELS.get(lang, _LABELS["en"])
    head = f"{decision.outcome.upper()}  {decision.platform}"
    if lang == "zh":  # the outcome in Chinese, then the English label programs look for
        head = f"{label[decision.outcome]} {decision.outcome.upper()}  {decision.platform}"
    if decision.marketplace:
        head += f" ({decision.marketplace})"
    out = [head + f"  {label['as_of']} {decision.as_of}"]
    if decision.error:
        out.append(f"  {label['error']}: {decision.error}")
    if decision.default_applied and not decision.error:
        out.append(f"  {label['default']} {label[decision.outcome]}")
    for r in (*decision.reasons, *decision.advisories):
        out.append(f"  {label[r.outcome]}: {r.rule}")
        out.append(f"    {r.message.get(lang, r.message['en'])}")
        if proofs and r.proof is not None:
            out.append(f"    {label['because']}")
            _render_proof(r.proof, label, 2, out)
    if decision.remedies:
        out.append(f"  {label['remedies']}")
        for m in decision.remedies:
            out.append(f"    - [{m.code}] {m.message.get(lang, m.message['en'])}")
    if decision.policies:
        out.append(f"  {label['policies']} " + ", ".join(f"{p.id}@{p.version}" for p in decision.policies))
    return "\n".join(out)
