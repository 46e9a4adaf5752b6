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


def test_chain_unknown_without_level_or_chain_and_given_values_replaced() -> None:
    auth = _auth(grantor="B", chain_complete=True, chain_sublicensed=True)
    assert "chain_complete" not in auth and "chain_sublicensed" not in auth
    assert _auth(level=2, grantor="B", chain_complete=True)["chain_complete"] is False


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
