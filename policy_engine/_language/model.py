"""The policy language as frozen data: documents, rules and the condition tree."""

from __future__ import annotations

import calendar
import datetime as dt
import typing
from typing import Any, Union

import attrs

from .operators import OperatorName

__all__ = [
    "AllOf",
    "AnyOf",
    "AsOf",
    "Compare",
    "Condition",
    "Count",
    "Derived",
    "FieldRef",
    "Literal",
    "Not",
    "Operand",
    "Outcome",
    "Policy",
    "Remedy",
    "Rule",
    "RuleOutcome",
    "Some",
    "Source",
    "Text",
    "condition_json",
]

Scalar = Union[str, int, float, bool]

Outcome = typing.Literal["allow", "review", "deny"]
"""What a decision says about a listing (and what a platform's `default_outcome` may be)."""

RuleOutcome = typing.Literal["allow", "review", "deny", "advisory"]
"""What an outcome rule says: an outcome, or a non-blocking advisory."""


@attrs.frozen
class Literal:
    """A literal value or list of values (`ref` names the datum it came from, if any)."""

    value: Scalar | tuple[Scalar, ...]
    ref: str | None = attrs.field(default=None, kw_only=True)


@attrs.frozen
class FieldRef:
    """Another request field (`product.brand`, `item.category`)."""

    path: str


AFTER_CALENDAR = "after 9999-12-31"  # sorts after every YYYY-MM-DD
BEFORE_CALENDAR = "(before 0001-01-01)"  # sorts before every YYYY-MM-DD


@attrs.frozen
class AsOf:
    """The decision date shifted by whole years, months and days."""

    years: int = 0
    months: int = 0
    days: int = 0

    @property
    def tag(self) -> str:
        """A short key for the shifted date, e.g. `y0m-6d0`."""
        return f"y{self.years}m{self.months}d{self.days}"

    def apply(self, day: dt.date) -> dt.date:
        """The shifted date; month arithmetic clamps to the end of the month.

        OverflowError when the result is outside the calendar (years 1 to 9999); `iso` handles that.
        """
        months = day.month - 1 + self.months + 12 * self.years
        year, month = day.year + months // 12, months % 12 + 1
        if not dt.MINYEAR <= year <= dt.MAXYEAR:
            raise OverflowError(f"{self.describe()} of {day} is outside the calendar")
        last = calendar.monthrange(year, month)[1]
        return dt.date(year, month, min(day.day, last)) + dt.timedelta(days=self.days)

    def iso(self, day: dt.date) -> str:
        """The shifted date as compared by the network and the reference evaluator: `YYYY-MM-DD`.

        A shift past either end of the calendar gives a text that sorts after (or before) every date
        a request can hold, so comparisons with it stay exact instead of failing.
        """
        try:
            return self.apply(day).isoformat()
        except OverflowError:
            ahead = (self.years * 12 + self.months) * 30.44 + self.days > 0
            return AFTER_CALENDAR if ahead else BEFORE_CALENDAR

    def describe(self) -> str:
        parts = [f"{v:+d} {u}" for v, u in ((self.years, "years"), (self.months, "months"), (self.days, "days")) if v]
        return "as_of" + (" " + " ".join(parts) if parts else "")


Operand = Union[Literal, FieldRef, AsOf, None]


@attrs.frozen(kw_only=True)
class Compare:
    """`{"field": path, op: operand}`."""

    path: str
    op: OperatorName
    operand: Operand
    pointer: str = ""


@attrs.frozen(kw_only=True)
class Count:
    """`{"count": list, op: n}`."""

    list_path: str
    op: OperatorName
    value: int
    pointer: str = ""
    where: tuple[Condition, ...] = ()
    distinct: str | None = None  # "main_category": count distinct first levels of a category list
    including: str | None = None  # a request category field counted along (with `distinct`)
    merge: tuple[str, int] | None = None  # (date field, days): counted elements close in date count once


@attrs.frozen(kw_only=True)
class Some:
    """Some element of a request list satisfies every `where` condition."""

    list_path: str
    where: tuple[Condition, ...]
    pointer: str = ""


@attrs.frozen
class Derived:
    """A derived conclusion holds."""

    name: str
    pointer: str = attrs.field(default="", kw_only=True)


@attrs.frozen
class Not:
    condition: Condition
    pointer: str = attrs.field(default="", kw_only=True)


@attrs.frozen
class AnyOf:
    conditions: tuple[Condition, ...]
    pointer: str = attrs.field(default="", kw_only=True)


