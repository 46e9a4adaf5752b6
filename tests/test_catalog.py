"""Catalog runs: consecutive requests of one seller share the seller's facts in the network.

Whatever the order of the requests, each decision equals the one the request gets alone, proofs
included; the shared path is an optimisation a caller can only notice by its speed.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest

from policy_engine import Decision, Engine, ItemError, RequestError
from policy_engine._pipeline import runtime as runtime_module

SELLER: dict[str, Any] = {
    "id": "S-1",
    "entity_type": "enterprise",
    "categories": ["shoes/sneakers", "shoes/boots", "apparel/dresses", "home/garden"],
    "trademarks": [{"mark": "acme", "status": "registered", "mark_type": "word", "classes": [25]}],
    "authorizations": [{"brand": "zeta", "valid_to": "2030-01-01", "platforms": ["aliexpress"]}],
    "grants": [
        {
            "kind": "brand_whitelist",
            "status": "approved",
            "category": "shoes",
            "brand": "acme",
            "expires_on": "2030-01-01",
        }
    ],
}
PRODUCTS: list[dict[str, Any]] = [
    {"id": "P-1", "category": "shoes/sneakers", "brand": "acme"},
    {"id": "P-2", "category": "shoes/sneakers", "brand": "zeta"},
    {"id": "P-3", "category": "books", "brand": None},  # a fourth main category: the advisory
    {"id": "P-4", "category": "home/kitchen", "brand": "acme"},
    {"id": "P-5", "category": "shoes/boots", "brand": "acme"},
    {"id": "P-6", "category": "phone-accessories/data-cables", "brand": "other"},
    {"id": "P-7", "category": "shoes/sneakers", "brand": "acme"},
]


def _request(seller: dict[str, Any], product: dict[str, Any], as_of: str = "2024-06-01") -> dict[str, Any]:
    return {"platform": "aliexpress", "as_of": as_of, "seller": copy.deepcopy(seller), "product": dict(product)}


def _engine_of(tmp_path: Any, policy_id: str, rules: list[dict[str, Any]]) -> Engine:
    """An engine of one AliExpress policy with these rules (each an outcome with its message), in force from 2000."""
    doc = {
        "id": policy_id,
        "version": "1.0.0",
        "platform": "aliexpress",
        "effective_from": "2000-01-01",
        "title": "t",
        "sources": [{"document": "t", "provenance": "article-only"}],
        "rules": [{"provenance": "article-only", "source_refs": [0], **rule} for rule in rules],
    }
    (tmp_path / "p.json").write_text(json.dumps(doc))
    return Engine.from_directory(tmp_path)


def _alone(engine: Engine, requests: list[dict[str, Any]]) -> list[Decision]:
    return [engine.decide(r) for r in requests]


def test_products_of_one_seller_get_the_decisions_each_gets_alone(engine: Engine) -> None:
    catalog = [_request(SELLER, p) for p in PRODUCTS]
    together = engine.decide_many(catalog)
    assert [d.to_dict() for d in together] == [d.to_dict() for d in _alone(engine, catalog)]
    outcomes = {d.request["product"]["id"]: d.outcome for d in together if d.request}
    assert outcomes["P-6"] == "deny" and outcomes["P-1"] == "allow"
    # a count that includes the product's own main category differs from product to product
    advised = {d.request["product"]["id"] for d in together if d.advisories and d.request}
    assert "P-3" in advised and "P-1" not in advised


def test_sellers_interleaved_and_a_change_of_date_in_a_run(engine: Engine) -> None:
    other = {**SELLER, "id": "S-2", "account_status": "closed"}
    catalog = [
        _request(SELLER, PRODUCTS[0]),
        _request(SELLER, PRODUCTS[2]),
        _request(other, PRODUCTS[0]),
        _request(SELLER, PRODUCTS[1]),
        _request(SELLER, PRODUCTS[1], as_of="2031-01-01"),  # the whitelist grant has expired by then
        _request(SELLER, PRODUCTS[0], as_of="2031-01-01"),
        _request(other, PRODUCTS[3]),
    ]
    together = engine.decide_many(catalog)
    assert [d.to_dict() for d in together] == [d.to_dict() for d in _alone(engine, catalog)]
    assert together[2].outcome == "deny"
    assert together[0].outcome == "allow" and together[5].outcome != "allow"


def test_decide_catalog_is_decide_each_on_one_request_per_product(engine: Engine) -> None:
    products = [*PRODUCTS, {"id": "P-bad", "category": ""}]
    got = engine.decide_catalog(SELLER, products, platform="aliexpress", as_of="2024-06-01")
    want = engine.decide_each(
        [{"platform": "aliexpress", "seller": SELLER, "product": p} for p in products], as_of="2024-06-01"
    )
    assert len(got) == len(products)
    assert isinstance(got[-1], ItemError) and got[-1].index == len(products) - 1
    for a, b in zip(got, want, strict=True):
        assert (a.to_dict() if isinstance(a, Decision) else a) == (b.to_dict() if isinstance(b, Decision) else b)


def test_a_seller_equal_only_up_to_type_is_not_taken_for_the_previous_one(engine: Engine) -> None:
    """1 == True in Python, but a boolean where a number belongs is bad input, not the same seller."""
    good = {**SELLER, "metrics": {"refund_rate": 1}}
    bad = {**SELLER, "metrics": {"refund_rate": True}}
    assert good == bad
    with pytest.raises(RequestError) as err:
        engine.decide_many([_request(good, PRODUCTS[0]), _request(bad, PRODUCTS[1])])
    assert any(p.pointer == "/seller/metrics/refund_rate" for p in err.value.problems)
    each = engine.decide_each([_request(good, PRODUCTS[0]), _request(bad, PRODUCTS[1])])
    assert isinstance(each[0], Decision) and isinstance(each[1], ItemError)


@pytest.mark.parametrize(("first", "second"), [(0.0, -0.0), (-0.0, 0.0), (1, 1.0)])
def test_sellers_equal_only_by_python_equality_are_two_runs_each_with_its_own_request(
    engine: Engine, first: float, second: float
) -> None:
    """0.0 == -0.0 and 1 == 1.0, but the JSON differs: each decision carries its own request (its receipt
    digests that request), as deciding it alone does."""
    requests = [
        _request({**SELLER, "metrics": {"refund_rate": value}}, PRODUCTS[0]) for value in (first, second, second)
    ]
    for proofs in (False, True):
        together = engine.decide_many(requests, proofs=proofs)
        alone = [engine.decide(r, proofs=proofs) for r in requests]
        for a, b in zip(together, alone, strict=True):
            assert a.to_dict() == b.to_dict()
            assert repr(a.request["seller"]["metrics"]["refund_rate"]) == repr(
                b.request["seller"]["metrics"]["refund_rate"]
            )
            assert a.receipt == b.receipt


def test_a_bad_product_in_a_run_is_refused_with_its_pointer(engine: Engine) -> None:
    catalog = [_request(SELLER, PRODUCTS[0]), _request(SELLER, {"id": "P-x", "category": "shoes", "brand": 7})]
    with pytest.raises(RequestError) as err:
        engine.decide_many(catalog)
    assert [p.pointer for p in err.value.problems] == ["/product/brand"]


@pytest.fixture
def shared(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of items of each run the network decides with a shared context, in order."""
    items: list[int] = []
    original = runtime_module.Network.run_shared

    def counting(self: runtime_module.Network, context: Any, run: Any, *args: Any) -> Any:
        items.append(len(run))
        return original(self, context, run, *args)

    monkeypatch.setattr(runtime_module.Network, "run_shared", counting)
    return items


