"""`policy-engine lint`: findings that are not load errors but make a policy wrong or hard to trust.

Each finding is a `Problem` with a code of the PE1xx range of the one catalogue (`errors.CATALOGUE`), whose
severity says whether it fails (errors) or not (warnings), the file and a JSON pointer.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .._language.model import (
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Count,
    Derived,
    Literal,
    Not,
    Policy,
    Rule,
    Some,
    Text,
    condition_json,
)
from .._language.operators import operator
from .._language.semantics import is_under
from .._language.strata import derived_refs
from .._language.vocab import LISTS, field_type
from .._pipeline.compile.normal_form import dnf, prune
from .._pipeline.load import DATA_PLACEHOLDER, format_data, read_json
from ..errors import Problem

__all__ = ["lint_policies", "load_taxonomies"]

_SEVERITY = {"allow": 0, "advisory": 0, "review": 1, "deny": 2}


def load_taxonomies(paths: Iterable[str | Path]) -> dict[str, tuple[str, set[str]]]:
    """platform -> (file, declared categories) from `taxonomy.json` files under the given folders."""
    out: dict[str, tuple[str, set[str]]] = {}
    for p in map(Path, paths):
        files = sorted(p.rglob("taxonomy.json")) if p.is_dir() else ([p] if p.name == "taxonomy.json" else [])
        for f in files:
            doc, problems = read_json(f)
            if problems or not isinstance(doc, dict):
                continue
            out[str(doc.get("platform"))] = (str(f), set(doc.get("categories", [])))
    return out


def _declared(category: str, taxonomy: set[str]) -> bool:
    return any(c == category or is_under(c, category) for c in taxonomy)


def _category_literals(cond: Condition) -> Iterable[tuple[str, str]]:
    """(pointer, category) for every category literal a condition compares with."""

    def visit(c: Condition, item: Any) -> Iterable[tuple[str, str]]:
        if isinstance(c, Compare):
            kind = field_type(c.path, item)
            if kind == "category" and isinstance(c.operand, Literal):
                values = c.operand.value if isinstance(c.operand.value, tuple) else (c.operand.value,)
                for v in values:
                    if isinstance(v, str):
                        yield f"{c.pointer}/{c.op}", v
        elif isinstance(c, (Some, Count)):
            for w in c.where:
                yield from visit(w, LISTS[c.list_path])
        elif isinstance(c, Not):
            yield from visit(c.condition, item)
        elif not isinstance(c, Derived):
            for sub in c.conditions:
                yield from visit(sub, item)

    return visit(cond, None)


def _contradictory(alternative: list[tuple[Any, bool, Any]]) -> bool:
    """Whether one alternative of a rule's conditions can never hold (a conservative, syntactic check)."""
    equals: dict[str, set[Any]] = defaultdict(set)
    not_equals: dict[str, set[Any]] = defaultdict(set)
    exists: dict[str, set[bool]] = defaultdict(set)
    low: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    high: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    derived: dict[str, set[bool]] = defaultdict(set)
    somes: dict[str, set[bool]] = defaultdict(set)
    for cond, negated, _detail in alternative:
        if isinstance(cond, Derived):
            derived[cond.name].add(not negated)
        elif isinstance(cond, Some):
            somes[json.dumps(condition_json(cond), sort_keys=True)].add(not negated)
        elif isinstance(cond, Compare) and isinstance(cond.operand, Literal):
            op: str = cond.op
            value = cond.operand.value
            if op == "exists":
                exists[cond.path].add(bool(value) != negated)
                continue
            spec = operator(op)
            if negated:  # "not (x < 5)" also holds when x is missing; "not (x equals a)" is "x not_equals a"
                # or missing, while "not (x not_equals a)" is "x equals a" *or missing*: only `equals` flips
                op = "not_equals" if op == "equals" else ""
            if op == "equals":
                equals[cond.path].add(_kinded(value))
                exists[cond.path].add(True)
            elif op == "not_equals":
                not_equals[cond.path].add(_kinded(value))
            elif op == "in" and isinstance(value, tuple):
                exists[cond.path].add(True)
            elif op and spec.order and isinstance(value, (int, float)):
                (low if spec.order == "low" else high)[cond.path].append((float(value), spec.strict))
                exists[cond.path].add(True)
    if any(len(v) > 1 for v in (*derived.values(), *somes.values(), *exists.values())):
        return True
    if any(len(v) > 1 or v & not_equals[k] for k, v in equals.items()):
        return True
    for path in set(low) & set(high):
        lo = max(low[path])
        hi = min(high[path])
        if lo[0] > hi[0] or (lo[0] == hi[0] and (lo[1] or hi[1])):
            return True
    return False


