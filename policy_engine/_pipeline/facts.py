"""The fact encoding: how a request is laid out as durable_rules facts, shared by the compiler (which writes
rules over these facts) and the fact builder (which writes the facts of each request).

The request becomes one fact per root (`request`, `seller`, `product`; types `request`, `seller`,
`product`) and one per element of each list a rule reads. A field's property is `fact_key(path)`; scalar
fields of any kind hold one property per kind (`typed_key`); category fields carry every level
(`level_key`) padded to CATEGORY_LEVELS with `""`, and their depth; shifted decision dates are properties
of the request fact (`date_key`). The runtime adds facts of its own: derived conclusions
(DERIVED_TYPE), stratum triggers (TRIGGER_TYPE) and the closing SEEN_TYPE fact.

`FactBuilder` writes a normalized request's facts for one network, reading only what the network's
`FactPlan` names (and working out counts, main categories and text operators as the reference evaluator
does).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import attrs

from .._language.model import AllOf, AnyOf, AsOf, Compare, Condition, Count, FieldRef, Literal, Not, Some
from .._language.operators import operator
from .._language.semantics import Request, condition_test, lookup, main_categories, merged_count
from .._language.vocab import LISTS

__all__ = [
    "CATEGORY_LEVELS",
    "DERIVED_TYPE",
    "INIT_RULE",
    "NEVER_TYPE",
    "ROOT_ALIAS",
    "SEEN_RULE",
    "SEEN_TYPE",
    "TRIGGER_TYPE",
    "FactBuilder",
    "FactPlan",
    "date_key",
    "engine_json",
    "fact_key",
    "level_key",
    "typed_key",
]

# A number written with an exponent but no decimal point (`1e-05`, `-5e+300`), outside strings. Strings
# are matched first and kept as they are, so text such as "1e-05" inside a title is never touched.
# The hint is what such a number holds (Python writes every exponent with its sign), a literal first so the
# regex engine skips to each "e", and the digit before it looked at last: names such as "__some-0" in a
# ruleset would otherwise send its whole text through the second pattern.
_EXPONENT_HINT = re.compile(r"e[-+](?<=\de[-+])\d")
_NUMBER_OR_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|(?<![\d.])(-?\d+)(e[-+]?\d+)')


def _encoder() -> Callable[[Any], str]:
    """The text of `json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode`,
    from one C encoder made once (`encode` makes a new one per call). Compact text is less for the engine's
    parser to read. Without the circular-reference check: facts and rulesets are trees built here."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython has the C encoder
        return json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode

    def default(value: Any) -> Any:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    chunks = make(None, default, json.encoder.encode_basestring, None, ":", ",", False, False, False)
    join = "".join

    def encode(value: Any) -> str:
        return join(chunks(value, 0))

    return encode


_ENCODE = _encoder()


def _decimal_point(m: re.Match[str]) -> str:
    return m.group(0) if m.group(1) is None else f"{m.group(1)}.0{m.group(2)}"


def engine_json(value: Any) -> str:
    """JSON text that durable_rules' parser reads exactly as Python wrote it.

    Python writes some floats with an exponent and no decimal point (`1e-05`, `1e+16`, `5e-324`); the
    engine's parser reads an exponent only after a decimal point and otherwise stops, silently dropping
    the rest of the batch. Those numbers are written `1.0e-05`: the same double, read exactly.
    """
    text = _ENCODE(value)
    if _EXPONENT_HINT.search(text) is not None:
        text = _NUMBER_OR_STRING.sub(_decimal_point, text)
    return text


CATEGORY_LEVELS = 8

ROOT_ALIAS = {"request": "rq", "seller": "sl", "product": "pr"}
DERIVED_TYPE = "d"
TRIGGER_TYPE = "__s"
INIT_RULE = "__init"
# Every request ends with one fact of type SEEN_TYPE. The SEEN_RULE joins it to a fact type that is never
# asserted, so it never fires but keeps the fact in the network; asserting it a second time must then be
# refused as "already observed", which proves the engine parsed and matched every fact sent before it.
SEEN_TYPE = "__seen"
SEEN_RULE = "__seen"
NEVER_TYPE = "__never"