def test_the_seller_facts_are_asserted_once_per_run(engine: Engine, shared: list[int]) -> None:
    engine.decide_many([_request(SELLER, p) for p in PRODUCTS * 3])
    assert shared == [len(PRODUCTS) * 3]
    with_numbers = {**SELLER, "metrics": {"refund_rate": 0.01, "dispute_rate": 2}}
    engine.decide_many([_request(with_numbers, p) for p in PRODUCTS])
    assert shared[1:] == [len(PRODUCTS)]


def test_a_count_that_reads_the_product_is_recomputed_for_each_product(tmp_path: Any) -> None:
    """The seller's fact carries a count including the product's category: it belongs to each product."""
    count = {"count": "seller.categories", "distinct": "main_category", "including": "product.category"}
    rule = {"id": "too-many", "when": [{**count, "greater_than": 1}], "outcome": "deny"}
    eng = _engine_of(tmp_path, "t.main-categories", [{**rule, "message": {"en": "too many", "zh": "太多"}}])
    try:
        seller = {"id": "S", "categories": ["shoes/boots"]}
        catalog = [_request(seller, {"category": "shoes/sneakers"}), _request(seller, {"category": "books"})]
        assert [d.outcome for d in eng.decide_many(catalog)] == ["allow", "deny"]
    finally:
        eng.close()


