"""Request stage: check a request against the request schema, fill in its defaults and derived fields, and
return it typed (`Request`: platform, decision date, body), once, for every later stage."""

from __future__ import annotations

import copy
import datetime as dt
import json
import marshal
import operator
import re
from collections.abc import Callable
from typing import Any

from _policy_engine_json import same as _same

from .._language import schemas
from .._language.semantics import Request
from ..errors import Problem, RequestError

__all__ = [
    "Request",
    "RequestReader",
    "decision_date",
    "normalize_request",
    "own_copy",
    "resolve_pointer",
    "seller_view",
]


def normalize_request(
    raw: Any, file: str = "", as_of: dt.date | str | None = None, platform: str | None = None
) -> Request:
    """The request checked and typed: its body a copy with `as_of` (default: today, UTC), `account_status`
    and the derived fields filled in, its platform and decision date read once.

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
    dated = False  # `as_of` not the request's own: today's date, or the caller's `as_of` over another one
    if as_of is not None:
        day = decision_date(as_of, file)
        dated = req.get("as_of") != day.isoformat()
        req["as_of"] = day.isoformat()
    elif "as_of" not in req:
        day = dt.datetime.now(dt.timezone.utc).date()
        req["as_of"] = day.isoformat()
        dated = True
    else:
        try:
            day = dt.date.fromisoformat(req["as_of"])
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
    given = req.get("seller") or {}
    seller = req["seller"] = seller_view(given)
    if given.get("trademarks") or given.get("authorizations"):
        _check_derived(given, seller, file)
    filled = _FILLED[dated, "account_status" not in given]
    return Request(platform=req["platform"], as_of=day, body=req, filled=filled)


# The values a request did not carry and normalization filled in: (`as_of`, `account_status`) -> pointers.
_FILLED = {
    (today, status): frozenset(p for p, f in (("/as_of", today), ("/seller/account_status", status)) if f)
    for today in (False, True)
    for status in (False, True)
}


_DERIVED_FROM = {
    "owned_by_seller": ("trademarks", "the mark's `owner` and the seller's `legal_name`"),
    "chain_complete": ("authorizations", "the authorization's `level`, `chain` and `grantor`"),
    "chain_sublicensed": ("authorizations", "the authorization's `level` and `chain`"),
}


def _check_derived(given: dict[str, Any], seller: dict[str, Any], file: str) -> None:
    """A derived field the request gives must say what the engine derives: a seller's own system saying a
    mark is not the seller's (or a chain incomplete) must not be overruled into an allow, nor the reverse."""
    found = [
        (i, "owned_by_seller", sent["owned_by_seller"])
        for i, sent in enumerate(given.get("trademarks") or ())
        if "owned_by_seller" in sent
    ]
    found += [
        (i, name, sent[name])
        for i, sent in enumerate(given.get("authorizations") or ())
        if "chain_complete" in sent or "chain_sublicensed" in sent
        for name in ("chain_complete", "chain_sublicensed")
        if name in sent
    ]
    problems = []
    for i, name, value in found:
        field, source = _DERIVED_FROM[name]
        derived = seller[field][i].get(name)
        if value != derived:
            problems.append(
                Problem(
                    file=file,
                    pointer=f"/seller/{field}/{i}/{name}",
                    message=f"{name} is derived from {source}, which give {json.dumps(derived)}; the request says "
                    f"{json.dumps(value)}: give what it is derived from, or leave {name} out",
                    code="PE010",
                )
            )
    if problems:
        raise RequestError(problems)


def seller_view(seller: dict[str, Any]) -> dict[str, Any]:
    """A copy of the seller as the rules read it: `account_status` defaulted to `active`, and the fields
    derived from others filled in (each trademark's `owned_by_seller` from its `owner` and the seller's
    `legal_name`; each authorization's `chain_complete` and `chain_sublicensed` from its `level` and
    `chain`), whatever the request said of them."""
    seller = dict(seller)
    seller.setdefault("account_status", "active")
    if seller.get("authorizations"):
        seller["authorizations"] = [_with_chain(a) for a in seller["authorizations"]]
    if seller.get("trademarks"):
        name = seller.get("legal_name")
        seller["trademarks"] = [
            {**t, "owned_by_seller": t.get("owner") is None or t.get("owner") == name} for t in seller["trademarks"]
        ]
    return seller