@attrs.frozen
class AllOf:
    conditions: tuple[Condition, ...]
    pointer: str = attrs.field(default="", kw_only=True)


Condition = Union[Compare, Count, Some, Derived, Not, AnyOf, AllOf]


@attrs.frozen(kw_only=True)
class Text:
    """A text in English and Chinese, with `{data.NAME}` placeholders already filled from the policy's named
    data; `templates` keeps the (en, zh) texts as written, for lint."""

    en: str
    zh: str
    templates: tuple[str, str] | None = attrs.field(default=None, eq=False, repr=False)

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@attrs.frozen(kw_only=True)
class Remedy:
    code: str
    text: Text


@attrs.frozen(kw_only=True)
class Source:
    provenance: str
    url: str | None = None
    document: str | None = None
    date: str | None = None
    note: str | None = None


@attrs.frozen(kw_only=True)
class Rule:
    """A rule: conditions, and either a derived conclusion or an outcome."""

    id: str
    when: AllOf
    derive: str | None
    outcome: RuleOutcome | None
    message: Text | None
    remedies: tuple[Remedy, ...]
    pointer: str
    provenance: str
    description: str = ""
    source_refs: tuple[int, ...] = ()


@attrs.frozen(kw_only=True)
class Policy:
    """One version of one policy document."""

    id: str
    version: str
    platform: str
    effective_from: dt.date
    effective_until: dt.date | None
    title: str
    description: str
    sources: tuple[Source, ...]
    data: dict[str, Scalar | tuple[Scalar, ...]] = attrs.field(eq=False)
    rules: tuple[Rule, ...]
    default_outcome: Outcome | None
    file: str
    digest: str
    effective_from_basis: str | None = None  # "stated", "earliest-dated-source" or "assumed"
    effective_from_note: str | None = None
    path: str = attrs.field(default="", eq=False)
    """The file relative to the policy folder it was loaded from (`aliexpress/brand-closed-management.json`),
    as proofs cite it; `file` is the path as given, as problems name it."""

    @property
    def cited_file(self) -> str:
        """The file as decisions cite it: `path`, or `file` for a policy built without one."""
        return self.path or self.file

    @property
    def key(self) -> str:
        """`policy@version`, the prefix of every rule citation."""
        return f"{self.id}@{self.version}"

    def in_force(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_until is None or day < self.effective_until)

    def in_force_overlap(self, other: Policy) -> bool:
        """Whether the two versions are ever in force on the same day."""
        ends = [d for d in (self.effective_until, other.effective_until) if d is not None]
        return max(self.effective_from, other.effective_from) < min(ends, default=dt.date.max)

    def cite(self, rule: Rule) -> str:
        return f"{self.key}#{rule.id}"


def _operand_json(operand: Any, resolved: bool = False) -> Any:
    if isinstance(operand, Literal):
        value = list(operand.value) if isinstance(operand.value, tuple) else operand.value
        return {"ref": operand.ref} if operand.ref is not None and not resolved else value
    if isinstance(operand, FieldRef):
        return {"field": operand.path}
    if isinstance(operand, AsOf):
        return {
            "as_of": {
                k: v for k, v in (("years", operand.years), ("months", operand.months), ("days", operand.days)) if v
            }
        }
    return None


def condition_json(cond: Condition, resolved: bool = False) -> dict[str, Any]:
    """The condition in policy syntax; `resolved`: named data written as its value, so that the texts of two
    conditions are equal exactly when they mean the same (two policies may give one name different values,
    and a value written out means what the same value named means)."""
    if isinstance(cond, Compare):
        return {"field": cond.path, cond.op: _operand_json(cond.operand, resolved)}
    if isinstance(cond, Count):
        out: dict[str, Any] = {"count": cond.list_path}
        if cond.where:
            out["where"] = [condition_json(c, resolved) for c in cond.where]
        if cond.distinct:
            out["distinct"] = cond.distinct
        if cond.including:
            out["including"] = cond.including
        if cond.merge:
            out["merge"] = {"field": cond.merge[0], "within_days": cond.merge[1]}
        out[cond.op] = cond.value
        return out
    if isinstance(cond, Some):
        return {"some": cond.list_path, "where": [condition_json(c, resolved) for c in cond.where]}
    if isinstance(cond, Derived):
        return {"derived": cond.name}
    if isinstance(cond, Not):
        return {"not": condition_json(cond.condition, resolved)}
    key = "any" if isinstance(cond, AnyOf) else "all"
    return {key: [condition_json(c, resolved) for c in cond.conditions]}
