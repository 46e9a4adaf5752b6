"""Requests: validation against the request schema, defaults, and flattening into engine facts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from . import schemas
from .compile import CATEGORY_LEVELS, FactPlan, _date_key, _level_key
from .errors import Problem, RequestError
from .vocab import LISTS

__all__ = ["FactBuilder", "normalize_request", "resolve_pointer"]


def normalize_request(
    raw: Any, file: str = "", as_of: dt.date | None = None, platform: str | None = None
) -> dict[str, Any]:
    """A validated copy of the request with `as_of` (default: today, UTC) and `account_status` filled in."""
    if isinstance(raw, dict) and platform is not None:
        raw = {**raw, "platform": platform}
    if not schemas.fast_checker("request")(raw):
        raise RequestError(
            schemas.validate("request", raw, file)
            or [Problem(file, "", "the request does not match schemas/request.json")]
        )
    req = dict(raw)
    if as_of is not None:
        req["as_of"] = as_of.isoformat()
    elif "as_of" not in req:
        req["as_of"] = dt.datetime.now(dt.timezone.utc).date().isoformat()
    else:
        try:
            dt.date.fromisoformat(req["as_of"])
        except ValueError as exc:
            raise RequestError([Problem(file, "/as_of", f"{req['as_of']!r} is not a calendar date: {exc}")]) from None
    seller = dict(req.get("seller") or {})
    seller.setdefault("account_status", "active")
    req["seller"] = seller
    return req


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


def _levels(category: str) -> Iterator[tuple[int, str]]:
    parts = category.split("/")
    for i in range(len(parts)):
        yield i, "/".join(parts[: i + 1])


class FactBuilder:
    """Turns a request into the facts the compiled network reads (nothing more)."""

    def __init__(self, plan: FactPlan) -> None:
        self.shifts = plan.shifts
        cats = plan.category_keys
        self.roots: list[tuple[str, list[tuple[str, Callable[[dict[str, Any]], Any], bool]]]] = []
        for root in ("seller", "product"):
            keys = sorted(k for k in plan.root_keys.get(root, ()) if k not in ("t", "q", "i"))
            if keys or "t" in plan.root_keys.get(root, ()):
                self.roots.append((root, [(k, _getter(k), (root, k) in cats) for k in keys]))
        self.request_keys = sorted(
            k for k in plan.root_keys.get("request", ()) if k not in ("t", "q", "i") and not k.startswith("as_of")
        )
        self.lists: list[tuple[str, str, str, list[tuple[str, Callable[[dict[str, Any]], Any], bool]]]] = []
        for path, list_keys in sorted(plan.list_keys.items()):
            spec = LISTS[path]
            names = sorted(k for k in list_keys if k not in ("t", "q", "i"))
            self.lists.append(
                (spec.root, spec.key, spec.fact_type, [(k, _getter(k), (path, k) in cats) for k in names])
            )

    @staticmethod
    def _put(fact: dict[str, Any], key: str, value: Any, category: bool) -> None:
        if category:
            # Every level is present, padded with "" (never a category), even for a missing value: durable_rules
            # fails on joins to a missing property, and `not under` then needs no "or missing" branch.
            levels = dict(_levels(value)) if isinstance(value, str) else {}
            for i in range(CATEGORY_LEVELS):
                fact[_level_key(key, i)] = levels.get(i, "")
            fact[key + "__d"] = len(levels) - 1
        if value is not None:
            fact[key] = value

    def facts(self, req: dict[str, Any]) -> list[dict[str, Any]]:
        """The facts of one request (ids and the session are added by the runtime)."""
        as_of = req["as_of"]
        rq: dict[str, Any] = {"t": "request", "as_of": as_of}
        for key in self.request_keys:
            if req.get(key) is not None:
                rq[key] = req[key]
        if self.shifts:
            day = dt.date.fromisoformat(as_of)
            for shift in self.shifts:
                rq[_date_key(shift)] = shift.apply(day).isoformat()
        out = [rq]
        for root, fields in self.roots:
            obj = req.get(root) or {}
            fact: dict[str, Any] = {"t": root}
            for key, get, cat in fields:
                self._put(fact, key, get(obj), cat)
            out.append(fact)
        for root, key, fact_type, fields in self.lists:
            for i, element in enumerate((req.get(root) or {}).get(key) or ()):
                fact = {"t": fact_type, "i": i}
                if isinstance(element, dict):
                    for k, get, cat in fields:
                        self._put(fact, k, get(element), cat)
                else:
                    self._put(fact, "v", element, any(k == "v" and cat for k, _, cat in fields))
                out.append(fact)
        return out