class RequestReader:
    """Validates requests in order, like `normalize_request`, noticing runs that share a context.

    A catalog lists many products of one seller: when a request is the same JSON data as the previous
    one in everything but its product (`same`, in C: the JSON types themselves, not subclasses, in the
    same shape, equal texts, numbers of the same type, 1, 1.0 and True apart, and zeros of the same
    sign; no `__eq__` of the request's objects runs, which could call any two values equal), only its
    product is checked, and it joins the previous request's run, taking its normalized context. Each call
    returns the normalized request and its run number; consecutive requests with the same run number
    share the platform, the date, the seller and every other top-level field (their bodies are distinct
    dicts sharing the run's normalized seller, which nothing changes once read).

    Requests are read before any is decided, so what is read is the reader's own copy (`_own`): a caller
    that changes a request's objects once it has handed them over (a generator reusing one seller dict)
    changes neither the requests read before nor the run they are compared with. A request that is not
    plain JSON data (a date object, a dict subclass) is checked alone and starts no run. With
    `copy=False` the requests are taken as they are: for requests nobody else holds (parsed from a file
    or received from another process by the caller), which no one can change while they are read.
    """

    def __init__(self, as_of: dt.date | str | None = None, platform: str | None = None, *, copy: bool = True) -> None:
        self._as_of = as_of
        self._platform = platform
        self._copy = copy
        self._product_ok = schemas.fast_checker("request", "/properties/product")
        self._fields: Callable[[Any], Any] | None = None  # reads the run's fields but the product from a request
        self._values: Any = None  # the run's first request's values of those fields, as `_fields` reads them
        self._ctx: Request | None = None  # its normalized form
        self._keys: tuple[Any, ...] = ()  # the run's first request's keys, in order
        self._size = 0  # the number of fields of the run's first request
        self._joined = False  # whether a second request joined the run (`_values` then share its texts)
        self._run = 0

    def __call__(self, raw: Any, file: str = "") -> tuple[Request, int]:
        ctx, fields = self._ctx, self._fields
        if ctx is not None and fields is not None and type(raw) is dict and len(raw) == self._size:
            try:  # the run's keys, in order, then its fields but the product, compared in C (no key's own
                # `__eq__` or `__hash__` runs: the keys are the run's exact texts before any is looked up)
                same = _same(tuple(raw), self._keys) and _same(fields(raw), self._values)
            except Exception:  # a missing field, or too deep to compare: the full check says which
                same = False
            if same:
                product = raw["product"]
                own_product = (_own_product(product) if self._copy else product) if self._product_ok(product) else None
                if own_product is not None and not self._joined and self._copy:  # compare with copies sharing texts
                    try:
                        self._values, self._joined = _containers_copied(fields(raw)), True
                    except ValueError:  # equal, but not JSON data: the full check says why
                        own_product = None
                if own_product is not None:
                    body = ctx.body.copy()  # the run's seller (shared, never changed), this request's product
                    body["product"] = own_product
                    return ctx.with_body(body), self._run
        self._ctx = self._fields = None
        own = _own(raw) if self._copy else raw
        plain = own is not None  # plain JSON data: it may start a run
        if own is None:  # not only JSON (a date object, a dict subclass): a deep copy all the same, checked alone
            own = _deep_copy(raw)
        req = normalize_request(own, file, as_of=self._as_of, platform=self._platform)
        self._run += 1
        if plain and type(own) is dict and "product" in own:
            rest = own if self._copy else own.copy()
            del rest["product"]
            keys = list(rest)
            if keys:
                self._fields = operator.itemgetter(*keys, keys[0])  # a tuple even for one field
                self._values = self._fields(rest)
            self._ctx, self._keys = req, tuple(raw)
            self._size, self._joined = len(raw), False
        return req, self._run


def _own(value: Any) -> Any:
    """A deep copy of plain JSON data (dicts, lists, texts, numbers, booleans, null: marshal copies them in
    C, keeping types and zero signs); None for anything else."""
    try:
        return marshal.loads(marshal.dumps(value))
    except (ValueError, TypeError):
        return None


def own_copy(value: Any) -> Any:
    """A deep copy of a request, whatever it holds (plain JSON data through `_own`, in C)."""
    own = _own(value)
    return _deep_copy(value) if own is None else own


def _deep_copy(value: Any) -> Any:
    """A deep copy of anything; the value itself when it cannot be copied (refused by the request check)."""
    try:
        return copy.deepcopy(value)
    except Exception:
        return value


def _own_product(product: dict[str, Any]) -> dict[str, Any] | None:
    """`_own` for a checked product: a copy of the dict, with copies of its lists and objects."""
    out = product.copy()
    for value in out.values():  # most products hold none: the copy of the dict is the whole copy
        if type(value) is dict or type(value) is list:
            break
    else:
        return out
    for key, value in out.items():  # replacing values does not resize the dict
        if type(value) is dict or type(value) is list:
            copied = _own(value)
            if copied is None:
                return None
            out[key] = copied
    return out


def _containers_copied(value: Any) -> Any:
    """A copy of every dict, list and tuple in plain JSON data, sharing its texts and numbers (immutable):
    compared with a request that shares them too (a catalog's copies of one seller), equal texts are
    equal at once, and no container of the caller's is ever taken as equal for being the same object."""
    kind = type(value)
    if kind is dict:
        return {k: _containers_copied(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return kind(_containers_copied(v) for v in value)
    if kind in _SCALARS:
        return value
    raise ValueError(f"not JSON data: {kind.__name__}")


_SCALARS = (str, int, float, bool, type(None))


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


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def decision_date(value: Any, file: str) -> dt.date:
    """The decision date given by a caller: a `datetime.date` (or `datetime`) or an ISO date string."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):  # as the request's own `as_of`: not 20240301
        try:
            return dt.date.fromisoformat(value)
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
    if not pointer.startswith("/"):
        raise KeyError(pointer)
    for raw in pointer[1:].split("/"):  # `//x`: the key "" then "x" (each `/` starts one reference token)
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, list):
            value = value[int(part)]
        elif isinstance(value, dict):
            value = value[part]
        else:
            raise KeyError(pointer)
    return value