def fact_key(path: str) -> str:
    """The fact property that holds a request field: `seller.metrics.x` -> `metrics__x`, `item.brand` -> `brand`."""
    root, _, rest = path.partition(".")
    if root == "item" and not rest:
        return "v"
    if rest == "id":
        return "id_"
    return rest.replace(".", "__")


_KIND_SUFFIX = {bool: "__B", int: "__N", float: "__N", str: "__S"}


def typed_key(key: str, value: Any) -> str:
    """The property holding a value of `value`'s kind, for fields whose values may be of any kind."""
    return key + _KIND_SUFFIX[type(value)]


def date_key(shift: AsOf) -> str:
    """The request fact's property holding the decision date shifted by `shift`."""
    return "as_of" if shift == AsOf() else "as_of__" + shift.tag.replace("-", "n")


def level_key(key: str, level: int) -> str:
    """The property holding a category's ancestor at `level` (0: the main category)."""
    return f"{key}__l{level}"


@attrs.frozen
class FactPlan:
    """Which facts and properties the network reads, so the flattener sends nothing else."""

    root_keys: dict[str, frozenset[str]]
    list_keys: dict[str, frozenset[str]]
    category_keys: frozenset[tuple[str, str]]  # (root or list path, key) holding categories
    shifts: tuple[AsOf, ...]
    filtered_counts: tuple[tuple[str, str, tuple[Condition, ...]], ...] = ()  # (key, list, where)
    distinct_counts: tuple[tuple[str, str, str | None], ...] = ()  # (key, list, including): main categories
    # (owner, key, field key, operator, operand): the operator's Python meaning, worked out per fact
    computed: tuple[tuple[str, str, str, str, Any], ...] = ()
    # (key, list, where, (date field, days)): counted elements, those close in date once
    merged_counts: tuple[tuple[str, str, tuple[Condition, ...], tuple[str, int]], ...] = ()


def _getter(key: str) -> Callable[[dict[str, Any]], Any]:
    for suffix, kinds in (("__B", (bool,)), ("__N", (int, float)), ("__S", (str,))):
        if key.endswith(suffix):
            untyped = _getter(key[: -len(suffix)])

            def typed(obj: dict[str, Any], untyped: Any = untyped, kinds: Any = kinds) -> Any:
                value = untyped(obj)
                return value if type(value) in kinds else None

            return typed
    if key.startswith("n__"):
        name = key[3:]
        return lambda obj: len(obj.get(name) or ())
    if key == "id_":
        return lambda obj: obj.get("id")
    parts = key.split("__")
    if len(parts) == 1:
        return lambda obj: obj.get(key)

    def nested(obj: dict[str, Any]) -> Any:
        value: Any = obj
        for p in parts:
            if not isinstance(value, dict):
                return None
            value = value.get(p)
        return value

    return nested


def _read(key: str, var: str) -> str | None:
    """Inline code reading a plain property (what `_getter` does, without a call), or None."""
    if key.isidentifier() and "__" not in key and key != "id_":
        return f"{var}.get({key!r})"
    return None


def _levels(category: str) -> Iterator[tuple[int, str]]:
    parts = category.split("/")
    for i in range(len(parts)):
        yield i, "/".join(parts[: i + 1])


def _predicate(conds: tuple[Condition, ...]) -> Callable[[Any, Request], bool]:
    """A Python predicate over one list element (and the request) for the `where` of a filtered count."""
    tests = [condition_test(c) for c in conds]
    nothing: frozenset[str] = frozenset()  # a `where` names no derived conclusion
    return lambda e, r: all(t(r.body, nothing, e) for t in tests)