def _kinded(value: Any) -> tuple[str, Any]:
    """A value with its kind, so that equal values of different kinds stay apart (`1` is not `true`)."""
    kind = "boolean" if isinstance(value, bool) else "number" if isinstance(value, (int, float)) else "text"
    return kind, value


def _conditions_key(rule: Rule) -> set[str]:
    """The rule's conditions as texts, with named data as its values (names are the document's own)."""
    return {json.dumps(condition_json(c, resolved=True), sort_keys=True) for c in rule.when.conditions}


def _covers(stronger: Policy, policy: Policy) -> bool:
    """Whether `stronger` is in force on every day `policy` is."""
    if stronger.effective_from > policy.effective_from:
        return False
    if stronger.effective_until is None:
        return True
    return policy.effective_until is not None and stronger.effective_until >= policy.effective_until


def lint_policies(policies: Sequence[Policy], taxonomies: dict[str, tuple[str, set[str]]]) -> list[Problem]:
    """Every finding across the documents, sorted by file and pointer."""
    findings: list[Problem] = []
    platforms = sorted({p.platform for p in policies} - {"*"})
    for platform in platforms:
        if platform not in taxonomies:
            findings.append(
                Problem(
                    file=next(p.file for p in policies if p.platform == platform),
                    pointer="",
                    code="PE110",
                    message=f"no taxonomy.json declares the categories of platform {platform!r}",
                )
            )
    by_id: dict[str, list[Policy]] = defaultdict(list)
    for p in policies:
        by_id[p.id].append(p)
    for versions in by_id.values():
        ordered = sorted(versions, key=lambda v: v.effective_from)
        for a, b in itertools.pairwise(ordered):
            if a.effective_until is not None and a.effective_until < b.effective_from:  # overlaps fail loading
                findings.append(
                    Problem(
                        file=b.file,
                        pointer="/effective_from",
                        code="PE103",
                        message=f"no version of {b.id} is in force from {a.effective_until} to {b.effective_from}",
                    )
                )
    for platform in platforms:
        findings.extend(_underived(platform, [p for p in policies if p.platform in (platform, "*")]))
    for policy in policies:
        findings.extend(_lint_policy(policy, policies, taxonomies, platforms))
    return sorted(set(findings), key=lambda f: (f.file, f.pointer, f.code, f.message))


def _underived(platform: str, scope: Sequence[Policy]) -> Iterable[Problem]:
    """PE113 for a rule in force that tests a conclusion no policy in force with it derives, in some period:
    `derived` never holds then and `not derived` always does (the policy deriving it ended, or starts
    later), which validate, looking at all versions, cannot see."""
    days = sorted({p.effective_from for p in scope} | {p.effective_until for p in scope if p.effective_until})
    reported: set[tuple[str, str, str]] = set()
    for start, end in itertools.zip_longest(days, days[1:]):
        in_force = [p for p in scope if p.in_force(start)]
        if not any(p.platform == platform for p in in_force):
            continue
        derivable = {r.derive for p in in_force for r in p.rules if r.derive}
        for policy in in_force:
            for rule in policy.rules:
                for name, _, _ in derived_refs(rule.when):
                    if name in derivable or (policy.key, rule.id, name) in reported:
                        continue
                    reported.add((policy.key, rule.id, name))
                    until = f" to {end}" if end is not None else " on"
                    yield Problem(
                        file=policy.file,
                        pointer=rule.pointer,
                        code="PE113",
                        message=f"rule {rule.id!r} tests the conclusion {name!r}, which no policy of {platform} in "
                        f"force from {start}{until} derives: it never holds then, and its negation always does",
                    )