def test_an_engine_fault_in_a_run_fails_only_the_faulty_request(monkeypatch: pytest.MonkeyPatch) -> None:
    eng = Engine.default()
    try:
        original = runtime_module.Network._assert
        calls = {"n": 0}

        def flaky(self: runtime_module.Network, payload: str, *args: Any, **kwargs: Any) -> Any:
            if '"home/kitchen"' in payload:  # only product P-4's facts
                calls["n"] += 1
                raise runtime_module.EngineFault("injected fault")
            return original(self, payload, *args, **kwargs)

        monkeypatch.setattr(runtime_module.Network, "_assert", flaky)
        decisions = eng.decide_many([_request(SELLER, p) for p in PRODUCTS])
        assert calls["n"] >= 1
        faulty = [d for d in decisions if d.error]
        assert [d.request["product"]["id"] for d in faulty if d.request] == ["P-4"]
        assert all(d.outcome == "deny" for d in faulty)
        monkeypatch.undo()
        assert [d.to_dict() for d in decisions if not d.error] == [
            d.to_dict() for d in _alone(eng, [_request(SELLER, p) for p in PRODUCTS if p["id"] != "P-4"])
        ]
    finally:
        eng.close()


def test_products_sharing_the_network_answer_quote_their_own_values(tmp_path: Any) -> None:
    """Products with identical facts share one trace; their messages still quote their own fields."""
    rule = {
        "id": "closed",
        "when": [{"field": "product.category", "under": "shoes"}],
        "outcome": "deny",
        "message": {"en": "{product.title} ({product.id}) is in {product.category}", "zh": "{product.title}"},
        "remedies": [{"code": "move", "en": "Move {product.title}.", "zh": "移动 {product.title}。"}],
    }
    eng = _engine_of(tmp_path, "t.quotes", [rule])
    try:
        products = [{"id": f"P{k}", "title": title, "category": "shoes/boots"} for k, title in enumerate("aab")]
        for proofs in (False, True):
            decisions = eng.decide_many([_request({"id": "S"}, p) for p in products], proofs=proofs)
            assert [d.reasons[0].message["en"] for d in decisions] == [
                "a (P0) is in shoes/boots",
                "a (P1) is in shoes/boots",
                "b (P2) is in shoes/boots",
            ]
            assert [d.remedies[0].message["zh"] for d in decisions] == ["移动 a。", "移动 a。", "移动 b。"]
    finally:
        eng.close()


def test_products_equal_in_what_the_rules_read_are_decided_once_per_run(tmp_path: Any, shared: list[int]) -> None:
    """Products that differ only in fields no rule reads (ids, titles) get their facts built and decided
    once per run, and each decision is still the one the product gets alone, quoting its own values."""
    rule = {
        "id": "closed",
        "when": [{"field": "product.category", "under": "shoes"}, {"field": "product.brand", "not_equals": "acme"}],
        "outcome": "deny",
        "message": {"en": "{product.title} ({product.id}) by {product.brand}", "zh": "{product.id}"},
    }
    eng = _engine_of(tmp_path, "t.once", [rule])
    try:
        products = [
            {"id": f"P{k}", "title": f"t{k}", "category": category, "brand": brand}
            for k, (category, brand) in enumerate(
                [("shoes/boots", "zeta"), ("shoes/boots", "zeta"), ("shoes/boots", "acme"), ("books", "zeta")] * 3
            )
        ]
        products.append({"id": "P-no-brand", "category": "shoes/boots"})
        products.append({"id": "P-null-brand", "category": "shoes/boots", "brand": None})
        requests = [_request({"id": "S"}, p) for p in products]
        for proofs in (False, True):
            shared.clear()
            together = eng.decide_many(requests, proofs=proofs)
            assert shared == [5]  # zeta boots, acme boots, zeta books, boots without a brand, with a null one
            alone = [eng.decide(r, proofs=proofs) for r in requests]
            assert [d.to_dict() for d in together] == [d.to_dict() for d in alone]
        assert [d.outcome for d in together[:4]] == ["deny", "deny", "allow", "allow"]
        assert together[1].reasons[0].message["en"] == "t1 (P1) by zeta"
    finally:
        eng.close()