def _computed(field_key: str, op: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    """A getter for an operator the network reads as a stored result: `op value` on the field, or None
    (nothing stored) when the field is missing."""
    read = _getter(field_key)
    meaning = operator(op).meaning

    def result(obj: dict[str, Any]) -> Any:
        v = read(obj)
        return None if v is None else meaning(v, value)

    return result


def _number(value: float) -> Any:
    """A decimal number as the engine must see it to join it with an equal one: whole numbers as integers
    (and -0.0 as 0). The engine files an equality join under a hash of the value's text, `%lld` for an
    integer and `%f` for a decimal, so 1 and 1.0, or 0.0 and -0.0, equal in the policy language, never
    met in a join; comparisons with values are unchanged (the engine compares the two kinds by value)."""
    if value.is_integer() and -_INT64 <= value < _INT64:
        return int(value)
    return value


_INT64 = 2.0**63


def _put_category(fact: dict[str, Any], key: str, value: Any) -> None:
    # Every level is present, padded with "" (never a category), even for a missing value: durable_rules
    # fails on joins to a missing property, and `not under` then needs no "or missing" branch.
    levels = dict(_levels(value)) if isinstance(value, str) else {}
    for i in range(CATEGORY_LEVELS):
        fact[level_key(key, i)] = levels.get(i, "")
    fact[key + "__d"] = len(levels) - 1
    if value is not None:
        fact[key] = value


def _reads_beyond(conds: tuple[Condition, ...], roots: tuple[str, ...]) -> bool:
    """Whether conditions of a filtered count read a field outside the given roots (or the list item)."""
    for cond in conds:
        if isinstance(cond, Not):
            if _reads_beyond((cond.condition,), roots):
                return True
        elif isinstance(cond, (AnyOf, AllOf)):
            if _reads_beyond(cond.conditions, roots):
                return True
        elif isinstance(cond, Compare):
            paths = [cond.path]
            if isinstance(cond.operand, FieldRef):
                paths.append(cond.operand.path)
            if any(p.split(".")[0] not in ("item", *roots) and p != "request.as_of" for p in paths):
                return True
    return False


_ABSENT = ("absent",)  # a missing field (a tuple no value of a request hashes to)


def _hashable(value: Any) -> Any:
    """A hashable form of a JSON value, equal only for values of the same types (1, 1.0 and True differ,
    and so do 0.0 and -0.0)."""
    kind = type(value)
    if kind is list:
        return (list, tuple(_hashable(v) for v in value))
    if kind is dict:
        return (dict, tuple((k, _hashable(v)) for k, v in value.items()))
    if kind is float:
        return (float, repr(value))
    return (kind, value)


_EQUALITY = frozenset({"equals", "not_equals", "in", "not_in"})
_OTHER = ("other",)  # a text value that no condition can tell from another (a tuple no request value hashes to)


@attrs.frozen
class ValueClass:
    """A product field whose text values the network only tests for equality: with these constants, and
    with the context's values at these paths (`(list path, path)`: the path read on each element of the
    list; `(None, path)`: one value). Two texts equal to none of those are told apart by no condition."""

    field: str
    constants: frozenset[str]
    reads: tuple[tuple[str | None, str], ...]

    def known(self, body: dict[str, Any]) -> frozenset[str]:
        """The texts a condition may tell apart, for requests of this context."""
        found = set(self.constants)
        for within, path in self.reads:
            if within is None:
                values: Iterable[Any] = (lookup(body, path),)
            else:
                elements = lookup(body, within)
                values = (lookup(body, path, e) for e in elements) if isinstance(elements, list) else ()
            found.update(v for v in values if type(v) is str)
        return frozenset(found)


def value_classes(conditions: Iterable[Condition], fields: Sequence[str]) -> tuple[ValueClass, ...]:
    """The product `fields` whose text values the conditions only test for equality (`equals`, `not_equals`,
    `in`, `not_in`, and `exists`), with constants or with fields of the context; any other test of a field
    (another operator, a comparison with the product itself or with a date shift, a count including it,
    a nested path) leaves it out."""
    constants: dict[str, set[str]] = {f: set() for f in fields}
    reads: dict[str, set[tuple[str | None, str]]] = {f: set() for f in fields}
    left_out: set[str] = set()

    def product_field(path: str) -> str | None:
        root, _, rest = path.partition(".")
        return rest.split(".")[0] if root == "product" else None

    def context(path: str, within: str | None) -> tuple[str | None, str] | None:
        """Where a value compared with a product field comes from, if it is the context's."""
        root = path.split(".")[0]
        if root == "item":
            return None if within is None or within.split(".")[0] == "product" else (within, path)
        return None if root == "product" else (None, path)

    def compare(field: str, cond: Compare, other: Any, within: str | None) -> None:
        if cond.op == "exists":  # present or not: every text is present
            return
        if cond.op not in _EQUALITY:
            left_out.add(field)
        elif isinstance(other, Literal):
            values = other.value if isinstance(other.value, tuple) else (other.value,)
            constants[field].update(v for v in values if type(v) is str)
        elif isinstance(other, FieldRef) and (where := context(other.path, within)) is not None:
            reads[field].add(where)
        else:
            left_out.add(field)

    def visit(cond: Condition, within: str | None) -> None:
        if isinstance(cond, Compare):
            mine = product_field(cond.path)
            if mine in constants:
                if cond.path.count(".") > 1:  # a field inside the product's field
                    left_out.add(mine)
                else:
                    compare(mine, cond, cond.operand, within)
            if isinstance(cond.operand, FieldRef):
                theirs = product_field(cond.operand.path)
                if theirs in constants:
                    if cond.operand.path.count(".") > 1:
                        left_out.add(theirs)
                    else:
                        compare(theirs, cond, FieldRef(cond.path), within)
        elif isinstance(cond, (Count, Some)):
            if isinstance(cond, Count) and cond.including and product_field(cond.including) in constants:
                left_out.add(str(product_field(cond.including)))
            for part in cond.where:
                visit(part, cond.list_path)
        elif isinstance(cond, Not):
            visit(cond.condition, within)
        elif isinstance(cond, (AnyOf, AllOf)):
            for part in cond.conditions:
                visit(part, within)

    for cond in conditions:
        visit(cond, None)
    return tuple(
        ValueClass(f, frozenset(constants[f]), tuple(sorted(reads[f], key=repr))) for f in fields if f not in left_out
    )


def _item_key(
    fields: tuple[str, ...], classes: tuple[str, ...] = ()
) -> tuple[Callable[..., Any], Callable[..., tuple[list[Request], list[int]]]]:
    """`FactBuilder.item_key` over these product fields, and `distinct_items` over its keys, generated as
    straight-line code; with `classes`, the keys of `distinct_items(coarse=True)`: a text of one of those
    fields that is not among its known texts (`known`, one set per class) is `_OTHER`."""

    def key(pad: str) -> list[str]:  # the lines that set `key` for `request`
        lines = [
            f"{pad}p = request.body.get('product')",
            f"{pad}if type(p) is not dict:",
            f"{pad}    key = _hashable(p)",
            f"{pad}else:",
        ]
        names = []
        for n, field in enumerate(fields):
            lines.append(f"{pad}    v{n} = p.get({field!r}, _ABSENT)")
            if field in classes:
                k = classes.index(field)
                names.append(f"(v{n} if v{n} in known[{k}] else _OTHER) if type(v{n}) is str else _hashable(v{n})")
            else:
                names.append(f"v{n} if type(v{n}) is str else _hashable(v{n})")
        lines.append(f"{pad}    key = ({', '.join(names)}{',' if len(names) == 1 else ''})")
        return lines

    known = ", known" if classes else ""
    lines = [
        f"def _key(request{known}):",
        *key("    "),
        "    return key",
        f"def _distinct(run{known}):",
        "    first = {}",
        "    slots = []",
        "    firsts = []",
        "    for request in run:",
        *key("        "),
        "        n = first.get(key)",
        "        if n is None:",
        "            n = first[key] = len(firsts)",
        "            firsts.append(request)",
        "        slots.append(n)",
        "    return firsts, slots",
    ]
    namespace: dict[str, Any] = {"_hashable": _hashable, "_ABSENT": _ABSENT, "_OTHER": _OTHER}
    exec("\n".join(lines), namespace)  # generated from the plan's field names (repr), no user input
    return namespace["_key"], namespace["_distinct"]


def _field_of(key: str) -> str:
    """The top-level field of an object that a fact property is read from (see `_getter`)."""
    for suffix in _KIND_SUFFIX.values():
        key = key.removesuffix(suffix)
    if key.startswith("n__"):
        key = key[3:]
    return "id" if key == "id_" else key.split("__")[0]


def _item_fields(plan: FactPlan) -> tuple[str, ...] | None:
    """The product fields the item facts read (sorted), or None when they may read anything else: a
    count of the product's that filters, merges or groups its elements (its conditions may read
    the request)."""
    special = {k for k, _, _ in plan.filtered_counts} | {k for k, _, _ in plan.distinct_counts}
    special |= {k for k, _, _, _ in plan.merged_counts}
    fields: set[str] = set()
    for key in plan.root_keys.get("product", ()):
        if key in ("t", "i"):
            continue
        if key in special:
            return None
        fields.add(_field_of(key))
    for owner, _, field, _, _ in plan.computed:
        if owner == "product":
            fields.add(_field_of(field))
    for path in plan.list_keys:
        spec = LISTS[path]
        if spec.root == "product":
            fields.add(spec.key)
        elif spec.root != "seller":
            return None
    return tuple(sorted(fields))


class FactBuilder:
    """Turns a request into the facts the compiled network reads (nothing more).

    The plan is turned into straight-line Python functions (generated once per network), since building
    facts is on the path of every decision. The facts fall in two parts: the context (the request's date
    and the seller, with the seller's lists) and the item (the product, and anything computed from it);
    requests of one seller on one day share the context, so a catalog run asserts it once.
    """

    def __init__(self, plan: FactPlan, conditions: Iterable[Condition] = ()) -> None:
        cats = plan.category_keys
        computed = {(owner, key): _computed(field, op, value) for owner, key, field, op, value in plan.computed}
        consts: dict[str, Any] = {"_put_category": _put_category, "_number": _number}
        filtered = {name: (path, where) for name, path, where in plan.filtered_counts}
        distinct = {name: (path, inc) for name, path, inc in plan.distinct_counts}
        merged = {name: (path, where, merge) for name, path, where, merge in plan.merged_counts}
        seller_keys = plan.root_keys.get("seller", frozenset())
        # The seller fact belongs to the item when one of its counts reads the product.
        seller_reads_item = any(
            (key in distinct and (distinct[key][1] or "seller.").split(".")[0] != "seller")
            or (key in filtered and _reads_beyond(filtered[key][1], ("seller",)))
            or (key in merged and _reads_beyond(merged[key][1], ("seller",)))
            for key in seller_keys
        )
        ctx = [
            "def _context(request):",
            "    req = request.body",
            "    rq = {'t': 'request', 'as_of': req['as_of']}",
        ]
        item = ["def _item(request):", "    req = request.body", "    out = []"]
        for n, key in enumerate(sorted(k for k in plan.root_keys.get("request", ()) if k not in ("t", "i"))):
            if ("request", key) in computed:  # `contains` or `matches` on a request field, worked out here
                consts[f"_g_request_{n}"] = computed["request", key]
                ctx += [f"    v = _g_request_{n}(req)", f"    if v is not None: rq[{key!r}] = v"]
            elif not key.startswith("as_of"):
                ctx += [f"    v = req.get({key!r})", f"    if v is not None: rq[{key!r}] = v"]
        if plan.shifts:
            shifts = plan.shifts

            @functools.lru_cache(maxsize=4096)
            def shifted(day: dt.date) -> tuple[str, ...]:
                return tuple(shift.iso(day) for shift in shifts)

            consts["_shifted"] = shifted
            ctx.append("    sh = _shifted(request.as_of)")
            for n, shift in enumerate(plan.shifts):
                ctx.append(f"    rq[{date_key(shift)!r}] = sh[{n}]")
        ctx.append("    out = [rq]")
        for root in ("seller", "product"):
            lines = item if root == "product" or seller_reads_item else ctx
            keys = sorted(k for k in plan.root_keys.get(root, ()) if k not in ("t", "i"))
            if not keys and "t" not in plan.root_keys.get(root, ()):
                continue
            lines += [f"    o = req.get({root!r}) or {{}}", f"    f = {{'t': {root!r}}}"]
            for n, key in enumerate(keys):
                if key in distinct:  # the distinct main categories of a category list (and of a field)
                    path, inc = distinct[key]
                    consts["_main_categories"] = main_categories
                    also = f"request.value({inc!r})" if inc else "None"
                    lines.append(f"    f[{key!r}] = len(_main_categories(o.get({path.split('.')[1]!r}), {also}))")
                    continue
                if key in merged:  # the counted elements, those close in date counted once
                    path, where, (field, days) = merged[key]
                    consts[f"_p_{root}_{n}"] = _predicate(where)
                    consts["_merged_count"] = merged_count
                    lines.append(
                        f"    f[{key!r}] = _merged_count([request.value({field!r}, e) for e in "
                        f"(o.get({path.split('.')[1]!r}) or ()) if _p_{root}_{n}(e, request)], {days!r})"
                    )
                    continue
                if key in filtered:  # a count of the elements that satisfy a `where`
                    path, where = filtered[key]
                    consts[f"_p_{root}_{n}"] = _predicate(where)
                    lines.append(
                        f"    f[{key!r}] = sum(1 for e in (o.get({path.split('.')[1]!r}) or ()) "
                        f"if _p_{root}_{n}(e, request))"
                    )
                    continue
                consts[f"_g_{root}_{n}"] = computed.get((root, key)) or _getter(key)
                inline = None if (root, key) in computed else _read(key, "o")
                lines += self._put_lines(inline or f"_g_{root}_{n}(o)", key, (root, key) in cats, "    ")
            lines.append("    out.append(f)")
        for path, list_keys in sorted(plan.list_keys.items()):
            spec = LISTS[path]
            lines = ctx if spec.root == "seller" else item
            names = sorted(k for k in list_keys if k not in ("t", "i"))
            lines += [
                f"    for i, e in enumerate((req.get({spec.root!r}) or {{}}).get({spec.key!r}) or ()):",
                f"        f = {{'t': {spec.fact_type!r}, 'i': i}}",
            ]
            if "" in spec.fields:  # a list of plain values
                lines += self._put_lines("e", "v", (path, "v") in cats, "        ")
            else:
                for n, key in enumerate(names):
                    consts[f"_g_{spec.fact_type}_{n}"] = computed.get((path, key)) or _getter(key)
                    inline = None if (path, key) in computed else _read(key, "e")
                    read = inline or f"_g_{spec.fact_type}_{n}(e)"
                    lines += self._put_lines(read, key, (path, key) in cats, "        ")
            lines.append("        out.append(f)")
        ctx.append("    return out")
        item.append("    return out")
        exec("\n".join([*ctx, *item]), consts)  # generated from the compiled plan, no user input
        self.context: Callable[[Request], list[dict[str, Any]]] = consts["_context"]
        self.item: Callable[[Request], list[dict[str, Any]]] = consts["_item"]
        self.item_fields = None if seller_reads_item else _item_fields(plan)
        """The product's fields the item facts are made of, when they are made of nothing else (given the
        context): products equal in these fields have equal item facts. None: they may read more."""
        self.item_key: Callable[[Request], Any]
        self.item_key, self._distinct = _item_key(self.item_fields or ())
        """A hashable key of a request's product in `item_fields` (equal only for values of the same
        types): requests of one context with equal keys have equal item facts (when `item_fields` is set)."""
        self.classes = value_classes(conditions, self.item_fields) if self.item_fields else ()
        """The item fields whose texts the network (its rules' `conditions`) only tests for equality."""
        self._coarse = _item_key(self.item_fields or (), tuple(c.field for c in self.classes))[1]

    def distinct_items(self, run: Sequence[Request], coarse: bool = False) -> tuple[list[Request], list[int]]:
        """For requests of one context: the first of each `item_key`, and the index among those of the one
        each request equals (every request its own when `item_fields` is None).

        `coarse`: texts of a field of `classes` that no condition can tell apart (equal to none of its
        constants and of the context's values it is compared with) count as one, so the network's answer
        is the same for the whole class, but not the values it matched (deciding without proofs only)."""
        if self.item_fields is None:
            return list(run), list(range(len(run)))
        if coarse and self.classes and run:
            return self._coarse(run, tuple(c.known(run[0].body) for c in self.classes))
        return self._distinct(run)

    @staticmethod
    def _put_lines(expr: str, key: str, category: bool, pad: str) -> list[str]:
        if category:
            return [f"{pad}_put_category(f, {key!r}, {expr})"]
        return [
            f"{pad}v = {expr}",
            f"{pad}if v is not None: f[{key!r}] = _number(v) if v.__class__ is float else v",
        ]

    def facts(self, request: Request) -> list[dict[str, Any]]:
        """The facts of one request (ids and the session are added by the runtime)."""
        return [*self.context(request), *self.item(request)]