def _lint_policy(
    policy: Policy, policies: Sequence[Policy], taxonomies: dict[str, tuple[str, set[str]]], platforms: list[str]
) -> list[Problem]:
    out: list[Problem] = []
    targets = platforms if policy.platform == "*" else [policy.platform]
    used_refs: set[str] = set()
    for rule in policy.rules:
        for cond in rule.when.conditions:
            for pointer, category in _category_literals(cond):
                for platform in targets:
                    if platform in taxonomies and not _declared(category, taxonomies[platform][1]):
                        out.append(
                            Problem(
                                file=policy.file,
                                pointer=pointer,
                                code="PE101",
                                message=f"category {category!r} is not in the {platform} taxonomy "
                                f"({taxonomies[platform][0]})",
                            )
                        )
        used_refs.update(_refs(rule.when))
        try:
            alternatives = prune(dnf(rule.when))
        except Exception:  # refused by the compiler: reported by validate
            alternatives = []
        if alternatives and all(_contradictory(a) for a in alternatives):
            out.append(
                Problem(
                    file=policy.file,
                    pointer=rule.pointer,
                    code="PE104",
                    message=f"rule {rule.id!r} can never fire: its conditions contradict each other",
                )
            )
        if rule.outcome in ("deny", "review") and not rule.remedies:
            out.append(
                Problem(
                    file=policy.file,
                    pointer=rule.pointer,
                    code="PE108",
                    message=f"{rule.outcome} rule {rule.id!r} says nothing about what would make the listing "
                    "allowed (add `remedies`)",
                )
            )
        texts = [("message", rule.message)] if rule.message else []
        texts += [(f"remedies/{i}", r.text) for i, r in enumerate(rule.remedies)]
        for where, text in texts:
            if text is None:
                continue
            out.extend(_repeated_data(policy, f"{rule.pointer}/{where}", text, used_refs))
            out.extend(_translated_data(policy, f"{rule.pointer}/{where}", text))
            if not text.en.strip() or not text.zh.strip():
                out.append(
                    Problem(
                        file=policy.file, pointer=f"{rule.pointer}/{where}", code="PE107", message="empty message text"
                    )
                )
            elif text.en.strip() == text.zh.strip():
                out.append(
                    Problem(
                        file=policy.file,
                        pointer=f"{rule.pointer}/{where}",
                        code="PE107",
                        message="the Chinese text is the English text: translate it",
                    )
                )
        refs = rule.source_refs or tuple(range(len(policy.sources)))
        strength = {"illustrative": 0, "borrowed": 1, "article-only": 2, "sourced": 3}
        best = max((strength[policy.sources[i].provenance] for i in refs if i < len(policy.sources)), default=0)
        if strength[rule.provenance] > best:
            out.append(
                Problem(
                    file=policy.file,
                    pointer=rule.pointer,
                    code="PE109",
                    message=f"rule {rule.id!r} is marked {rule.provenance!r} but none of the sources it cites "
                    "says so: cite one, or mark the rule with what its sources support",
                )
            )
        if rule.outcome in _SEVERITY and rule.outcome != "advisory":  # advisories are reported whatever decides
            mine = _conditions_key(rule)
            for other in (p for p in policies if p.platform in (policy.platform, "*") and _covers(p, policy)):
                for higher in other.rules:
                    if (
                        higher is not rule
                        and higher.outcome in _SEVERITY
                        and _SEVERITY[str(higher.outcome)] > _SEVERITY[str(rule.outcome)]
                        and _conditions_key(higher) <= mine
                    ):
                        out.append(
                            Problem(
                                file=policy.file,
                                pointer=rule.pointer,
                                code="PE105",
                                message=f"rule {rule.id!r} ({rule.outcome}) never decides: "
                                f"{other.cite(higher)} ({higher.outcome}) fires whenever it does",
                            )
                        )
    for name in policy.data:
        if name not in used_refs:
            out.append(
                Problem(
                    file=policy.file,
                    pointer=f"/data/{name}",
                    code="PE106",
                    message=f"named data {name!r} is never used",
                )
            )
    return out