@pytest.mark.parametrize(
    ("conditions", "classes"),
    [
        ([{"field": "product.brand", "in": ["acme", "zeta"]}], {"brand": ({"acme", "zeta"}, set())}),
        (
            [
                {"some": "seller.trademarks", "where": [{"field": "item.mark", "equals": {"field": "product.brand"}}]},
                {"field": "product.brand", "exists": True},
                {"field": "product.category", "not_equals": "books"},
            ],
            {
                "brand": (set(), {("seller.trademarks", "item.mark")}),
                "category": ({"books"}, set()),
            },
        ),
        (
            [{"field": "product.brand", "equals": {"field": "seller.legal_name"}}],
            {"brand": (set(), {(None, "seller.legal_name")})},
        ),
        ([{"field": "product.brand", "contains": "acme"}], {}),  # tells texts apart by their content
        ([{"field": "product.category", "under": "shoes"}], {}),
        ([{"field": "product.brand", "equals": {"field": "product.title"}}], {}),  # both read from the product
        (
            [{"field": "product.brand", "matches": "a.*"}, {"field": "product.category", "in": ["x"]}],
            {"category": ({"x"}, set())},
        ),
    ],
)
def test_fields_tested_for_equality_only_are_value_classes(
    tmp_path: Any, conditions: list[Any], classes: dict[str, Any]
) -> None:
    rule = {"id": "r", "when": conditions, "outcome": "review", "message": {"en": "m", "zh": "m"}}
    eng = _engine_of(tmp_path, "t.classes", [rule])
    try:
        builder = eng._prepared("aliexpress", dt.date(2024, 6, 1)).builder
        found = {c.field: (set(c.constants), set(c.reads)) for c in builder.classes}
        assert found == classes
    finally:
        eng.close()


def test_a_value_whose_comparison_fails_is_bad_input_not_a_crash(engine: Engine) -> None:
    class Odd:
        def __eq__(self, other: object) -> bool:
            raise TypeError("no comparison")

        __hash__ = object.__hash__

    first = _request(SELLER, PRODUCTS[0])
    second = _request(SELLER, PRODUCTS[1])
    second["seller"]["id"] = Odd()
    each = engine.decide_each([first, second])
    assert isinstance(each[0], Decision) and isinstance(each[1], ItemError)
    assert any(p.pointer == "/seller/id" for p in each[1].problems)


def test_decisions_of_other_days_share_their_fields_but_not_their_date(tmp_path: Any) -> None:
    """Without proofs, decisions equal in all but their request and date share one set of fields: each still
    carries its own date, and a message that quotes the date quotes its own."""
    quotes = {"en": "closed as of {as_of}", "zh": "{as_of}"}
    rules = [
        {
            "id": "quotes",
            "when": [{"field": "product.category", "under": "shoes"}],
            "outcome": "deny",
            "message": quotes,
        },
        {
            "id": "plain",
            "when": [{"field": "product.category", "under": "books"}],
            "outcome": "deny",
            "message": {"en": "closed", "zh": "closed"},
        },
    ]
    eng = _engine_of(tmp_path, "t.dates", rules)
    try:
        days = ["2024-06-01", "2024-06-02", "2024-06-01", "2025-01-31"]
        requests = [
            _request({"id": f"S{k}"}, {"id": "P", "category": category}, as_of=day)
            for k, day in enumerate(days)
            for category in ("shoes/boots", "books")
        ]
        together = eng.decide_many(requests, proofs=False)
        assert [d.as_of for d in together] == [day for day in days for _ in range(2)]
        assert [d.reasons[0].message["en"] for d in together[::2]] == [f"closed as of {day}" for day in days]
        assert [d.to_dict() for d in together] == [d.to_dict() for d in eng.decide_each(requests, proofs=False)]
        assert [d.to_dict() for d in together] == [eng.decide(r, proofs=False).to_dict() for r in requests]
    finally:
        eng.close()


def test_a_caller_changing_its_objects_between_requests_changes_no_decision(engine: Engine) -> None:
    """`decide_many` reads every request before deciding any: a generator that reuses one seller dict and
    one product dict, changing them between requests (the account closed, a category added to a nested
    list, another product), gets for each request the decision that request had when it was handed over,
    not the run of the first nor the values of the last."""
    expected = {
        proofs: [engine.decide(r, proofs=proofs).to_dict() for r in _changing(copied=True)] for proofs in (True, False)
    }
    assert {"allow", "deny"} <= {d["outcome"] for d in expected[False]}
    for proofs in (True, False):
        assert [d.to_dict() for d in engine.decide_many(_changing(), proofs=proofs)] == expected[proofs]
        assert [d.to_dict() for d in engine.decide_each(_changing(), proofs=proofs)] == expected[proofs]


