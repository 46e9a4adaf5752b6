"""The fixed request vocabulary: which request fields exist, their types, and the list fields.

Policies are type-checked against it at load time, and requests are flattened into facts from it.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["DERIVED", "LISTS", "ROOTS", "VALUES", "ListSpec", "allowed_values", "field_type", "without_derived"]

# Types: string, number, boolean, date, category, scalar (any of string, number, boolean),
# list:string and list:number.
ROOTS: Final[dict[str, dict[str, str]]] = {
    "request": {"platform": "string", "marketplace": "string", "as_of": "date"},
    "seller": {
        "id": "string",
        "legal_name": "string",
        "entity_type": "string",
        "country": "string",
        "account_status": "string",
        "store_type": "string",
        "metrics.*": "number",
    },
    "product": {
        "id": "string",
        "title": "string",
        "description": "string",
        "category": "category",
        "brand": "string",
        "condition": "string",
        "price.amount": "number",
        "price.currency": "string",
        "attributes.*": "scalar",
    },
}


class ListSpec:
    """A list in the request whose elements become facts of their own."""

    __slots__ = ("fact_type", "fields", "key", "path", "root")

    def __init__(self, path: str, fact_type: str, fields: dict[str, str]) -> None:
        self.path = path
        self.root, self.key = path.split(".")
        self.fact_type = fact_type
        self.fields = fields  # "" is the element itself, for lists of plain values


LISTS: Final[dict[str, ListSpec]] = {
    s.path: s
    for s in (
        ListSpec(
            "seller.trademarks",
            "trademark",
            {
                "mark": "string",
                "office": "string",
                "status": "string",
                "mark_type": "string",
                "register": "string",
                "owner": "string",
                "owned_by_seller": "boolean",
                "restricted_flags": "list:string",
                "classes": "list:number",
                "filed_on": "date",
                "registered_on": "date",
                "expires_on": "date",
            },
        ),
        ListSpec(
            "seller.authorizations",
            "authorization",
            {
                "brand": "string",
                "grantor": "string",
                "level": "number",
                "valid_from": "date",
                "valid_to": "date",
                "platforms": "list:string",
                "territories": "list:string",
                "sublicensable": "boolean",
                "document_type": "string",
                "chain_complete": "boolean",
                "chain_sublicensed": "boolean",
            },
        ),
        ListSpec(
            "seller.grants",
            "grant",
            {
                "kind": "string",
                "platform": "string",
                "category": "category",
                "brand": "string",
                "status": "string",
                "basis": "string",
                "granted_on": "date",
                "expires_on": "date",
            },
        ),
        ListSpec(
            "seller.violations",
            "violation",
            {
                "kind": "string",
                "severity": "string",
                "platform": "string",
                "brand": "string",
                "source": "string",
                "occurred_on": "date",
                "status": "string",
            },
        ),
        ListSpec(
            "seller.documents",
            "document",
            {"kind": "string", "brand": "string", "issued_on": "date", "stamped": "boolean"},
        ),
        ListSpec("seller.categories", "seller_category", {"": "category"}),
        ListSpec("seller.commitments", "commitment", {"": "category"}),
        ListSpec("product.certifications", "certification", {"scheme": "string", "valid_to": "date"}),
    )
}


# Element fields the engine derives while normalizing a request (any value given is replaced): they are
# read by policies like the others, but are no part of the request as given (nor of its digest).
DERIVED: Final[dict[str, tuple[str, ...]]] = {
    "seller.trademarks": ("owned_by_seller",),
    "seller.authorizations": ("chain_complete", "chain_sublicensed"),
}


def without_derived(request: dict[str, Any]) -> dict[str, Any]:
    """The request without the fields the engine derives (a copy where anything is removed)."""
    seller = request.get("seller")
    if not isinstance(seller, dict):
        return request
    out = None
    for path, names in DERIVED.items():
        key = path.split(".")[1]
        items = seller.get(key)
        if isinstance(items, list) and any(isinstance(e, dict) and set(names) & e.keys() for e in items):
            out = out or {**seller}
            out[key] = [{k: v for k, v in e.items() if k not in names} if isinstance(e, dict) else e for e in items]
    return request if out is None else {**request, "seller": out}


def field_type(path: str, item: ListSpec | None = None) -> str | None:
    """The type of a field path (`seller.metrics.x`, `item.brand`), or None if the vocabulary has no such field."""
    root, _, rest = path.partition(".")
    if root == "item":
        if item is None:
            return None
        return item.fields.get(rest)
    fields = ROOTS.get(root)
    if fields is None or not rest:
        return None
    if rest in fields:
        return fields[rest]
    head, _, tail = rest.partition(".")
    if tail and "." not in tail and f"{head}.*" in fields:
        return fields[f"{head}.*"]
    return None


# The values a policy may compare a status, kind or type with, by field (`seller.account_status`) or list
# element field (`seller.grants.kind`). Where the request schema has an `enum` the two lists are the same (a
# test keeps them in step) and a request with another value is refused. The kinds of grants, violations and
# documents are open in the request schema (a marketplace may send kinds no policy knows), but a policy may
# compare them only with the kinds listed here: a misspelt kind would otherwise be a condition that never
# holds. `seller.entity_type` is not checked: a comparison with a value it never holds is how a rule that
# never fires is written.
VALUES: Final[dict[str, tuple[str, ...]]] = {
    "seller.account_status": ("active", "warned", "restricted", "frozen", "suspended", "closed"),
    "seller.trademarks.status": ("registered", "pending", "refused", "abandoned", "expired", "cancelled"),
    "seller.trademarks.mark_type": ("word", "design_with_text", "design_only"),
    "seller.trademarks.register": ("principal", "supplemental"),
    "seller.grants.kind": (
        "brand_whitelist",
        "brand_qualification",
        "category_admission",
        "category_approval",
        "brand_approval",
        "brand_registry",
        "holiday_toys",
        "ip_accelerator",
    ),
    "seller.grants.status": ("approved", "pending", "rejected", "revoked", "expired"),
    "seller.grants.basis": ("registered_mark", "pending_mark", "authorization"),
    "seller.violations.kind": ("counterfeit", "trademark", "copyright", "patent", "prohibited_item"),
    "seller.violations.severity": ("general", "serious"),
    "seller.violations.status": ("open", "upheld", "retracted", "expired"),
    "seller.documents.kind": ("purchase_certificate", "invoice", "trademark_certificate", "authorization_letter"),
}


def allowed_values(path: str, item: ListSpec | None = None) -> tuple[str, ...] | None:
    """The values an enumerated field (`seller.account_status`, `item.kind` of an element of `item`) can
    hold, or None for a field whose values are not enumerated."""
    if path.startswith("item."):
        return None if item is None else VALUES.get(f"{item.path}.{path[5:]}")
    return VALUES.get(path)