# A number in a text: digits with an optional fraction and thousands separators, not part of a word, a
# date, a version or a placeholder, and not a percentage (`5 %` is not the named data value 0.05).
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.,/:{-])-?[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?(?![A-Za-z0-9_/:}-]|[.,][0-9]|\s?[%％])"
)


def _repeated_data(policy: Policy, pointer: str, text: Text, used: set[str]) -> Iterable[Problem]:
    """PE111 for each number of a text (as written) equal to a numeric named data value of the policy."""
    numbers = {
        name: float(v) for name, v in policy.data.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }
    for lang, raw in zip(("en", "zh"), text.templates or (text.en, text.zh), strict=True):
        used.update(m.group(1) for m in DATA_PLACEHOLDER.finditer(raw))
        for match in _NUMBER.finditer(DATA_PLACEHOLDER.sub(" ", raw)):
            value = float(match.group().replace(",", ""))
            names = sorted(name for name, v in numbers.items() if v == value)
            if names:
                name = names[0]
                spec = next(
                    (
                        s
                        for s in ("", ",", f".{len(match.group().partition('.')[2])}f")
                        if _formats(policy, name, s, match)
                    ),
                    "",
                )
                yield Problem(
                    file=policy.file,
                    pointer=f"{pointer}/{lang}",
                    code="PE111",
                    message=f"{match.group()} is the named data {name!r}; "
                    f"write {{data.{name}{':' + spec if spec else ''}}} "
                    "so that the text follows the value",
                )


def _translated_data(policy: Policy, pointer: str, text: Text) -> Iterable[Problem]:
    """PE112 when the English and the Chinese text of a message or remedy show different numeric named data:
    the one that writes the number out its own way (or leaves it out) says something else once the value
    changes. (Texts and lists, such as an English label, may be left out of a translation.)"""
    if text.templates is None:
        return
    numeric = {n for n, v in policy.data.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    en, zh = ({m.group(1) for m in DATA_PLACEHOLDER.finditer(raw)} & numeric for raw in text.templates)
    for lang, missing, other in (("zh", en - zh, "English"), ("en", zh - en, "Chinese")):
        if missing:
            shown = ", ".join(f"{{data.{name}}}" for name in sorted(missing))
            yield Problem(
                file=policy.file,
                pointer=f"{pointer}/{lang}",
                code="PE112",
                message=f"the {other} text shows {shown} and this one does not; write the same placeholders in "
                "both, so that both follow the value",
            )


def _formats(policy: Policy, name: str, spec: str, match: re.Match[str]) -> bool:
    return format_data(policy.data[name], spec or None) == match.group()


def _refs(cond: Condition) -> set[str]:
    if isinstance(cond, Compare):
        return {cond.operand.ref} if isinstance(cond.operand, Literal) and cond.operand.ref else set()
    if isinstance(cond, (Some, Count)):
        return set().union(*(_refs(c) for c in cond.where))
    if isinstance(cond, Not):
        return _refs(cond.condition)
    if isinstance(cond, (AnyOf, AllOf)):
        return set().union(*(_refs(c) for c in cond.conditions))
    return set()
