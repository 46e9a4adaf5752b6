"""Request fields the engine derives (authorization chains, trademark ownership) and counts that merge
elements close in date: their meaning, and the compiled network agreeing with the reference evaluator."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_engine._language.reference import _merged
from policy_engine._language.semantics import merged_count
from policy_engine._pipeline.request import normalize_request
from policy_engine.errors import RequestError


def _auth(**fields: Any) -> dict[str, Any]:
    req = {
        "platform": "wish",
        "as_of": "2024-01-01",
        "seller": {"authorizations": [{"brand": "B", **fields}]},
        "product": {"category": "shoes/running"},
    }
    return normalize_request(req, platform="wish").body["seller"]["authorizations"][0]  # type: ignore[no-any-return]


OWNER_TO_B = {"grantor": "Owner", "grantee": "B", "sublicensable": True}


@pytest.mark.parametrize(
    ("fields", "complete", "sublicensed"),
    [
        ({"level": 1}, True, True),
        ({"level": 2, "grantor": "B"}, False, True),
        ({"level": 2, "grantor": "B", "chain": [OWNER_TO_B]}, True, True),
        ({"level": 2, "grantor": "B", "chain": [{**OWNER_TO_B, "sublicensable": False}]}, True, False),
        ({"level": 2, "grantor": "B", "chain": [{"grantor": "Owner", "grantee": "B"}]}, True, False),
        ({"level": 2, "grantor": "C", "chain": [OWNER_TO_B]}, False, True),
        ({"level": 3, "grantor": "B", "chain": [OWNER_TO_B]}, False, True),
        ({"grantor": "B", "chain": [OWNER_TO_B]}, True, True),
        ({"level": 2, "chain": [OWNER_TO_B]}, False, True),
        (
            {
                "level": 3,
                "grantor": "C",
                "chain": [OWNER_TO_B, {"grantor": "B", "grantee": "C", "sublicensable": True}],
            },
            True,
            True,
        ),
    ],
)
def test_chain_complete_and_sublicensed(fields: dict[str, Any], complete: bool, sublicensed: bool) -> None:
    auth = _auth(**fields)
    assert (auth["chain_complete"], auth["chain_sublicensed"]) == (complete, sublicensed)


def test_chain_unknown_without_level_or_chain() -> None:
    auth = _auth(grantor="B")
    assert "chain_complete" not in auth and "chain_sublicensed" not in auth


@pytest.mark.parametrize(
    ("fields", "pointers"),
    [
        ({"grantor": "B", "chain_complete": True, "chain_sublicensed": True}, ["chain_complete", "chain_sublicensed"]),
        ({"level": 2, "grantor": "B", "chain_complete": True}, ["chain_complete"]),  # no letter above it
        (
            {"level": 2, "grantor": "B", "chain": [{**OWNER_TO_B, "sublicensable": False}], "chain_sublicensed": True},
            ["chain_sublicensed"],
        ),
    ],
)
def test_a_given_chain_field_that_contradicts_its_derivation_is_refused(
    fields: dict[str, Any], pointers: list[str]
) -> None:
    """The seller's own system saying a chain is complete, where the letters on record say otherwise, is not
    taken at its word (nor overruled in silence): the request is refused at the field."""
    with pytest.raises(RequestError) as info:
        _auth(**fields)
    assert [p.pointer for p in info.value.problems] == [f"/seller/authorizations/0/{name}" for name in pointers]
    assert "give what it is derived from, or leave" in info.value.problems[0].message


def test_given_derived_fields_that_agree_are_accepted() -> None:
    """A decided request sent again (its derived fields filled in) decides the same."""
    auth = _auth(level=2, grantor="B", chain=[OWNER_TO_B], chain_complete=True, chain_sublicensed=True)
    assert (auth["chain_complete"], auth["chain_sublicensed"]) == (True, True)
    req = {
        "platform": "wish",
        "seller": {"legal_name": "S Ltd", "trademarks": [{"mark": "B", "status": "registered", "owner": "S Ltd"}]},
        "product": {"category": "shoes/running"},
    }
    body = normalize_request(req).body
    assert normalize_request(body).body == body


def test_owned_by_seller() -> None:
    def owned(seller: dict[str, Any]) -> bool:
        req = {"platform": "wish", "seller": {**seller}, "product": {"category": "shoes/running"}}
        marks = normalize_request(req).body["seller"]["trademarks"]
        return bool(marks[0]["owned_by_seller"])

    mark = {"mark": "B", "status": "registered"}
    assert owned({"trademarks": [mark]})
    assert owned({"legal_name": "S Ltd", "trademarks": [{**mark, "owner": "S Ltd"}]})
    assert not owned({"legal_name": "S Ltd", "trademarks": [{**mark, "owner": "Other Ltd"}]})
    assert not owned({"trademarks": [{**mark, "owner": "Other Ltd"}]})
    assert owned({"trademarks": [{**mark, "owned_by_seller": True}]})
    with pytest.raises(RequestError) as info:  # the seller's system says not its own: not overruled into owned
        owned({"trademarks": [{**mark, "owned_by_seller": False}]})
    assert [p.pointer for p in info.value.problems] == ["/seller/trademarks/0/owned_by_seller"]


def test_chain_letters_are_validated() -> None:
    with pytest.raises(RequestError):
        _auth(level=2, chain=[{"grantor": "Owner"}])  # no grantee
    with pytest.raises(RequestError):
        _auth(document_type="receipt")


@pytest.mark.parametrize(
    ("dates", "days", "groups"),
    [
        (["2017-01-10", "2017-01-12", "2017-02-09"], 3, 2),
        (["2017-01-10", "2017-01-13"], 3, 2),
        (["2017-01-13", "2017-01-12", "2017-01-10"], 3, 2),
        (["2017-01-10", "2017-01-10"], 1, 1),
        (["2017-01-10", "2017-01-11"], 1, 2),
        ([], 3, 0),
        ([None, "2017-01-10", None], 3, 3),
    ],
)
def test_merged_count(dates: list[Any], days: int, groups: int) -> None:
    assert merged_count(dates, days) == groups
    elements = [{} if d is None else {"occurred_on": d} for d in dates]
    assert _merged(elements, "item.occurred_on", days) == groups


_days = st.integers(0, 40).map(lambda n: (dt.date(2017, 1, 1) + dt.timedelta(days=n)).isoformat())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), _days), max_size=8), st.integers(1, 10))
def test_merged_count_agrees_with_the_reference(dates: list[str | None], days: int) -> None:
    elements = [{} if d is None else {"occurred_on": d} for d in dates]
    assert merged_count(dates, days) == _merged(elements, "item.occurred_on", days)


def test_the_request_digest_leaves_out_derived_fields() -> None:
    from policy_engine import Engine
    from policy_engine.decision import request_digest

    raw = {
        "platform": "wish",
        "as_of": "2024-05-15",
        "seller": {
            "trademarks": [{"mark": "Aurora", "status": "registered"}],
            "authorizations": [{"brand": "Aurora", "level": 1}],
        },
        "product": {"category": "shoes/running", "brand": "Aurora"},
    }
    normalized = normalize_request(raw).body
    assert normalized["seller"]["trademarks"][0]["owned_by_seller"] is True
    given = {**raw, "seller": {**raw["seller"], "account_status": "active"}}
    assert request_digest(normalized) == request_digest(given)
    decision = Engine.default().decide(raw)
    assert decision.to_dict()["receipt"]["request_digest"] == request_digest(given)


def test_proofs_mark_the_values_the_request_did_not_carry(tmp_path: Any) -> None:
    """Evidence of a value normalization filled in (no `as_of`: today; no `account_status`: active) or derived
    (a trademark's `owned_by_seller`) is `defaulted`: an auditor reading the proof against the request as
    sent knows why it is not there. Values the request gave are not marked."""
    import json

    from policy_engine import Engine

    doc = {
        "id": "zz.marks",
        "version": "1.0.0",
        "platform": "zz",
        "effective_from": "2000-01-01",
        "title": "t",
        "sources": [{"document": "t", "provenance": "illustrative"}],
        "rules": [
            {
                "id": "own-mark-active",
                "provenance": "illustrative",
                "source_refs": [0],
                "when": [
                    {"field": "seller.account_status", "equals": "active"},
                    {"field": "request.as_of", "at_least": "2000-01-01"},
                    {
                        "some": "seller.trademarks",
                        "where": [
                            {"field": "item.mark", "equals": {"field": "product.brand"}},
                            {"field": "item.owned_by_seller", "equals": True},
                        ],
                    },
                ],
                "outcome": "review",
                "message": {"en": "review", "zh": "审核"},
                "remedies": [{"code": "wait", "en": "Wait.", "zh": "等待。"}],
            }
        ],
    }
    (tmp_path / "p.json").write_text(json.dumps(doc))
    engine = Engine.from_directory(tmp_path, cache=False)
    try:
        bare = {
            "platform": "zz",
            "seller": {"trademarks": [{"mark": "B", "status": "registered"}]},
            "product": {"category": "x", "brand": "B"},
        }
        given = {**bare, "as_of": "2024-01-01", "seller": {**bare["seller"], "account_status": "active"}}
        cases = [(bare, None, {"/as_of", "/seller/account_status"}), (given, None, set())]
        cases += [
            (given, "2024-01-01", set()),
            (given, "2024-02-01", {"/as_of"}),
            (bare, "2024-01-01", {"/as_of", "/seller/account_status"}),
        ]
        for req, as_of, filled in cases:
            decision = engine.decide(req, as_of=as_of)
            assert decision.outcome == "review"
            marks = {
                e.pointer: e.defaulted
                for p in decision.reasons[0].proof.walk()  # type: ignore[union-attr]
                for s in p.steps
                for e in s.evidence
            }
            assert {k for k, v in marks.items() if v} == filled | {"/seller/trademarks/0/owned_by_seller"}, marks
            assert {"/seller/account_status", "/as_of", "/seller/trademarks/0/mark"} <= set(marks)
            assert '"defaulted": true' in json.dumps(decision.to_dict())
    finally:
        engine.close()
