"""Requests: validation against the request schema, defaults, and flattening into engine facts."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterator
from typing import Any

from .._language import schemas
from .._language.model import AllOf, AnyOf, AsOf, Compare, Condition, FieldRef, Literal, Not
from .._language.operators import operator
from .._language.semantics import MISSING, compare, main_categories, merged_count
from .._language.vocab import LISTS
from ..errors import Problem, RequestError
from .facts import CATEGORY_LEVELS, FactPlan, date_key, level_key

__all__ = ["FactBuilder", "RequestReader", "normalize_request", "resolve_pointer"]


def normalize_request(
    raw: Any, file: str = "", as_of: dt.date | str | None = None, platform: str | None = None
) -> dict[str, Any]:
    """A validated copy of the request with `as_of` (default: today, UTC) and `account_status` filled in.

    Anything the rule engine could not compare faithfully is refused with a RequestError naming the
    field: numbers that are not finite, integers that are not exactly a double, text that is not
    valid Unicode, lists longer than the schema allows, nesting deeper than the schema needs.
    """
    if isinstance(raw, dict) and platform is not None:
        raw = {**raw, "platform": platform}
    if not schemas.fast_checker("request")(raw):
        dated = _dates_as_text(raw)
        if dated is not raw and schemas.fast_checker("request")(dated):
            return normalize_request(dated, file, as_of, platform)
        problems = schemas.value_problems(dated, file)
        if not any(p.message == schemas.TOO_DEEP for p in problems):  # too deep for the schema validator
            problems += schemas.validate("request", dated, file)
        raise RequestError(
            problems
            or [Problem(file=file, pointer="", message="the request does not match schemas/request.json", code="PE010")]
        )
    req = dict(raw)
    if as_of is not None:
        req["as_of"] = _as_of(as_of, file)
    elif "as_of" not in req:
        req["as_of"] = dt.datetime.now(dt.timezone.utc).date().isoformat()
    else:
        try:
            dt.date.fromisoformat(req["as_of"])
        except ValueError as exc:
            raise RequestError(
                [
                    Problem(
                        file=file,
                        pointer="/as_of",
                        message=f"{req['as_of']!r} is not a calendar date: {exc}",
                        code="PE010",
                    )
                ]
            ) from None
    seller = dict(req.get("seller") or {})
    seller.setdefault("account_status", "active")
    if seller.get("authorizations"):
        seller["authorizations"] = [_with_chain(a) for a in seller["authorizations"]]
    if seller.get("trademarks"):
        name = seller.get("legal_name")
        seller["trademarks"] = [
            {**t, "owned_by_seller": t.get("owner") is None or t.get("owner") == name} for t in seller["trademarks"]
        ]
    req["seller"] = seller
    return req


def _number_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], type]]:
    """Where a value holds numbers or booleans, and their types (`==` confuses them: True == 1 == 1.0)."""
    if isinstance(value, dict):
        for k, x in value.items():
            yield from _number_paths(x, (*path, k))
    elif isinstance(value, list):
        for i, x in enumerate(value):
            yield from _number_paths(x, (*path, i))
    elif isinstance(value, (int, float)):
        yield path, type(value)


class RequestReader:
    """Validates requests in order, like `normalize_request`, noticing runs that share a context.

    A catalog lists many products of one seller: when a request equals the previous one in everything
    but its product (`==`, with numbers and booleans of the same types: True == 1 in Python, not in
    JSON), only its product is checked, and it joins the previous request's run, taking its normalized
    context. Each call returns the normalized request and its run number; consecutive requests with the
    same run number share the platform, the date, the seller and every other top-level field.
    """

    def __init__(self, as_of: dt.date | str | None = None, platform: str | None = None) -> None:
        self._as_of = as_of
        self._platform = platform
        self._product_ok = schemas.fast_checker("request", "/properties/product")
        self._rest: dict[str, Any] | None = None  # the previous raw request, valid, without its product
        self._numbers: list[tuple[tuple[Any, ...], type]] | None = None  # its numbers and booleans, typed
        self._ctx: dict[str, Any] | None = None  # its normalized form
        self._seller: dict[str, Any] = {}  # the normalized seller
        self._run = 0

    def _same_context(self, raw: Any, rest: dict[str, Any]) -> bool:
        if type(raw) is not dict or "product" not in raw:
            return False
        other = raw.copy()
        del other["product"]
        try:
            if other != rest:  # one comparison in C; an identical value is equal at once
                return False
        except Exception:  # a value whose == fails is not JSON: the full check refuses it with its pointer
            return False
        numbers = self._numbers
        if numbers is None:  # once per run, when a second request joins it
            numbers = self._numbers = [found for k, x in rest.items() for found in _number_paths(x, (k,))]
        for path, kind in numbers:  # equal containers: every path exists in both
            value = other
            for key in path:
                value = value[key]
            if type(value) is not kind:
                return False
        return True

    def __call__(self, raw: Any, file: str = "") -> tuple[dict[str, Any], int]:
        rest, ctx = self._rest, self._ctx
        if rest is not None and ctx is not None and self._same_context(raw, rest):
            product = raw["product"]
            if self._product_ok(product):
                req = ctx.copy()
                req["seller"] = self._seller.copy()
                req["product"] = product
                return req, self._run
        self._rest = self._ctx = None
        req = normalize_request(raw, file, as_of=self._as_of, platform=self._platform)
        self._run += 1
        if type(raw) is dict and "product" in raw:
            rest = raw.copy()
            del rest["product"]
            self._rest, self._ctx, self._seller = rest, req, req["seller"]
            self._numbers = None
        return req, self._run


def _with_chain(auth: dict[str, Any]) -> dict[str, Any]:
    """A copy of an authorization with the derived `chain_complete` and `chain_sublicensed`.

    The chain is complete when `chain` holds the letters from the brand owner down (`level` minus 1 of
    them, when `level` is given), each received by the grantor of the next, the last by this one's grantor.
    Neither is derived when neither `level` nor `chain` is given (the chain is unknown).
    """
    out = {k: v for k, v in auth.items() if k not in ("chain_complete", "chain_sublicensed")}
    level, chain = auth.get("level"), auth.get("chain") or []
    if level is None and not chain:
        return out
    grantors = [link.get("grantor") for link in chain[1:]] + [auth.get("grantor")]
    linked = all(link.get("grantee") == g and g is not None for link, g in zip(chain, grantors, strict=False))
    out["chain_complete"] = linked and (level is None or level == len(chain) + 1)
    out["chain_sublicensed"] = all(link.get("sublicensable") is True for link in chain)
    return out


def _date_text(value: dt.date) -> str:
    return (value.date() if isinstance(value, dt.datetime) else value).isoformat()


def _dates_as_text(value: Any, schema: Any = None) -> Any:
    """The request with each `datetime.date` (or `datetime`) of a date field as ISO text; itself if it has none.

    Only fields the request schema types as dates are converted; a date anywhere else stays, and is
    refused by the schema check with its JSON pointer.
    """
    node = schemas.load_schema("request") if schema is None else schema
    while isinstance(node, dict) and "$ref" in node:
        node = schemas.load_schema("request")["$defs"][node["$ref"].rpartition("/")[2]]
    if isinstance(value, dt.date):
        return _date_text(value) if node.get("format") == "date" else value
    if isinstance(value, dict) and isinstance(node.get("properties"), dict):
        props = node["properties"]
        changed = {k: _dates_as_text(v, props[k]) for k, v in value.items() if isinstance(k, str) and k in props}
        if all(changed[k] is value[k] for k in changed):
            return value
        return {**value, **changed}
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        items = [_dates_as_text(v, node["items"]) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value


def _as_of(value: Any, file: str) -> str:
    """The decision date given by a caller: a `datetime.date` or an ISO date string."""
    if isinstance(value, dt.date):
        return _date_text(value)
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise RequestError(
        [
            Problem(
                file=file,
                pointer="/as_of",
                message=f"{value!r} is not a date; expected a datetime.date or YYYY-MM-DD",
                code="PE010",
            )
        ]
    )


def resolve_pointer(doc: Any, pointer: str) -> Any:
    """The value at a JSON pointer (RFC 6901); KeyError if there is none."""
    value = doc
    if not pointer:
        return value
    for raw in pointer.lstrip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, list):
            value = value[int(part)]
        elif isinstance(value, dict):
            value = value[part]
        else:
            raise KeyError(pointer)
    return value


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


def _path_value(path: str, element: Any, req: dict[str, Any]) -> Any:
    parts = path.split(".")
    value: Any = element if parts[0] == "item" else (req if parts[0] == "request" else req.get(parts[0]))
    for part in parts[1:]:
        value = value.get(part) if isinstance(value, dict) else None
    if value is None or value == []:
        return MISSING
    return tuple(value) if isinstance(value, list) else value


def _predicate(conds: tuple[Condition, ...]) -> Callable[[Any, dict[str, Any]], bool]:
    """A Python predicate over one list element (and the request) for the `where` of a filtered count."""

    def one(cond: Condition) -> Callable[[Any, dict[str, Any]], bool]:
        if isinstance(cond, Not):
            inner = one(cond.condition)
            return lambda e, r: not inner(e, r)
        if isinstance(cond, (AnyOf, AllOf)):
            parts = [one(c) for c in cond.conditions]
            if isinstance(cond, AnyOf):
                return lambda e, r: any(p(e, r) for p in parts)
            return lambda e, r: all(p(e, r) for p in parts)
        assert isinstance(cond, Compare)
        path, op, operand = cond.path, cond.op, cond.operand
        if isinstance(operand, FieldRef):
            other = operand.path
            return lambda e, r: compare(op, _path_value(path, e, r), _path_value(other, e, r))
        if isinstance(operand, AsOf):
            shift = operand
            return lambda e, r: compare(op, _path_value(path, e, r), shift.iso(dt.date.fromisoformat(r["as_of"])))
        value = operand.value if isinstance(operand, Literal) else True
        return lambda e, r: compare(op, _path_value(path, e, r), value)

    checks = [one(c) for c in conds]
    return lambda e, r: all(check(e, r) for check in checks)


def _computed(field_key: str, op: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    """A getter for an operator the network reads as a stored result: `op value` on the field, or None
    (nothing stored) when the field is missing."""
    read = _getter(field_key)
    meaning = operator(op).meaning

    def result(obj: dict[str, Any]) -> Any:
        v = read(obj)
        return None if v is None else meaning(v, value)

    return result


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


class FactBuilder:
    """Turns a request into the facts the compiled network reads (nothing more).

    The plan is turned into straight-line Python functions (generated once per network), since building
    facts is on the path of every decision. The facts fall in two parts: the context (the request's date
    and the seller, with the seller's lists) and the item (the product, and anything computed from it);
    requests of one seller on one day share the context, so a catalog run asserts it once.
    """

    def __init__(self, plan: FactPlan) -> None:
        cats = plan.category_keys
        computed = {(owner, key): _computed(field, op, value) for owner, key, field, op, value in plan.computed}
        consts: dict[str, Any] = {"_put_category": _put_category, "_date": dt.date.fromisoformat}
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
        ctx = ["def _context(req):", "    as_of = req['as_of']", "    rq = {'t': 'request', 'as_of': as_of}"]
        item = ["def _item(req):", "    out = []"]
        for key in sorted(k for k in plan.root_keys.get("request", ()) if k not in ("t", "i")):
            if not key.startswith("as_of"):
                ctx += [f"    v = req.get({key!r})", f"    if v is not None: rq[{key!r}] = v"]
        if plan.shifts:
            shifts = plan.shifts

            @functools.lru_cache(maxsize=4096)
            def shifted(as_of: str) -> tuple[str, ...]:
                day = dt.date.fromisoformat(as_of)
                return tuple(shift.iso(day) for shift in shifts)

            consts["_shifted"] = shifted
            ctx.append("    sh = _shifted(as_of)")
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
                    also = f"_path_value({inc!r}, None, req)" if inc else "None"
                    consts["_path_value"] = _path_value
                    lines.append(f"    f[{key!r}] = len(_main_categories(o.get({path.split('.')[1]!r}), {also}))")
                    continue
                if key in merged:  # the counted elements, those close in date counted once
                    path, where, (field, days) = merged[key]
                    consts[f"_p_{root}_{n}"] = _predicate(where)
                    consts["_merged_count"] = merged_count
                    consts["_path_value"] = _path_value
                    lines.append(
                        f"    f[{key!r}] = _merged_count([_path_value({field!r}, e, req) for e in "
                        f"(o.get({path.split('.')[1]!r}) or ()) if _p_{root}_{n}(e, req)], {days!r})"
                    )
                    continue
                if key in filtered:  # a count of the elements that satisfy a `where`
                    path, where = filtered[key]
                    consts[f"_p_{root}_{n}"] = _predicate(where)
                    lines.append(
                        f"    f[{key!r}] = sum(1 for e in (o.get({path.split('.')[1]!r}) or ()) "
                        f"if _p_{root}_{n}(e, req))"
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
        self.context: Callable[[dict[str, Any]], list[dict[str, Any]]] = consts["_context"]
        self.item: Callable[[dict[str, Any]], list[dict[str, Any]]] = consts["_item"]

    @staticmethod
    def _put_lines(expr: str, key: str, category: bool, pad: str) -> list[str]:
        if category:
            return [f"{pad}_put_category(f, {key!r}, {expr})"]
        return [f"{pad}v = {expr}", f"{pad}if v is not None: f[{key!r}] = v"]

    def facts(self, req: dict[str, Any]) -> list[dict[str, Any]]:
        """The facts of one request (ids and the session are added by the runtime)."""
        return [*self.context(req), *self.item(req)]