def _changing(copied: bool = False) -> Any:
    """Requests made from one seller dict and one product dict, changed after each is handed over (each
    handed over as a copy with `copied`)."""
    seller, product = copy.deepcopy(SELLER), dict(PRODUCTS[0])
    steps = [("account_status", "active"), ("account_status", "closed"), ("account_status", "active")]
    steps += [("categories", "toys"), ("categories", "books"), ("categories", "garden")]
    for n, (field, value) in enumerate(steps):
        if field == "categories":
            seller["categories"].append(value)  # the same nested list, longer
        else:
            seller[field] = value
        product.update(PRODUCTS[n % len(PRODUCTS)])
        request = {"platform": "aliexpress", "as_of": "2024-06-01", "seller": seller, "product": product}
        yield copy.deepcopy(request) if copied else request


def test_a_request_whose_values_only_compare_equal_is_checked_alone(engine: Engine) -> None:
    """A value whose `==` says equal to anything (not JSON) after a run's first request: an ItemError in its
    place, as alone, not an exception out of the call nor the run's decision."""
    from unittest import mock

    class Text(str):
        pass

    first = _request(SELLER, PRODUCTS[0])
    results = engine.decide_each([first, {**first, "seller": mock.ANY}, first])
    assert [type(r).__name__ for r in results] == ["Decision", "ItemError", "Decision"]
    text_id = {**first, "seller": {**first["seller"], "id": Text(first["seller"]["id"])}}
    with pytest.raises(RequestError):
        engine.decide(text_id)
    results = engine.decide_each([first, text_id, first, first])
    assert [type(r).__name__ for r in results] == ["Decision", "ItemError", "Decision", "Decision"]


def test_requests_the_engine_parsed_itself_are_read_without_a_copy_and_left_unchanged(engine: Engine) -> None:
    """Replay, the CLI and the worker processes decide requests they parsed themselves (`owned`): read as
    they are, with the decisions of the copying path, proofs included, and not one of them changed (the run's
    comparison values are taken without the product, from a copy of the request's top level only)."""
    sellers = [SELLER, {**SELLER, "account_status": "closed"}, SELLER]
    requests = [_request(s, p, as_of) for s in sellers for as_of in ("2024-06-01", "2031-01-01") for p in PRODUCTS]
    snapshot = json.dumps(requests, sort_keys=True)
    for proofs in (True, False):
        expected = [d.to_dict() for d in engine.decide_each(requests, proofs=proofs)]  # type: ignore[union-attr]
        got = engine._decide_each(requests, None, proofs, owned=True)
        assert [d.to_dict() for d in got] == expected  # type: ignore[union-attr]
        assert {d["outcome"] for d in expected} >= {"allow", "deny"}
        assert json.dumps(requests, sort_keys=True) == snapshot
        assert all(d.request["product"] is r["product"] for d, r in zip(got, requests, strict=True))  # type: ignore[union-attr,index]


def test_requests_holding_date_objects_are_copied_too(engine: Engine) -> None:
    """A request with a `datetime.date` (accepted in date fields) is not plain JSON, so it starts no run, but
    it is still read as a copy: a generator reusing its dicts gets each request's own decision, every path,
    and a decision's receipt does not follow the caller's later changes."""

    def dated() -> Any:
        for request in _changing():
            yield {**request, "as_of": dt.date(2024, 6, 1)}

    expected = [engine.decide(r, proofs=False).to_dict() for r in _changing(copied=True)]
    assert {"allow", "deny"} <= {d["outcome"] for d in expected}
    assert [d.to_dict() for d in engine.decide_many(dated(), proofs=False)] == expected
    assert [d.to_dict() for d in engine.decide_each(dated(), proofs=False)] == expected  # type: ignore[union-attr]
    request = {**_request(SELLER, PRODUCTS[0]), "as_of": dt.date(2024, 6, 1)}
    for decision in (engine.decide(request), *engine.decide_everywhere(request).values()):
        digest = decision.receipt.request_digest
        request["product"]["category"] = "books"
        request["seller"]["categories"].append("toys")
        assert decision.receipt.request_digest == digest
        request = {**_request(SELLER, PRODUCTS[0]), "as_of": dt.date(2024, 6, 1)}
